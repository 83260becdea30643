// Local Firestore: the @firestore-emulator/server gRPC emulator (in memory), plus a tiny admin HTTP port
// (gRPC port + 1) with POST /reset to empty it between test runs and GET /healthz.
// Usage: node localstack/firestore.mjs <port>
import http from "node:http";
import { FirestoreServer } from "@firestore-emulator/server";

const port = Number(process.argv[2] || 8810);
const server = new FirestoreServer();
await server.start(port);

http
  .createServer((req, res) => {
    if (req.method === "POST" && req.url === "/reset") {
      server.state.clear();
      res.writeHead(204).end();
    } else if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    } else {
      res.writeHead(404).end();
    }
  })
  .listen(port + 1, "127.0.0.1");

console.log(JSON.stringify({ severity: "INFO", message: `firestore emulator on 127.0.0.1:${port} (admin :${port + 1})` }));
const stop = () => { server.stop(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
