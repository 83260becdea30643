// Local Firestore: the @firestore-emulator/server gRPC emulator (in memory), plus a tiny admin HTTP port
// (gRPC port + 1) with POST /reset to empty it between test runs and GET /healthz.
// Like Google's emulator, the one port speaks both gRPC and the REST API; of REST, only documents:batchGet (the
// status poll's read) is served here, everything else answers a JSON 501 that says so.
// Usage: node localdev/firestore.mjs <port>
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import { FirestoreServer } from "@firestore-emulator/server";
import { BatchGetDocumentsResponse } from "@firestore-emulator/proto/dist/google/firestore/v1/firestore.js";

// The very grpc-js instance the emulator's Server was made with (its credentials class is checked by identity).
const grpc = createRequire(import.meta.resolve("@firestore-emulator/server"))("@grpc/grpc-js");

const port = Number(process.argv[2] || 8810);
const server = new FirestoreServer();
maskBatchGet(server);
listen(port);

const stamp = (date) => ({ seconds: Math.floor(date.getTime() / 1000), nanos: date.getMilliseconds() * 1e6 });

// Firestore answers BatchGetDocuments with only the fields of the request's mask; the package returns every field,
// converting each one twice after four immer look-ups per document. The status poll of every library page asks
// for five fields of many documents, so masked reads are answered here, as Firestore does, building only those.
function lookup(emulator, paths, fieldPaths) {
  const wanted = fieldPaths ? new Set(fieldPaths.map((p) => p.split(".")[0])) : null; // null: every field
  const readTime = stamp(new Date());
  return documentsAt(emulator, paths).map(([path, doc]) => {
    const found = doc
      ? {
          name: path,
          create_time: stamp(doc.metadata.createdAt),
          update_time: stamp(doc.metadata.updatedAt),
          fields: Object.fromEntries(
            Object.entries(doc.fields).filter(([k]) => !wanted || wanted.has(k)).map(([k, f]) => [k, f.toV1ValueObject()]),
          ),
        }
      : undefined;
    return { found, missing: found ? undefined : path, read_time: readTime };
  });
}

// [path, document or undefined] for each path; each state lookup copies-on-write through immer: once per collection.
function documentsAt(emulator, paths) {
  const collections = new Map();
  return paths.map((path) => {
    const cut = path.lastIndexOf("/");
    const parent = path.slice(0, cut);
    if (!collections.has(parent)) collections.set(parent, emulator.state.getCollection(parent));
    const doc = collections.get(parent).documents[path.slice(cut + 1)];
    return [path, doc?.metadata.hasExist ? doc : undefined];
  });
}

function maskBatchGet(emulator) {
  const handler = emulator.server.handlers.get("/google.firestore.v1.Firestore/BatchGetDocuments");
  const original = handler.func;
  handler.func = (call) => {
    const req = call.request;
    if (!req.has_mask || req.has_new_transaction || req.has_transaction || req.has_read_time) return original(call);
    for (const answer of lookup(emulator, req.documents, req.mask.field_paths)) {
      call.write(BatchGetDocumentsResponse.fromObject(answer));
    }
    call.end();
  };
}

// ---- REST: proto3 JSON of the v1 API (camelCase names, int64 as strings, RFC 3339 timestamps) -----------------
const rfc3339 = ({ seconds, nanos }) =>
  new Date(Number(seconds) * 1000).toISOString().slice(0, 19) + "." + String(nanos ?? 0).padStart(9, "0") + "Z";

function restValue(v) {
  if ("string_value" in v) return { stringValue: v.string_value };
  if ("null_value" in v) return { nullValue: null };
  if ("boolean_value" in v) return { booleanValue: v.boolean_value };
  if ("integer_value" in v) return { integerValue: String(v.integer_value) };
  if ("double_value" in v) {
    const d = Number(v.double_value);
    return { doubleValue: Number.isFinite(d) ? d : String(d) }; // "NaN", "Infinity", "-Infinity"
  }
  if ("timestamp_value" in v) return { timestampValue: rfc3339(v.timestamp_value) };
  if ("bytes_value" in v) return { bytesValue: Buffer.from(v.bytes_value).toString("base64") };
  if ("reference_value" in v) return { referenceValue: v.reference_value };
  if ("geo_point_value" in v) return { geoPointValue: v.geo_point_value };
  if ("array_value" in v) return { arrayValue: { values: (v.array_value.values ?? []).map(restValue) } };
  if ("map_value" in v) return { mapValue: { fields: restFields(v.map_value.fields ?? {}) } };
  throw new Error(`unknown value ${JSON.stringify(v)}`);
}

