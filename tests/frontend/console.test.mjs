// End-to-end tests of the operator console (console/, served by the worker
// under /console/) in headless Chromium (Debian's, driven by
// playwright-core) against `make dev` in demo mode: one test per screen doing
// its task through the UI, plus the wrong-token, validation-error and
// network-failure paths. Each screen is shot at 1440 and 360 px into
// docs/console/ (CONSOLE_SHOTS), and none may scroll sideways.
//
// Run by scripts/test-frontend.sh, which starts the demo and passes:
//   CONSOLE_URL (http://127.0.0.1:PORT/console/), DEMO_DIR (its settings),
//   ENGINE_PORT (the demo engine), CHROMIUM, CONSOLE_SHOTS.
// The tests run in order and build on each other (the channel made by the
// form is the one whose traffic the later screens show).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  ORIGIN, ADMIN_TOKEN, API_SECRET, launch, close, open, shoot, adminApi, call, receiver, until,
} from "./console-support.mjs";

const ENGINE_PORT = process.env.ENGINE_PORT;
assert.ok(ENGINE_PORT, "ENGINE_PORT (the demo engine's) is required");
const CODE = `console-${Date.now().toString(36)}`;
const EVENTS_CODE = `${CODE}-events`;
let channel; // the channel the form makes
let rx; // the loopback receiver of outbound callbacks

before(async () => {
  await launch();
  rx = await receiver();
});
after(async () => {
  await close();
  await rx?.close();
});

test("sign-in: a wrong token gets a clear message, the right one opens the console", async () => {
  const page = await open("#/channels", { signIn: false });
  // The refused token's 401 is expected in the browser's console.
  page.allowProblem = (text) => /401/.test(text);
  assert.ok(page.loadMs < 2000, `first load took ${page.loadMs} ms`);
  const input = page.getByLabel("Admin token");
  await input.fill("not-the-admin-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  const err = page.locator("#token-err");
  await err.waitFor();
  assert.match(await err.textContent(), /refused this token \(401\)/);
  assert.equal(await input.getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused token is not kept");
  await shoot(page, "signin");
  await input.fill(ADMIN_TOKEN);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Channels" }).waitFor();
  assert.equal(await page.evaluate(() => document.cookie), "", "no cookies");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("syncbridge.admin_token")), ADMIN_TOKEN);
  // A token that stops working (ADMIN_TOKEN rotated) brings the sign-in back, saying why.
  await page.evaluate(() => sessionStorage.setItem("syncbridge.admin_token", "rotated-away-token"));
  await page.getByRole("link", { name: "Live events" }).click();
  await page.locator("#token-err", { hasText: "refused the token (401)" }).waitFor();
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Sign in");
  await page.done();
});

test("channel form: an API validation error shows beside its field and keeps the values; then a sync channel is made", async () => {
  const page = await open("#/channels/new");
  // The refused save's 400 is expected in the browser's console.
  page.allowProblem = (text) => /status of 400/.test(text);
  await page.getByLabel("Code", { exact: true }).fill(CODE);
  await page.getByLabel("Title").fill("Console test channel");
  await page.getByLabel("Process", { exact: true }).fill("ftp://not-a-process.example");
  await page.getByLabel("Allowed origins (CORS)").fill("https://shop.example");
  await page.getByRole("button", { name: "Create channel" }).click();
  const processField = page.getByLabel("Process", { exact: true });
  await page.locator("#f-process[aria-invalid=true]").waitFor();
  const err = await page.locator("#f-process-err").textContent();
  assert.match(err, /recv_svcscriptcode/, `the API's own words: ${err}`);
  assert.equal(await processField.evaluate((el) => el === document.activeElement), true, "focus on the field");
  assert.equal(await page.getByLabel("Code", { exact: true }).inputValue(), CODE, "values kept");
  assert.equal(await page.getByLabel("Title").inputValue(), "Console test channel");
  await shoot(page, "channel-form-error");

  await processField.fill(`http://127.0.0.1:${ENGINE_PORT}/process/p2p`);
  await page.getByRole("button", { name: "Create channel" }).click();
  await page.getByRole("heading", { name: `Channel ${CODE}` }).waitFor();
  const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2]);
  channel = (await adminApi("GET", `/${id}`)).body;
  assert.equal(channel.code, CODE);
  assert.equal(channel.opts.issync, true);
  assert.deepEqual(channel.opts.cors_origins, ["https://shop.example"]);
  // The token's URLs, read-only, each with a copy button that works.
  const webhook = page.getByLabel("Webhook URL", { exact: true });
  assert.equal(await webhook.inputValue(), `${ORIGIN}/api/token/v1/${channel.token_local}`);
  assert.equal(await webhook.getAttribute("readonly"), "");
  assert.equal(await page.getByLabel("Bpium web request URL", { exact: true }).inputValue(), `${ORIGIN}/api/webrequest/${CODE}`);
  await page.getByRole("button", { name: "Copy Webhook URL" }).click();
  await page.locator("#status", { hasText: "Copied Webhook URL." }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await webhook.inputValue());
  await shoot(page, "channel-form");
  await page.done();
});

