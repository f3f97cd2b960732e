// A CPU profile of the gateway's isolate in workerd, by route class: where
// a request's time goes, function by function (bench/RESULTS.md, "Where the
// time goes").
//
//   node bench/profile.mjs [--build target/prof-build] [--class healthz|round-trip|webhook|publish|fanout] [--secs 5] [--concurrency 20] [--subscribers 1000]
//
// publish: events into one eventing channel with no subscriber, --concurrency
// at a time. fanout: --subscribers WebSocket subscribers of one eventing
// channel (in this process), then one event at a time, each awaited at every
// subscriber before the next; a "request" is one event.
//
// Serves the worker of --build (a worker-build output without wasm-opt, so
// that the wasm keeps its function names) under Miniflare with workerd's
// inspector on, runs a closed loop of the class from this process (with a
// small engine of its own on loopback for round trips: it takes each task
// and calls its __callback_url back at once; for webhooks, a sync channel
// whose HTTP process calls back a 200 at once, with D1 migrated), samples the
// isolate with the
// DevTools protocol's Profiler, and prints the functions by self time, and
// the time under a few entry points. Only 127.0.0.1 is contacted.
import { Miniflare, Log, LogLevel } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: {
    build: { type: "string", default: "target/prof-build" },
    class: { type: "string", default: "healthz" },
    secs: { type: "string", default: "5" },
    concurrency: { type: "string", default: "20" },
    subscribers: { type: "string", default: "1000" },
    out: { type: "string", default: "bench/out/profile.cpuprofile" },
  },
});
const LOGIN = "prof";
const ADMIN = "profile-admin-token-0123456789";
const SECRET = "profile-sync-secret-0123456789";
const sha1 = (s) => createHash("sha1").update(s).digest("hex");

// The engine: accept, then call back at once.
const engine = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const task = JSON.parse(body).ops[0];
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ request_proc: "ok", ops: [{ id: "", proc: "ok", obj: "task", obj_id: "0".repeat(24) }] }));
    fetch(task.data.__callback_url, { method: "POST", body: JSON.stringify({ echo: { n: task.data.n } }) })
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  });
});
await new Promise((r) => engine.listen(0, "127.0.0.1", r));
const engineUrl = `http://127.0.0.1:${engine.address().port}`;

// The webhook class's process: takes each event, then calls its
// __callback_url back at once with a bare 200 answer.
const processServer = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    res.end("taken");
    fetch(JSON.parse(body).__callback_url, { method: "POST", body: JSON.stringify({ response_code: 200 }) })
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  });
});
await new Promise((r) => processServer.listen(0, "127.0.0.1", r));
const processUrl = `http://127.0.0.1:${processServer.address().port}/process`;

const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
const { assets, ...options } = workerOptions;
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const mf = new Miniflare({
  ...options,
  name: "syncbridge",
  modules: true,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  scriptPath: `${args.build}/index.js`,
  bindings: {
    API_KEYS: JSON.stringify({ [LOGIN]: SECRET }),
    CALLBACK_SECRET: "profile-callback-secret-0123456789abcdef",
    COREZOID_API_URL: engineUrl,
    PROCESS_ALLOWED_HOSTS: "http://127.0.0.1",
    ADMIN_TOKEN: ADMIN,
    WS_MAX_SUBSCRIBERS: "5000",
  },
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  // The worker's own log lines are not this script's output.
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
  durableObjectsPersist: false,
  cf: false,
  log: new Log(LogLevel.WARN),
});
// Stopped from outside (a `timeout`'s SIGTERM, ^C) or overrunning its own
// bound: workerd, Miniflare's child, is disposed of first, so no runtime is
// left behind without its parent. The bound is the run's length with room
// for the start and the subscribers' set-up.
let stopping = false;
function stop(why, code) {
  if (stopping) return;
  stopping = true;
  console.error(`profile.mjs: ${why}; stopping the runtime`);
  setTimeout(() => process.exit(code), 5000).unref();
  mf.dispose().finally(() => process.exit(code));
}
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.once(sig, () => stop(sig, 130));
setTimeout(() => stop("over its time bound", 124), (Number(args.secs) + 180) * 1000).unref();
const base = (await mf.ready).origin;

// D1's migrations, as scripts/serve.mjs applies them (the classes that use D1).
async function migrate() {
  const db = await mf.getD1Database("DB");
  for (const name of readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort()) {
    await db.batch(unstable_splitSqlQuery(readFileSync(`migrations/${name}`, "utf8")).map((sql) => db.prepare(sql)));
  }
}

// The webhook class: one sync channel.
let hookUrl;
if (args.class === "webhook") {
  await migrate();
  const r = await fetch(`${base}/rest/v1/service/integration_points`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ code: `prof-${Date.now()}`, recv_svcscriptcode: processUrl, opts: { issync: true } }),
  });
  const ch = await r.json();
  if (!ch.token_local) throw new Error(`no channel: ${JSON.stringify(ch)}`);
  hookUrl = `${base}/api/token/v1/${ch.token_local}`;
}

