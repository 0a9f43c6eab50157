/**
 * A stand-in Convex deployment for end-to-end tests: the repository's own functions on
 * convex-test's in-memory backend, answering Convex's HTTP function API on 127.0.0.1.
 *
 *   tsx server/serve.ts [--port N] [--data FILE] [--admin-key KEY]
 *
 * Prints one JSON line `{"listening": "http://127.0.0.1:PORT"}` once it accepts
 * requests (`--port 0`, the default, picks a free port). Routes:
 *   POST /api/query | /api/mutation | /api/action  — Convex's function API
 *   POST /_test/fault  {path, count, kind, message} — fail the next calls of a function
 *   GET  /_test/dump                                 — every document, as JSON
 * With `--admin-key`, function calls must carry `Authorization: Convex KEY`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Backend, type Fault } from "./backend";
import {
  decodeRequest,
  errorBody,
  refusalBody,
  successBody,
  WireError,
  type UdfKind,
} from "./wire";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    data: { type: "string" },
    "admin-key": { type: "string" },
  },
});

const functionsDir = join(dirname(dirname(fileURLToPath(import.meta.url))), "convex");
const backend = await Backend.open(functionsDir, opts.data);
const adminKey = opts["admin-key"];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const route = url.pathname.match(/^\/api\/(query|mutation|action)$/);
  if (req.method === "POST" && route !== null) {
    if (adminKey !== undefined && req.headers.authorization !== `Convex ${adminKey}`) {
      throw new WireError(401, "BadAdminKey", "The provided admin key was invalid for this instance");
    }
    const { path, args } = decodeRequest(await readBody(req));
    const outcome = await backend.call(route[1] as UdfKind, path, args);
    send(res, 200, outcome.ok ? successBody(outcome.value) : errorBody(outcome.message, outcome.data));
    return;
  }
  if (req.method === "POST" && url.pathname === "/_test/fault") {
    backend.injectFault(JSON.parse(await readBody(req)) as Fault);
    send(res, 200, "{}");
    return;
  }
  if (req.method === "GET" && url.pathname === "/_test/dump") {
    send(res, 200, JSON.stringify(await backend.dump()));
    return;
  }
  throw new WireError(404, "NotFound", `No route for ${req.method} ${url.pathname}`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    const refusal =
      error instanceof WireError ? error : new WireError(500, "InternalServerError", String(error));
    send(res, refusal.status, refusalBody(refusal));
  });
});

server.listen(Number(opts.port), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port;
  process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${port}` })}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