test("channels: the demo channel is there; search, filter, sort and the empty state", async () => {
  const page = await open("#/channels");
  const table = page.locator("#channels-table");
  await table.waitFor();
  // A fresh demo has two channels (the demo's and the form's), both on the first page.
  assert.ok(await table.getByRole("link", { name: "demo-p2p" }).isVisible(), "the demo channel is listed");
  await table.getByRole("link", { name: CODE, exact: true }).waitFor();
  await shoot(page, "channels");
  await page.getByLabel("Search by code or title").fill(CODE.slice(0, 12));
  await until(async () => !(await table.getByRole("link", { name: "demo-p2p" }).count()), 5000, "search");
  assert.ok(await table.getByRole("link", { name: CODE, exact: true }).isVisible());
  await page.getByLabel("Search by code or title").fill("");
  // Sorting by code, descending, with the keyboard.
  await page.getByRole("button", { name: /^Code/ }).focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.locator("th[aria-sort]").getAttribute("aria-sort"), "descending");
  const codes = await table.locator("tbody tr td:first-child").allTextContents();
  assert.deepEqual(codes, [...codes].sort().reverse());
  await page.getByLabel("Mode").selectOption("async");
  await page.locator("p.empty, #channels-table").first().waitFor();
  await until(async () => !(await page.getByRole("link", { name: "demo-p2p" }).count()), 5000, "the sync filter");
  await page.getByLabel("Mode").selectOption("");
  // Pages of 20: 21 channels of one prefix make two.
  const prefix = `${CODE}-page-`;
  const made = [];
  for (let i = 0; i < 21; i++) {
    const r = await adminApi("POST", "", { code: `${prefix}${String(i).padStart(2, "0")}`, type: "public" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    made.push(r.body.id);
  }
  await page.reload();
  await table.waitFor();
  await page.getByLabel("Search by code or title").fill(prefix);
  await table.locator("caption", { hasText: "21 channels" }).waitFor();
  await page.getByText("Page 1 of 2").waitFor();
  assert.equal(await table.locator("tbody tr").count(), 20);
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByText("Page 2 of 2").waitFor();
  assert.equal(await table.locator("tbody tr").count(), 1);
  assert.equal(await page.getByRole("button", { name: "Next" }).isDisabled(), true);
  for (const id of made) assert.equal((await adminApi("DELETE", `/${id}`)).status, 204);
  await page.getByLabel("Search by code or title").fill("no-such-channel-anywhere");
  await page.getByText(/No channel matches the search/).waitFor();
  await page.done();

  // The empty state, as a gateway without channels shows it (its list answered empty).
  const empty = await open("#/channels", { signIn: false });
  await empty.route("**/rest/v1/service/integration_points?*", (route) => route.fulfill({ json: [] }));
  await empty.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await empty.getByRole("button", { name: "Sign in" }).click();
  await empty.getByText("No channels yet.").waitFor();
  await empty.getByRole("link", { name: "Make the first channel" }).click();
  await empty.getByRole("heading", { name: "New channel" }).waitFor();
  await empty.done();
});

test("requests: a call to the channel's webhook is listed, newest first, with its detail (secrets redacted)", async () => {
  assert.ok(channel, "made by the form test");
  const res = await call(`${ORIGIN}/api/token/v1/${channel.token_local}/orders?x=1`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer caller-secret-123" },
    body: JSON.stringify({ from: "4111", to: "5500", amount: 42 }),
  });
  assert.equal(res.status, 200, res.text);
  const page = await open(`#/channels/${channel.id}/requests`);
  const table = page.locator("#requests-table");
  await table.waitFor();
  const row = table.locator("tbody tr").first();
  assert.match(await row.textContent(), /POST.*\/orders\?x=1.*200.*sync.*answered/s);
  assert.ok(!(await row.textContent()).includes(channel.token_local), "token redacted in the URL");
  await shoot(page, "requests");
  await row.getByRole("link").click();
  await page.locator("#request-summary").waitFor();
  const text = await page.locator("main").textContent();
  assert.match(text, /Method\s*POST/);
  assert.match(text, /x\s*1/, "query shown");
  assert.match(text, /amount/, "body excerpt shown");
  assert.ok(!text.includes("caller-secret-123"), "the authorization header is redacted");
  assert.ok(!text.includes(channel.token_local), "the token is redacted");
  assert.match(text, /Answer\s*Status\s*200/);
  await shoot(page, "request-detail");

  // An async run: the caller gets 200 at once; the process's result shows once it reports it.
  const asyncCall = await call(`${ORIGIN}/api/token/v1/${channel.token_local}?async=true`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from: "4111", to: "5500", amount: 7 }),
  });
  assert.equal(asyncCall.status, 200);
  await page.getByRole("link", { name: "← All requests" }).click();
  await table.waitFor();
  const first = table.locator("tbody tr").first();
  assert.match(await first.textContent(), /async/);
  await first.getByRole("link").click();
  await page.locator("#request-summary").waitFor();
  await until(async () => {
    if (await page.locator("#request-result pre").count()) return true;
    await page.reload();
    await page.locator("#request-summary").waitFor();
    return false;
  }, 15_000, "the async run's result");
  assert.match(await page.locator("#request-result").textContent(), /Reported .*\d/s);
  // Filters by mode and outcome, asked of the API.
  await page.getByRole("link", { name: "← All requests" }).click();
  await table.waitFor();
  await page.getByLabel("Mode").selectOption("sync");
  await until(async () => {
    const modes = await table.locator("tbody tr td:nth-child(5)").allTextContents();
    return modes.length > 0 && modes.every((m) => /sync/.test(m) && !/async/.test(m));
  }, 15_000, "the mode filter");
  await page.getByLabel("Outcome").selectOption("timed_out");
  await page.getByText("No request matches these filters.").waitFor();
  await page.done();
});

