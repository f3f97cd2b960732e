// Screen 7: the Sync API playground. Compose ops, sign them here with
// WebCrypto (hex(sha1(unixtime + secret + body + secret))) from a login and
// secret typed by the operator, which are never stored and never sent;
// send; see the answer, the timing and the equivalent curl. `show` fetches
// a late result by its request id.
import { h, fill, field, pre, copyButton } from "../dom.js";
import { NetworkError, serviceInfo } from "../api.js";
import { screen, errorBox } from "../ui.js";

const EXAMPLE = { timeout: 10, ops: [{ type: "create", obj: "task", conv_id: 1, data: { amount: 100, to: "client-B" } }] };

/** hex(sha1(unixtime + secret + body + secret)), as the gateway checks it. */
export async function sign(unixtime, secret, body) {
  const bytes = new TextEncoder().encode(`${unixtime}${secret}${body}${secret}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function render(_params, ctx) {
  const info = await serviceInfo();
  if (!ctx.alive()) return;
  const logins = info?.logins || [];
  const login = field("Login", h("input", { id: "pg-login", autocomplete: "off", value: logins[0] || "", list: "pg-logins" }),
    logins.length ? `A login of API_KEYS: ${logins.join(", ")}.` : "A login of API_KEYS.");
  const secret = field("Secret", h("input", { id: "pg-secret", type: "password", autocomplete: "off" }),
    "Its key. Used here to sign, never stored and never sent.");
  const body = field("Request body (JSON)", h("textarea", { id: "pg-body", rows: 8 }));
  body.input.value = JSON.stringify(EXAMPLE, null, 2);
  const rid = field("Request id", h("input", { id: "pg-rid", autocomplete: "off" }), "From a timeout's answer: fetch its late result.");
  const out = h("div", { id: "pg-result", "aria-live": "polite" });

  const send = async (text) => {
    if (!login.input.value.trim() || !secret.input.value) {
      fill(out, h("p.field-error", { role: "alert" }, "Type the login and its secret first."));
      (login.input.value.trim() ? secret : login).input.focus();
      return;
    }
    let compact;
    try {
      compact = JSON.stringify(JSON.parse(text));
    } catch (e) {
      fill(out, h("p.field-error", { role: "alert" }, `The body is not JSON: ${e.message}`));
      return;
    }
    const unixtime = String(Math.floor(Date.now() / 1000));
    const sig = await sign(unixtime, secret.input.value, compact);
    const path = `/api/1/json/${encodeURIComponent(login.input.value.trim())}/${unixtime}/${sig}`;
    const curl = `curl -s -X POST ${shellQuote(location.origin + path)} -H 'content-type: application/json' -d ${shellQuote(compact)}`;
    fill(out, h("p.muted", "Waiting for the answer…"));
    const t0 = performance.now();
    let res, answer;
    try {
      res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: compact, credentials: "omit" });
      answer = await res.text();
    } catch (e) {
      fill(out, errorBox(new NetworkError(`Could not reach the gateway (${e.message}).`), () => send(text)));
      return;
    }
    const ms = Math.round(performance.now() - t0);
    let parsed = answer;
    try {
      parsed = JSON.parse(answer);
    } catch {
      /* shown as text */
    }
    const ids = JSON.stringify(parsed).match(/"request_id":"([0-9a-f]+)"/);
    if (ids) rid.input.value = ids[1];
    fill(out,
      h("p", { id: "pg-status" }, h("strong", `HTTP ${res.status}`), ` in ${ms} ms`,
        parsed && parsed.request_proc ? ` · request_proc ${parsed.request_proc}` : ""),
      h("h3", "Answer"), pre(parsed),
      h("h3", "The same with curl"), h("div.actions", copyButton(curl, "curl command")), pre(curl));
  };
  const sendBtn = h("button.primary", { type: "submit" }, "Sign and send");
  const form = h("form", { id: "pg-form", onsubmit: async (e) => {
    e.preventDefault();
    sendBtn.disabled = true;
    try {
      await send(body.input.value);
    } finally {
      sendBtn.disabled = false;
    }
  } }, h("div.grid2", login.wrap, secret.wrap), body.wrap, h("div.actions", sendBtn,
    h("button", { type: "button", onclick: () => { body.input.value = JSON.stringify(EXAMPLE, null, 2); } }, "Example: create a task")));
  const showForm = h("form", { id: "pg-show", onsubmit: (e) => {
    e.preventDefault();
    send(JSON.stringify({ ops: [{ type: "show", obj: "result", request_id: rid.input.value.trim() }] }));
  } }, rid.wrap, h("div.actions", h("button", { type: "submit" }, "Fetch the result (show)")));
  screen("Sync API playground", h("datalist", { id: "pg-logins" }, logins.map((l) => h("option", { value: l }))), form, h("section", h("h2", "A late result"), showForm), out);
}
