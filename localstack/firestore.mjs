// Local Firestore: the @firestore-emulator/server gRPC emulator (in memory), plus a tiny admin HTTP port
// (gRPC port + 1) with POST /reset to empty it between test runs and GET /healthz.
// Usage: node localstack/firestore.mjs <port>
import http from "node:http";
import { FirestoreServer } from "@firestore-emulator/server";
import { BatchGetDocumentsResponse } from "@firestore-emulator/proto/dist/google/firestore/v1/firestore.js";

const port = Number(process.argv[2] || 8810);
const server = new FirestoreServer();
maskBatchGet(server);
await server.start(port);

// Firestore answers BatchGetDocuments with only the fields of the request's mask; the package returns every field,
// converting each one twice after four immer look-ups per document. The status poll of every library page asks
// for five fields of many documents, so this handler honours the mask, as Firestore does, and builds only those.
function maskBatchGet(emulator) {
  const handler = emulator.server.handlers.get("/google.firestore.v1.Firestore/BatchGetDocuments");
  const original = handler.func;
  const stamp = (date) => ({ seconds: Math.floor(date.getTime() / 1000), nanos: date.getMilliseconds() * 1e6 });
  handler.func = (call) => {
    const req = call.request;
    if (!req.has_mask || req.has_new_transaction || req.has_transaction || req.has_read_time) return original(call);
    const wanted = new Set(req.mask.field_paths.map((p) => p.split(".")[0]));
    const readTime = stamp(new Date());
    const collections = new Map(); // each state lookup copies-on-write through immer: once per collection only
    for (const path of req.documents) {
      const cut = path.lastIndexOf("/");
      const parent = path.slice(0, cut);
      if (!collections.has(parent)) collections.set(parent, emulator.state.getCollection(parent));
      const doc = collections.get(parent).documents[path.slice(cut + 1)];
      const found = doc?.metadata.hasExist
        ? {
            name: path,
            create_time: stamp(doc.metadata.createdAt),
            update_time: stamp(doc.metadata.updatedAt),
            fields: Object.fromEntries(
              Object.entries(doc.fields).filter(([k]) => wanted.has(k)).map(([k, f]) => [k, f.toV1ValueObject()]),
            ),
          }
        : undefined;
      call.write(BatchGetDocumentsResponse.fromObject({ found, missing: found ? undefined : path, read_time: readTime }));
    }
    call.end();
  };
}

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