const restFields = (fields) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, restValue(v)]));

// A document's REST JSON per field mask, kept until the document changes: every write replaces the document's
// `metadata` and `fields` objects (immer), so the pair identifies one version of it.
const restJson = new WeakMap(); // metadata -> { fields, updateTime, byMask: Map(mask -> JSON text) }

// Firestore gives every version of a document its own updateTime (update-time preconditions, and readers that
// keep what they decoded per version, rely on it). The package stamps milliseconds, so two writes in the same
// millisecond would share one: versions are told apart by a sequence number in the sub-millisecond digits.
let versions = 0;
function updateTime(metadata) {
  const { seconds, nanos } = stamp(metadata.updatedAt);
  return rfc3339({ seconds, nanos: nanos + (versions++ % 1000000) });
}

function documentJson(path, doc, fieldPaths) {
  let entry = restJson.get(doc.metadata);
  if (!entry || entry.fields !== doc.fields) {
    restJson.set(doc.metadata, (entry = { fields: doc.fields, updateTime: updateTime(doc.metadata), byMask: new Map() }));
  }
  const key = fieldPaths ? fieldPaths.join("\u0000") : "*";
  let text = entry.byMask.get(key);
  if (text === undefined) {
    const wanted = fieldPaths ? new Set(fieldPaths.map((p) => p.split(".")[0])) : null;
    const fields = Object.fromEntries(Object.entries(doc.fields).filter(([k]) => !wanted || wanted.has(k))
      .map(([k, f]) => [k, restValue(f.toV1ValueObject())]));
    text = JSON.stringify({ name: path, fields, createTime: rfc3339(stamp(doc.metadata.createdAt)),
                            updateTime: entry.updateTime });
    entry.byMask.set(key, text);
  }
  return text;
}

function restBatchGet(body) {
  const unsupported = ["transaction", "newTransaction", "readTime"].filter((k) => k in body);
  if (unsupported.length) return [501, JSON.stringify(restError(501, "UNIMPLEMENTED", `local REST batchGet: ${unsupported} unsupported`))];
  if (!Array.isArray(body.documents)) return [400, JSON.stringify(restError(400, "INVALID_ARGUMENT", "documents must be a list"))];
  const readTime = JSON.stringify(rfc3339(stamp(new Date())));
  const fieldPaths = body.mask?.fieldPaths ?? null;
  const parts = documentsAt(server, body.documents).map(([path, doc]) => doc
    ? `{"found":${documentJson(path, doc, fieldPaths)},"readTime":${readTime}}`
    : `{"missing":${JSON.stringify(path)},"readTime":${readTime}}`);
  return [200, `[${parts.join(",")}]`];
}

const restError = (code, status, message) => ({ error: { code, message, status } });

const rest = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let status, answer;
    try {
      if (req.method === "POST" && /^\/v1\/projects\/[^/]+\/databases\/[^/]+\/documents:batchGet$/.test(req.url)) {
        [status, answer] = restBatchGet(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
      } else {
        const message = `local REST serves documents:batchGet only, not ${req.method} ${req.url}`;
        [status, answer] = [501, JSON.stringify(restError(501, "UNIMPLEMENTED", message))];
      }
    } catch (err) {
      [status, answer] = [400, JSON.stringify(restError(400, "INVALID_ARGUMENT", String(err.message || err)))];
    }
    const bytes = Buffer.from(answer, "utf8"); // sized, not chunked: one body read for the client
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": bytes.length }).end(bytes);
  });
});

// One port, two protocols: a connection that opens with the HTTP/2 preface is gRPC, anything else is REST.
function listen(grpcPort) {
  const injector = server.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const front = net.createServer((socket) => {
    let head = Buffer.alloc(0);
    const sniff = (chunk) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      socket.removeListener("data", sniff);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, 4).toString("latin1") === "PRI ") {
        injector.injectConnection(socket);
      } else {
        rest.emit("connection", socket);
        socket.resume(); // the HTTP parser reads with a 'data' listener, which does not un-pause a paused socket
      }
    };
    socket.on("data", sniff);
    socket.on("error", () => socket.destroy());
  });
  front.on("error", (err) => {
    console.error(JSON.stringify({ severity: "ERROR", message: `firestore emulator cannot listen on ${grpcPort}: ${err.message}` }));
    process.exit(1);
  });
  front.listen(grpcPort, "0.0.0.0");
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