const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
const target = targets.find((t) => t.title?.includes("syncbridge")) ?? targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.once("open", r));
let nextId = 1;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
});
const send = (method, params = {}) =>
  new Promise((r) => {
    const id = nextId++;
    pending.set(id, r);
    ws.send(JSON.stringify({ id, method, params }));
  });

// The eventing classes' channel (in D1: its migrations first), and the
// fan-out's subscribers.
let publishUrl = "";
const subscribers = [];
if (args.class === "publish" || args.class === "fanout") {
  await migrate();
  const r = await fetch(`${base}/rest/v1/service/integration_points`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ code: `prof-${Date.now()}`, type: "eventing" }),
  });
  const ch = await r.json();
  publishUrl = `${base}/rest/v1/service/integration_points/${ch.id}/events`;
  if (args.class === "fanout") {
    const url = `${base.replace("http://", "ws://")}/ws/token/v1/${ch.token_local}/subscribe`;
    for (let i = 0; i < Number(args.subscribers); i++) {
      // No permessage-deflate, as flowbench's client: the runtime would compress per socket.
      const sub = new WebSocket(url, { perMessageDeflate: false });
      await new Promise((ok, fail) => (sub.once("open", ok), sub.once("error", fail)));
      sub.waiting = null;
      sub.on("message", (m) => {
        const w = sub.waiting;
        sub.waiting = null;
        if (w) w(JSON.parse(m).id);
      });
      subscribers.push(sub);
    }
  }
}
const publish = async (n) => {
  const r = await fetch(publishUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "prof.tick", data: { n } }),
  });
  const v = await r.json();
  return r.status === 202 ? v.id : null;
};

let seq = 0;
async function one() {
  if (args.class === "publish") return (await publish(++seq)) !== null;
  if (args.class === "fanout") {
    const got = subscribers.map((sub) => new Promise((r) => (sub.waiting = r)));
    const id = await publish(++seq);
    const ids = await Promise.all(got);
    return id !== null && ids.every((x) => x === id);
  }
  if (args.class === "healthz") {
    const r = await fetch(`${base}/healthz`);
    await r.arrayBuffer();
    return r.status === 200;
  }
  if (args.class === "webhook") {
    const r = await fetch(hookUrl, { method: "POST", body: JSON.stringify({ n: ++seq }) });
    await r.arrayBuffer();
    return r.status === 200;
  }
  const n = ++seq;
  const body = JSON.stringify({ timeout: 30, ops: [{ type: "create", obj: "task", conv_id: 1, data: { n } }] });
  const t = Math.floor(Date.now() / 1000).toString();
  const r = await fetch(`${base}/api/1/json/${LOGIN}/${t}/${sha1(t + SECRET + body + SECRET)}`, { method: "POST", body });
  const v = await r.json();
  return v.ops?.[0]?.data?.echo?.n === n;
}
async function loop(ms) {
  const end = Date.now() + ms;
  let ok = 0, bad = 0;
  // A fan-out is one event at a time.
  const callers = args.class === "fanout" ? 1 : Number(args.concurrency);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < end) (await one().catch(() => false)) ? ok++ : bad++;
    }),
  );
  return { ok, bad };
}

await loop(1000); // warm-up
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 200 });
await send("Profiler.start");
const counts = await loop(Number(args.secs) * 1000);
const { result } = await send("Profiler.stop");
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify(result.profile));

// Self time per function, and total time under each node's function.
const { nodes, samples, timeDeltas } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
const total = new Map();
let all = 0;
samples.forEach((id, i) => {
  const dt = timeDeltas[i] ?? 0;
  const name = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber})`;
  const node = byId.get(id);
  if (["(idle)", "(program)", "(garbage collector)"].includes(node.callFrame.functionName)) {
    self.set(node.callFrame.functionName, (self.get(node.callFrame.functionName) ?? 0) + dt);
    if (node.callFrame.functionName !== "(idle)") all += dt;
    return;
  }
  all += dt;
  self.set(name(node), (self.get(name(node)) ?? 0) + dt);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const nm = name(byId.get(cur));
    if (!seen.has(nm)) {
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + dt);
    }
  }
});
const reqs = counts.ok + counts.bad;
const us = (t) => (t / reqs).toFixed(1);
console.log(`# ${args.class}: ${counts.ok} ok, ${counts.bad} bad in ${args.secs} s at ${args.concurrency} callers; isolate busy ${(all / 1000).toFixed(0)} ms = ${us(all)} µs per request (excluding idle)\n`);
console.log("| function (self time) | µs per request | share |\n| --- | --- | --- |");
for (const [k, v] of [...self].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`| ${k.slice(0, 90)} | ${us(v)} | ${((100 * v) / all).toFixed(1)}% |`);
}
console.log("\n| function (total time, self + callees) | µs per request | share |\n| --- | --- | --- |");
for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`| ${k.slice(0, 90)} | ${us(v)} | ${((100 * v) / all).toFixed(1)}% |`);
}
ws.close();
for (const sub of subscribers) sub.terminate();
await mf.dispose();
engine.close();
processServer.close();
process.exit(0);
