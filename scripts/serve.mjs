// Serves the built worker (build/) in workerd through the Miniflare API, with
// the Durable Objects of wrangler.toml. Used by `make dev`, the end-to-end
// tests and the benchmarks (wrangler dev's proxy would cost a factor of three).
//
//   node scripts/serve.mjs [--port 8787] [--vars-file .dev.vars] [--persist DIR]
//
// Also fires the worker's cron trigger every SYNCBRIDGE_CRON_MS (default 60000).
//
// Settings come from --vars-file (dotenv lines, as .dev.vars) and then from
// the SYNCBRIDGE_VARS environment variable (a JSON object), which wins.
// Prints "ready on http://127.0.0.1:PORT" once it accepts requests; stops on
// SIGINT/SIGTERM or when its standard input closes (so a test that dies
// cannot leave it running).
import { Miniflare, Log, LogLevel, Response } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { readFileSync, writeFileSync, existsSync, readdirSync, statSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize, extname } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT || "8787" },
    host: { type: "string", default: "127.0.0.1" },
    "vars-file": { type: "string" },
    persist: { type: "string" },
    "watch-stdin": { type: "boolean", default: false },
  },
});

function parseDotenv(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
    }
    out[key] = value;
  }
  return out;
}

const vars = {};
if (args["vars-file"] && existsSync(args["vars-file"])) {
  Object.assign(vars, parseDotenv(readFileSync(args["vars-file"], "utf8")));
}
if (process.env.SYNCBRIDGE_VARS) Object.assign(vars, JSON.parse(process.env.SYNCBRIDGE_VARS));

const { workerOptions: tomlOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
// wrangler.toml's [assets] binds build/public as ASSETS, and the worker runs
// first on every request. Miniflare's assets router in front of the worker
// would also take the cron trigger path below, so locally ASSETS is a
// service binding that serves the same directory, and the router is left out.
const { assets, ...workerOptions } = tomlOptions;
const persist = args.persist || false;
// D1 lives in a folder even without --persist (one of this run's own,
// removed on stop), so that its migrations can be applied before the
// worker's port opens (see migrateFirst).
const ownD1 = persist ? null : mkdtempSync(join(tmpdir(), "syncbridge-d1-"));
const d1Dir = persist ? `${persist}/d1` : ownD1;
const options = {
  ...workerOptions,
  serviceBindings: {
    ...(workerOptions.serviceBindings || {}),
    ...(assets?.binding ? { [assets.binding]: (request) => serveAsset(assets.directory, request) } : {}),
  },
  name: "syncbridge",
  modules: true,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  scriptPath: "build/index.js",
  bindings: { ...(workerOptions.bindings || {}), ...vars },
  host: args.host,
  port: Number(args.port),
  durableObjectsPersist: persist ? `${persist}/do` : false,
  d1Persist: d1Dir,
  cf: false,
  // Lets the cron above reach /cdn-cgi/handler/scheduled (loopback only).
  unsafeTriggerHandlers: true,
  log: new Log(LogLevel.WARN),
};

let stopping = false;
let mf;
const started = Date.now();
await migrateFirst(d1Dir);
mf = new Miniflare(options);
const url = await mf.ready;
// Nothing left to do (migrateFirst did it); kept as a check that the worker
// sees the same database.
if (await applyMigrations(await mf.getD1Database("DB"))) {
  console.error("serve.mjs: the worker's D1 database was not the migrated one");
}
startCron();
if (process.env.SYNCBRIDGE_START_TIMING) console.log(`started in ${Date.now() - started} ms`);
console.log(`ready on ${url.origin}`);

// Applies the D1 migrations to the database in `dir` before the worker
// serves anything, so that no request ever meets a database without its
// tables (the worker's port opens at `mf.ready`, and applying them after
// that let the first requests fail): a Miniflare of its own, with only the
// D1 binding and a trivial script, on a port nobody is told of.
//
// A persisted folder remembers which migrations it has (a file beside the
// database), so a warm `make dev` starts no second runtime when there is
// nothing to apply; the worker's own check below still runs.
async function migrateFirst(dir) {
  const marker = join(dir, ".syncbridge-migrations");
  const names = readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort().join("\n");
  if (existsSync(marker) && readFileSync(marker, "utf8") === names) return;
  const m = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    d1Databases: workerOptions.d1Databases,
    d1Persist: dir,
    host: "127.0.0.1",
    port: 0,
    cf: false,
    log: new Log(LogLevel.WARN),
  });
  try {
    await m.ready;
    await applyMigrations(await m.getD1Database("DB"));
  } finally {
    await m.dispose();
  }
  writeFileSync(marker, names);
}

// Cloudflare runs the worker's cron triggers (wrangler.toml [triggers]);
// Miniflare does not, so this fires the scheduled handler every
// SYNCBRIDGE_CRON_MS (default: a minute, as the trigger "* * * * *"),
// through Miniflare's trigger endpoint with an ordinary async fetch. (Its
// getWorker() proxy is synchronous: it blocks node's event loop, node stops
// draining workerd's output, and under load workerd stalls on a full pipe.)
function startCron() {
  const every = Number(process.env.SYNCBRIDGE_CRON_MS || 60000);
  const cron = workerOptions.triggers?.crons?.[0] ?? "* * * * *";
  let running = false;
  setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const res = await mf.dispatchFetch(
        `http://localhost/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`,
      );
      await res.arrayBuffer();
    } catch (e) {
      if (!stopping) console.error(`cron: ${e}`);
    } finally {
      running = false;
    }
  }, every).unref();
}

// Applies migrations/*.sql in name order, once each, recording them in
// d1_migrations as `wrangler d1 migrations apply` does. The number applied.
async function applyMigrations(db) {
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .run();
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
  const files = readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort();
  let applied = 0;
  for (const name of files) {
    if (done.has(name)) continue;
    const statements = unstable_splitSqlQuery(readFileSync(`migrations/${name}`, "utf8"));
    await db.batch([
      ...statements.map((sql) => db.prepare(sql)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(name),
    ]);
    applied += 1;
  }
  return applied;
}

// One static file of `dir` for GET/HEAD, with its content type; else 404.
function serveAsset(dir, request) {
  const types = { ".json": "application/json", ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };
  const path = decodeURIComponent(new URL(request.url).pathname);
  const file = join(dir, normalize(path).replace(/^(\.\.(\/|$))+/, ""));
  if (!["GET", "HEAD"].includes(request.method) || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
    return new Response("Not found", { status: 404 });
  }
  const type = types[extname(file)] || "application/octet-stream";
  return new Response(request.method === "HEAD" ? null : readFileSync(file), { headers: { "content-type": type } });
}

async function stop() {
  if (stopping) return;
  stopping = true;
  await mf?.dispose().catch(() => {});
  if (ownD1) rmSync(ownD1, { recursive: true, force: true });
  process.exit(0);
}
// Miniflare's own SIGINT/SIGTERM handlers exit at once, before dispose()
// has stopped workerd, which would orphan it: this launcher owns them.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.removeAllListeners(signal);
  process.on(signal, stop);
}
// Whatever ends this process must dispose of workerd first, or workerd
// outlives it: a closed stdout (EPIPE once the reader is gone), an uncaught
// error, and, under --watch-stdin, the end of stdin or the parent's death.
process.stdout.on("error", stop);
process.stderr.on("error", stop);
process.on("uncaughtException", (e) => {
  if (!stopping) console.error(e);
  stop();
});
if (args["watch-stdin"]) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}