test("outbound callback: placeholders flagged, settings saved, a test send reaches the loopback receiver", async () => {
  const page = await open(`#/channels/${channel.id}/callback`, { allow: /status of 400/ });
  // The API's refusals, each beside its field.
  await page.getByLabel("Destination URL").fill("https://not-allowed.example/hook");
  await page.getByRole("button", { name: "Save callback settings" }).click();
  await page.locator("#cb-url-err", { hasText: "not-allowed.example" }).waitFor();
  assert.match(await page.locator("#cb-url-err").textContent(), /CALLBACK_ALLOWED_HOSTS/);
  await page.getByLabel("Destination URL").fill(rx.url("/ok"));
  await page.getByLabel("Body template", { exact: true }).fill("@undeclared");
  await page.getByRole("button", { name: "Save callback settings" }).click();
  await page.locator("#cb-body-err", { hasText: "@undeclared" }).waitFor();
  assert.equal(await page.locator("#cb-url-err").isVisible(), false, "the fixed field's error is gone");
  assert.equal(await page.getByLabel("Destination URL").inputValue(), rx.url("/ok"), "values kept");
  await page.getByLabel("Declared variables").fill("order");
  await page.getByLabel("Body template", { exact: true }).fill('{"order": "@order", "note": "@nope", "id": @CallbackId}');
  await page.locator("#cb-unknown", { hasText: "@nope" }).waitFor();
  assert.equal(await page.locator("#cb-template-view mark.unknown").count(), 1);
  await page.getByLabel("Body template", { exact: true }).fill('{"order": "@order", "id": @CallbackId}');
  assert.equal(await page.locator("#cb-template-view mark.unknown").count(), 0);
  assert.equal(await page.locator("#cb-template-view mark").count(), 2);
  await page.getByRole("button", { name: "Generate signing secret" }).click();
  const secret = await page.getByLabel("New signing secret").inputValue();
  assert.match(secret, /^whsec_/);
  await page.getByRole("button", { name: "Save callback settings" }).click();
  await page.getByText("Saved.", { exact: true }).waitFor();
  const saved = (await adminApi("GET", `/${channel.id}`)).body;
  assert.equal(saved.url, rx.url("/ok"));
  assert.deepEqual(saved.opts.callback.variables, ["order"]);
  assert.equal(saved.opts.callback.signing_secret, secret);

  await page.getByLabel("order", { exact: true }).fill("A-42");
  await page.getByRole("button", { name: "Test send" }).click();
  await page.locator("#test-status").waitFor();
  assert.match(await page.locator("#test-status").textContent(), /200 in \d+ ms/);
  const result = await page.locator("#test-result").textContent();
  assert.match(result, /POST http:\/\/127\.0\.0\.1:\d+\/ok/);
  assert.match(result, /x-receiver/);
  const got = rx.received.at(-1);
  assert.equal(JSON.parse(got.body).order, "A-42");
  assert.ok(got.headers["webhook-signature"], "signed with the generated secret");
  await page.locator("#test-h").scrollIntoViewIfNeeded();
  await page.evaluate(() => document.getElementById("test-h").scrollIntoView());
  await shoot(page, "callback");
  await page.done();
});

