// End-to-end test of the example page examples/frontend/ in headless
// Chromium (Debian's chromium driven by playwright-core) against `make dev`
// in demo mode. Run by scripts/test-frontend.sh, which starts the demo and
// passes the page URL it printed:
//
//   PAGE_URL='http://127.0.0.1:8879/?channel=…' node --test tests/frontend/
//
// Env: PAGE_URL (required), WAIT_S (the demo's WEBHOOK_MAX_WAIT_S, 5),
// CHROMIUM (/usr/bin/chromium), SCREENSHOT_DIR (/tmp).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const PAGE_URL = process.env.PAGE_URL;
const WAIT_S = Number(process.env.WAIT_S || 5);
const SHOTS = process.env.SCREENSHOT_DIR || "/tmp";
if (!PAGE_URL || !PAGE_URL.includes("?channel=")) {
  throw new Error("PAGE_URL must be the page URL printed by make dev (…/?channel=…)");
}
for (const u of [PAGE_URL, new URL(PAGE_URL).searchParams.get("channel")]) {
  assert.equal(new URL(u).hostname, "127.0.0.1", `only loopback: ${u}`);
}

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close();
});

/** Opens the page, fills the form and sends it; returns the page. */
async function send({ from = "4111 1111 1111 1111", to, amount }, url = PAGE_URL) {
  const page = await browser.newPage({ viewport: { width: 720, height: 760 } });
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.problems = problems;
  await page.goto(url);
  await page.getByLabel("From (card or account)").fill(from);
  await page.getByLabel("To (card or account)").fill(to);
  await page.getByLabel("Amount").fill(String(amount));
  await page.getByRole("button", { name: "Send transfer" }).click();
  return page;
}

/** Waits until the page shows an answer; returns {state, title, text, raw}. */
async function outcome(page, timeout = 10_000) {
  await page.waitForFunction(
    () => !["idle", "waiting"].includes(document.getElementById("result").dataset.state),
    null,
    { timeout },
  );
  return page.evaluate(() => ({
    state: document.getElementById("result").dataset.state,
    title: document.getElementById("result-title").textContent,
    text: document.getElementById("result-text").textContent,
    raw: document.getElementById("raw-text").textContent,
    buttonDisabled: document.getElementById("send").disabled,
  }));
}

test("a transfer within the limit shows the process's transfer id and amount", async () => {
  const page = await send({ to: "5500 0000 0000 0004", amount: 250 });
  const r = await outcome(page);
  assert.equal(r.state, "ok", JSON.stringify(r));
  assert.equal(r.title, "Transfer done");
  const id = r.text.match(/^Transfer ([0-9a-f-]{36}): 250 from 4111 1111 1111 1111 to 5500 0000 0000 0004\.$/);
  assert.ok(id, r.text);
  assert.match(r.raw, /^HTTP 200 after /);
  assert.equal(JSON.parse(r.raw.split("\n").slice(1).join("\n")).transfer_id, id[1]);
  assert.equal(r.buttonDisabled, false);
  await page.getByText("Transfer done").waitFor();
  await page.screenshot({ path: `${SHOTS}/syncbridge-p2p-ok.png`, fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("an amount over the limit shows the process's reason", async () => {
  const page = await send({ to: "5500 0000 0000 0004", amount: 20000 });
  const r = await outcome(page);
  assert.equal(r.state, "declined", JSON.stringify(r));
  assert.equal(r.title, "Transfer declined");
  assert.equal(r.text, "Amount over the 10000 limit");
  assert.match(r.raw, /^HTTP 422 after /);
  await page.screenshot({ path: `${SHOTS}/syncbridge-p2p-declined.png`, fullPage: true });
  await page.close();
});

test("a process that never answers shows a clear timeout after the gateway's wait", async () => {
  const started = Date.now();
  const page = await send({ to: "timeout", amount: 10 });
  // While it waits: the button is off and the page says so.
  await page.getByText("Waiting for the process…").waitFor();
  assert.equal(await page.getByRole("button", { name: "Send transfer" }).isDisabled(), true);
  await page.screenshot({ path: `${SHOTS}/syncbridge-p2p-waiting.png`, fullPage: true });
  const r = await outcome(page, (WAIT_S + 15) * 1000);
  const took = (Date.now() - started) / 1000;
  assert.equal(r.state, "timeout", JSON.stringify(r));
  assert.equal(r.title, "Timed out: the process did not answer in time");
  assert.match(r.text, new RegExp(`did not answer within ${WAIT_S} s`));
  assert.match(r.raw, /^HTTP 504 after /);
  assert.ok(took >= WAIT_S - 0.5, `answered after ${took} s, before the ${WAIT_S} s wait`);
  assert.equal(r.buttonDisabled, false);
  await page.screenshot({ path: `${SHOTS}/syncbridge-p2p-timeout.png`, fullPage: true });
  await page.close();
});

test("a channel that cannot be reached shows a network error", async () => {
  const url = new URL(PAGE_URL);
  url.searchParams.set("channel", "http://127.0.0.1:9/api/token/v1/" + "0".repeat(32));
  const page = await send({ to: "5500 0000 0000 0004", amount: 1 }, url.href);
  const r = await outcome(page);
  assert.equal(r.state, "error", JSON.stringify(r));
  assert.equal(r.title, "No answer could be read");
  assert.match(r.text, /could not be reached/);
  await page.close();
});
