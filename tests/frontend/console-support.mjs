// Support for tests/frontend/console.test.mjs: the browser, signed-in pages
// that record console errors, layout checks and screenshots at 360 and
// 1440 px, and a loopback receiver for outbound callbacks.
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { readFileSync, mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

export const CONSOLE_URL = process.env.CONSOLE_URL;
export const DEMO_DIR = process.env.DEMO_DIR;
if (!CONSOLE_URL || !DEMO_DIR) {
  throw new Error("CONSOLE_URL (make dev's console URL) and DEMO_DIR (its demo folder) are required");
}
assert.equal(new URL(CONSOLE_URL).hostname, "127.0.0.1", `only loopback: ${CONSOLE_URL}`);
export const ORIGIN = new URL(CONSOLE_URL).origin;
export const SHOTS = process.env.CONSOLE_SHOTS || "docs/console";
mkdirSync(SHOTS, { recursive: true });

/** The demo's settings (dotenv lines), read from its folder. */
const vars = Object.fromEntries(
  readFileSync(`${DEMO_DIR}/dev.vars`, "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).replace(/^'(.*)'$/, "$1")]),
);
export const ADMIN_TOKEN = vars.ADMIN_TOKEN;
export const API_SECRET = JSON.parse(vars.API_KEYS).demo;

let browser;
export async function launch() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 30_000,
  });
}
export const close = () => browser?.close();

/**
 * A fresh page (its own context: its own sessionStorage) on the console,
 * signed in unless `signIn` is false. `page.problems` collects console
 * errors and uncaught exceptions, but for those `allow` (a RegExp) expects.
 */
export async function open(hash = "", { signIn = true, width = 1440, allow = null } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ORIGIN });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.problems = [];
  page.allowProblem = (text) => Boolean(allow && allow.test(text));
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !page.allowProblem(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  const started = Date.now();
  await page.goto(`${CONSOLE_URL}${hash}`);
  page.loadMs = Date.now() - started;
  if (signIn) {
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("h1", { hasNotText: "Sign in" }).waitFor();
  }
  page.done = async () => {
    assert.deepEqual(page.problems, [], "no console errors");
    await context.close();
  };
  return page;
}

/** No horizontal scroll at the current width. */
export async function assertNoHorizontalScroll(page) {
  const { sw, cw } = await page.evaluate(() => ({
    sw: document.documentElement.scrollWidth,
    cw: document.documentElement.clientWidth,
  }));
  assert.ok(sw <= cw, `horizontal scroll: content ${sw} px in ${cw} px`);
}

/** Screenshots of the screen at 1440 and 360 px (docs/console/NAME-W.png), each without horizontal scroll. */
export async function shoot(page, name) {
  for (const width of [1440, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
    await page.waitForTimeout(50);
    await assertNoHorizontalScroll(page);
    await page.screenshot({ path: `${SHOTS}/${name}-${width}.png` });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

/**
 * An HTTP request to the gateway on a connection of its own (no keep-alive:
 * a pooled connection the runtime has just closed would fail the call).
 * Answers {status, text, json()}.
 */
export function call(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, text, json: () => (text ? JSON.parse(text) : null) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The API, straight (for setting up and checking what the UI did). */
export async function adminApi(method, path, body) {
  const res = await call(`${ORIGIN}/rest/v1/service/integration_points${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.json() };
}

/**
 * A receiver on 127.0.0.1: each path answers the statuses queued for it
 * (`plan(path, [500, 200])`: 500 first, then 200, the last one repeated),
 * 200 when nothing is queued. `received` keeps every request.
 */
export async function receiver() {
  const plans = new Map();
  const received = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const path = req.url.split("?")[0];
      received.push({ method: req.method, url: req.url, path, headers: req.headers, body });
      const plan = plans.get(path) || [200];
      const status = plan.length > 1 ? plan.shift() : plan[0];
      // Connection: close: the runtime's pool would otherwise reuse a connection
      // this server closes when idle (5 s), and an attempt would fail unsent.
      res.writeHead(status, { "content-type": "application/json", "x-receiver": "console-test", connection: "close" });
      res.end(JSON.stringify({ received: true, status }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    plan: (path, statuses) => plans.set(path, [...statuses]),
    received,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Waits until `fn` returns something truthy (polling), or fails after `ms`. */
export async function until(fn, ms = 15_000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