test("deliveries: one that fails then succeeds shows its timeline; a dead one is resent", async () => {
  rx.plan("/flaky", [500, 200]);
  const cb = (await adminApi("GET", `/${channel.id}`)).body.opts.callback;
  const policy = (n) => ({ ...cb, retry: { schedule: "interval", interval_s: 1, max_attempts: n, jitter: 0, success: "200" } });
  let r = await adminApi("PATCH", `/${channel.id}`, { url: rx.url("/flaky"), opts: { callback: policy(3) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  // Queued from the callback screen, followed on the delivery's timeline.
  let page = await open(`#/channels/${channel.id}/callback`);
  await page.getByLabel("order", { exact: true }).fill("B-1");
  await page.getByRole("button", { name: "Queue a delivery" }).click();
  await page.getByRole("link", { name: /^delivery / }).click();
  await page.locator("#delivery-state .badge[data-state=delivered]").waitFor({ timeout: 30_000 });
  const steps = await page.locator("#timeline li").allTextContents();
  assert.equal(steps.length, 2, steps.join(" | "));
  assert.match(steps[0], /#1.*500/s);
  assert.match(steps[1], /#2.*200/s);
  await shoot(page, "delivery-timeline");
  await page.done();

  // One that dies: the receiver refuses its only attempt.
  rx.plan("/down", [503, 200]);
  r = await adminApi("PATCH", `/${channel.id}`, { url: rx.url("/down"), opts: { callback: policy(1) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const sent = await adminApi("POST", `/${channel.id}/send`, { variables: { order: "C-1" } });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const did = sent.body.delivery_id;
  await until(async () => (await adminApi("GET", `/${channel.id}/deliveries/${did}`)).body.state === "dead", 30_000, "dead");
  page = await open(`#/channels/${channel.id}/deliveries`);
  await page.locator("#deliveries-table").waitFor();
  await page.getByLabel("State").selectOption("dead");
  await until(async () => (await page.locator("#deliveries-table tbody tr").count()) === 1, 5000, "state filter");
  await shoot(page, "deliveries");
  await page.locator("#deliveries-table tbody tr a").first().click();
  await page.getByRole("button", { name: "Resend" }).click();
  await page.locator("#delivery-state .badge[data-state=delivered]").waitFor({ timeout: 30_000 });
  assert.equal((await adminApi("GET", `/${channel.id}/deliveries/${did}`)).body.state, "delivered");
  await page.done();
});

test("delivery controls: the breaker disables the destination, re-enabled from the Deliveries screen; a dead delivery is recovered", async () => {
  const before = (await adminApi("GET", `/${channel.id}`)).body;
  rx.plan("/breaker", [503, 200]);
  // Configured in the callback screen: FIFO, disable after 1 failed attempt, a dictionary.
  let page = await open(`#/channels/${channel.id}/callback`, { allow: /status of 400/ });
  await page.getByLabel("Destination URL").fill(rx.url("/breaker"));
  await page.getByLabel("Interval (s)").fill("1");
  await page.getByLabel("Most attempts", { exact: true }).fill("1");
  await page.getByLabel("Ordering").selectOption("fifo");
  await page.getByLabel("Disable after failed attempts").fill("1");
  await page.getByLabel("Body template", { exact: true }).fill('{"order": "@order", "status": "@DIC:Status"}');
  await page.locator("#cb-unknown", { hasText: "@DIC:Status" }).waitFor();
  await page.getByLabel("Dictionaries (JSON)").fill('{"Status": {"1": 1}}');
  await until(async () => (await page.locator("#cb-unknown").textContent()) === "", 5000, "@DIC:Status known");
  assert.equal(await page.locator("#cb-template-view mark.unknown").count(), 0);
  await page.getByRole("button", { name: "Save callback settings" }).click();
  await page.locator("#cb-dictionaries-err", { hasText: "must be a string" }).waitFor();
  await page.getByLabel("Dictionaries (JSON)").fill('{"Status": {"1": "Reserved", "2": "Paid"}}');
  await page.getByRole("button", { name: "Save callback settings" }).click();
  await page.getByText("Saved.", { exact: true }).waitFor();
  const cb = (await adminApi("GET", `/${channel.id}`)).body.opts.callback;
  assert.equal(cb.ordering, "fifo");
  assert.equal(cb.disable_after, 1);
  assert.deepEqual(cb.dictionaries, { Status: { 1: "Reserved", 2: "Paid" } });
  await page.evaluate(() => document.getElementById("cb-ordering").closest("fieldset").scrollIntoView());
  await shoot(page, "callback-controls");
  await page.done();

  // The first attempt fails: that delivery is dead and the breaker disables the destination.
  const dead = await adminApi("POST", `/${channel.id}/send`, { variables: { order: "D-1", Status: "2" } });
  assert.equal(dead.status, 202, JSON.stringify(dead.body));
  await until(async () => (await adminApi("GET", `/${channel.id}/deliveries/${dead.body.delivery_id}`)).body.state === "dead", 30_000, "dead");
  await until(async () => (await adminApi("GET", `/${channel.id}/destination`)).body.state === "disabled", 10_000, "disabled");
  const held = await adminApi("POST", `/${channel.id}/send`, { variables: { order: "D-2", Status: "1" } });
  assert.equal(held.status, 202, JSON.stringify(held.body));

  page = await open(`#/channels/${channel.id}/deliveries`);
  await page.locator("#destination-state [data-destination=disabled]").waitFor();
  assert.match(await page.locator("#destination-state").textContent(), /after 1 consecutive failed attempt, since \d{4}-/);
  await page.locator(`#deliveries-table tr:has(a[href$="/${held.body.delivery_id}"]) .badge[data-state=pending]`).waitFor();
  await shoot(page, "destination-disabled");
  // The receiver succeeds now; re-enabled by keyboard, the waiting one is delivered.
  await page.getByRole("button", { name: "Re-enable" }).focus();
  await page.keyboard.press("Enter");
  await page.locator("#destination-result", { hasText: "Re-enabled" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "destination-result", "the focus is not lost");
  await page.locator("#destination-state [data-destination=enabled]").waitFor();
  const row = (did) => page.locator(`#deliveries-table tr:has(a[href$="/${did}"])`);
  await row(held.body.delivery_id).locator(".badge[data-state=delivered]").waitFor({ timeout: 30_000 });
  assert.equal((await adminApi("GET", `/${channel.id}/deliveries/${held.body.delivery_id}`)).body.state, "delivered");
  assert.equal(JSON.parse(rx.received.at(-1).body).status, "Reserved", "@DIC:Status rendered");

  // Recovered through the form: the dead one is resent and delivered.
  assert.ok(await page.getByLabel("dead", { exact: true }).isChecked());
  await page.getByRole("button", { name: "Recover" }).click();
  await page.locator("#recover-count", { hasText: "Recovered 1 delivery." }).waitFor();
  await until(async () => (await adminApi("GET", `/${channel.id}/deliveries/${dead.body.delivery_id}`)).body.state === "delivered", 30_000, "recovered");
  await row(dead.body.delivery_id).locator(".badge[data-state=delivered]").waitFor({ timeout: 10_000 });
  await page.locator("#recover-h").scrollIntoViewIfNeeded();
  await shoot(page, "deliveries-recover");
  await page.done();

  // Back to the plain path for the tests after this one.
  const r = await adminApi("PATCH", `/${channel.id}`, { url: before.url, opts: { callback: before.opts.callback } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test("overview: the channel's last hour by outcome, its deliveries by state and a chart per minute", async () => {
  const hook = await call(`${ORIGIN}/api/token/v1/${channel.token_local}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from: "1", to: "2", amount: 3 }),
  });
  assert.equal(hook.status, 200, hook.text);
  const page = await open(`#/overview/${channel.id}`);
  await page.locator("#requests-chart").waitFor();
  const answered = Number(await page.locator('#ov-outcomes li[data-key=answered] strong').textContent());
  assert.ok(answered >= 1, `answered: ${answered}`);
  const delivered = Number(await page.locator('#ov-states li[data-key=delivered] strong').textContent());
  assert.ok(delivered >= 2, `delivered: ${delivered}`);
  assert.match(await page.locator("#requests-chart").getAttribute("aria-label"), /Requests per minute over the last hour: [1-9]/);
  assert.ok((await page.locator("#requests-chart rect.bar").count()) >= 1, "a bar for this minute");
  await page.getByText("The gateway's settings").click();
  assert.match(await page.locator("#ov-gateway").textContent(), /WEBHOOK_MAX_WAIT_S\s*5/);
  assert.ok(page.loadMs < 2000, `first load took ${page.loadMs} ms`);
  await shoot(page, "overview");
  // Another channel, picked from the list.
  await page.getByLabel("Channel", { exact: true }).selectOption({ label: "demo-p2p" });
  await page.getByRole("heading", { name: "Overview · demo-p2p" }).waitFor();
  await page.done();
});

test("live events: events arrive over the WebSocket, pause holds them, reconnect resumes after the last id", async () => {
  // An eventing channel, made with the form.
  let page = await open("#/channels/new");
  await page.getByLabel("Code", { exact: true }).fill(EVENTS_CODE);
  await page.getByLabel("Type").selectOption("eventing");
  await page.getByRole("button", { name: "Create channel" }).click();
  await page.getByRole("heading", { name: `Channel ${EVENTS_CODE}` }).waitFor();
  const evId = decodeURIComponent(new URL(page.url()).hash.split("/")[2]);
  await page.done();

  page = await open(`#/live/${evId}`);
  assert.equal(await page.getByLabel("Eventing channel").inputValue(), evId);
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.locator("#ev-state", { hasText: "Connected" }).waitFor();
  await page.getByLabel("Event type").fill("order.paid");
  await page.getByLabel("Data (JSON object)").fill('{"order": 7}');
  await page.getByRole("button", { name: "Publish" }).click();
  await page.locator("#events li", { hasText: "order.paid" }).waitFor();
  // Paused: events are held, then shown on resume.
  await page.getByRole("button", { name: "Pause" }).click();
  const p2 = await adminApi("POST", `/${evId}/events`, { type: "order.shipped", data: { order: 7 } });
  assert.equal(p2.status, 202);
  await page.locator("#ev-count", { hasText: "1 held" }).waitFor();
  assert.equal(await page.locator("#events li", { hasText: "order.shipped" }).count(), 0);
  await page.getByRole("button", { name: "Resume" }).click();
  await page.locator("#events li", { hasText: "order.shipped" }).waitFor();
  // Reconnect from the last id: nothing is shown twice.
  await page.getByRole("button", { name: "Reconnect from last event" }).click();
  await page.locator("#ev-state", { hasText: `replaying after #${p2.body.id}` }).waitFor();
  await adminApi("POST", `/${evId}/events`, { type: "order.closed", data: {} });
  await page.locator("#events li", { hasText: "order.closed" }).waitFor();
  assert.equal(await page.locator("#events li", { hasText: "order.shipped" }).count(), 1, "no replay of what was seen");
  await shoot(page, "live-events");
  // Missed while disconnected, and more than the hub keeps (EVENT_BUFFER_BYTES,
  // 4 MiB, of events near EVENT_MAX_BYTES): a reconnect shows the gap as such.
  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.locator("#ev-state", { hasText: "Disconnected." }).waitFor();
  const big = "x".repeat(240_000);
  for (let i = 0; i < 20; i++) {
    const r = await adminApi("POST", `/${evId}/events`, { type: "bulk.item", data: { i, big } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
  await page.getByRole("button", { name: "Reconnect from last event" }).click();
  await page.locator("#events li.gap").waitFor();
  assert.match(await page.locator("#events li.gap").textContent(), /^Gap: events after \d+ are no longer buffered/);
  await page.locator("#events li", { hasText: '"i":19' }).waitFor();
  await page.done();
});

test("playground: a Sync API call signed in the browser runs against the demo engine; show fetches by id", async () => {
  const page = await open("#/playground");
  // The logins come from the gateway (…/service/info), never their keys.
  assert.equal(await page.getByLabel("Login").inputValue(), "demo");
  assert.match(await page.locator("#pg-login-hint").textContent(), /demo/);
  await page.getByLabel("Secret").fill(API_SECRET);
  await page.getByRole("button", { name: "Sign and send" }).click();
  await page.locator("#pg-status").waitFor({ timeout: 20_000 });
  assert.match(await page.locator("#pg-status").textContent(), /HTTP 200 in \d+ ms · request_proc ok/);
  const result = await page.locator("#pg-result").textContent();
  assert.match(result, /"proc": "ok"/);
  assert.match(result, /curl -s -X POST 'http:\/\/127\.0\.0\.1:\d+\/api\/1\/json\/demo\/\d+\/[0-9a-f]{40}'/);
  assert.ok(!result.includes(API_SECRET), "the secret is not in the curl");
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
  assert.ok(!stored.includes(API_SECRET), "the secret is never stored");
  await shoot(page, "playground");
  await page.getByLabel("Request id").fill("0".repeat(88));
  await page.getByRole("button", { name: "Fetch the result (show)" }).click();
  await page.locator("#pg-result", { hasText: "Result not found" }).waitFor({ timeout: 20_000 });

  // A result later than the caller's timeout: the answer's request id fills the
  // show form, and show fetches the result once the engine has sent it.
  const late = { timeout: 1, ops: [{ type: "create", obj: "task", conv_id: 1, data: { n: 5, sim: { mode: "late", delay_ms: 2500 } } }] };
  await page.getByLabel("Request body (JSON)").fill(JSON.stringify(late));
  await page.getByRole("button", { name: "Sign and send" }).click();
  await page.locator("#pg-result", { hasText: "Timeout for create task" }).waitFor({ timeout: 20_000 });
  assert.match(await page.getByLabel("Request id").inputValue(), /^[0-9a-f]{88}$/);
  await page.waitForTimeout(2500);
  await until(async () => {
    await page.getByRole("button", { name: "Fetch the result (show)" }).click();
    await page.locator("#pg-status").waitFor();
    const t = await page.locator("#pg-result").textContent();
    return /"proc": "ok"/.test(t) && /"n": 5/.test(t);
  }, 15_000, "the late result");
  await page.done();
});

test("network failure: the screen says so and offers a retry that works", async () => {
  const page = await open("#/channels");
  await page.locator("#channels-table").waitFor();
  await page.getByLabel("Search by code or title").fill(CODE);
  await until(async () => !(await page.getByRole("link", { name: "demo-p2p" }).count()), 5000, "the search");
  await page.route("**/rest/v1/**", (route) => route.abort("internetdisconnected"));
  page.allowProblem = (text) => /ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(text);
  await page.getByLabel("Type").selectOption("public");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /Network failure/);
  await shoot(page, "network-failure");
  await page.unroute("**/rest/v1/**");
  await alert.getByRole("button", { name: "Retry" }).click();
  await page.locator("#channels-table").getByRole("link", { name: CODE, exact: true }).waitFor();

  // A save that cannot reach the gateway keeps the form's values; its retry saves.
  await page.evaluate((id) => (location.hash = `#/channels/${id}`), channel.id);
  await page.getByRole("heading", { name: `Channel ${CODE}` }).waitFor();
  await page.getByLabel("Title").fill("Renamed while offline");
  await page.route("**/rest/v1/**", (route) => route.abort("internetdisconnected"));
  await page.getByRole("button", { name: "Save changes" }).click();
  const saveAlert = page.getByRole("alert");
  await saveAlert.waitFor();
  assert.match(await saveAlert.textContent(), /Network failure/);
  assert.equal(await page.getByLabel("Title").inputValue(), "Renamed while offline");
  await page.unroute("**/rest/v1/**");
  await saveAlert.getByRole("button", { name: "Retry" }).click();
  await until(async () => (await adminApi("GET", `/${channel.id}`)).body.opts.title === "Renamed while offline", 10_000, "the retried save");
  await page.done();
});

// On a shared, loaded machine the median swings with other work; the best of
// five is what a screen costs, so that is what is held to 200 ms.
test("speed: each screen opens within 200 ms (best of 5; medians printed), the page loads within 2 s", async (t) => {
  const page = await open("#/playground");
  const nav = await page.evaluate(() => Math.round(performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd));
  t.diagnostic(`page: DOMContentLoaded after ${nav} ms`);
  assert.ok(nav < 2000, `the page took ${nav} ms`);
  const screens = ["#/overview", "#/channels", `#/channels/${channel.id}`, `#/channels/${channel.id}/requests`,
    `#/channels/${channel.id}/callback`, `#/channels/${channel.id}/deliveries`, "#/live", "#/playground"];
  const slow = [];
  for (const hash of screens) {
    const times = [];
    for (let i = 0; i < 5; i++) {
      await page.evaluate(() => (location.hash = "#/nowhere"));
      await page.getByRole("heading", { name: "Not found" }).waitFor();
      // From the hash change to the screen drawn with its data (nothing busy or loading).
      times.push(await page.evaluate((h) => new Promise((resolve) => {
        const t0 = performance.now();
        setTimeout(() => resolve(10_000), 10_000); // never drawn: counted as 10 s
        location.hash = h;
        const check = () => {
          const m = document.getElementById("main");
          const h1 = m.querySelector("h1");
          if (h1 && h1.textContent !== "Not found" && !m.querySelector("[aria-busy=true]") && !m.textContent.includes("Loading…")) {
            resolve(Math.round(performance.now() - t0));
          } else requestAnimationFrame(check);
        };
        check();
      }), hash));
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`${hash.replace(channel.id, "{id}")}: best ${times[0]} ms, median ${times[2]} ms (${times.join(", ")})`);
    if (times[0] >= 200) slow.push(`${hash}: ${times[0]} ms at best`);
  }
  assert.deepEqual(slow, [], "screens slower than 200 ms");
  await page.done();
});

test("channel form: delete asks with the code named, then removes the channel", async () => {
  const page = await open(`#/channels/${channel.id}`);
  await page.getByRole("button", { name: "Delete channel…" }).click();
  const dialog = page.getByRole("dialog", { name: `Delete channel ${CODE}?` });
  await dialog.waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await adminApi("GET", `/${channel.id}`)).status, 200, "cancel keeps it");
  await page.getByRole("button", { name: "Delete channel…" }).click();
  await dialog.getByRole("button", { name: `Delete ${CODE}` }).click();
  await page.getByRole("heading", { name: "Channels" }).waitFor();
  assert.equal((await adminApi("GET", `/${channel.id}`)).status, 404);
  await page.done();
});
