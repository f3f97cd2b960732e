// Serves bench/bare/index.js in workerd through the Miniflare API, the way
// scripts/serve.mjs serves the gateway (same Miniflare, same workerd, the
// Durable Object class SQLite-backed as the gateway's are, storage in memory
// under $TMPDIR).
//
//   node bench/bare/serve.mjs --port P --engine-url URL --login L --secret S
//
// Prints "ready on http://127.0.0.1:P"; stops on SIGINT/SIGTERM or when its
// standard input closes.
import { Miniflare, Log, LogLevel } from "miniflare";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8788" },
    "engine-url": { type: "string", default: "http://127.0.0.1:9" },
    login: { type: "string", default: "bench" },
    secret: { type: "string", default: "" },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const mf = new Miniflare({
  name: "bare",
  modules: true,
  scriptPath: join(here, "index.js"),
  compatibilityDate: "2026-04-20",
  durableObjects: {
    PAIR: { className: "Pair", useSQLite: true },
    HUB: { className: "Hub", useSQLite: true },
  },
  bindings: { ENGINE_URL: args["engine-url"], ENGINE_LOGIN: args.login, ENGINE_SECRET: args.secret },
  host: "127.0.0.1",
  port: Number(args.port),
  durableObjectsPersist: false,
  cf: false,
  log: new Log(LogLevel.WARN),
});
const url = await mf.ready;
console.log(`ready on ${url.origin}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.removeAllListeners(signal);
  process.on(signal, stop);
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
