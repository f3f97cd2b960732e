// A tiny static file server for the example page of `make dev`
// (examples/frontend/), on loopback only, with no dependencies. For local
// demos and tests, never for production.
//
//   node scripts/static.mjs [--port 8791] [--root examples/frontend]
//
// Prints "static on http://127.0.0.1:PORT" once it listens; stops on
// SIGINT/SIGTERM.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8791" },
    host: { type: "string", default: "127.0.0.1" },
    root: { type: "string", default: "examples/frontend" },
  },
});

const root = resolve(args.root);
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

function send(res, status, body, type = "text/plain; charset=utf-8") {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

const server = createServer(async (req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "method not allowed\n");
  }
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  } catch {
    return send(res, 400, "bad path\n");
  }
  if (path.endsWith("/")) path += "index.html";
  const file = resolve(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) return send(res, 404, "not found\n");
  try {
    if (!(await stat(file)).isFile()) return send(res, 404, "not found\n");
    const body = await readFile(file);
    send(res, 200, req.method === "HEAD" ? undefined : body, types[extname(file)] || "application/octet-stream");
  } catch {
    send(res, 404, "not found\n");
  }
});

server.listen(Number(args.port), args.host, () => {
  console.log(`static on http://${args.host}:${server.address().port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
