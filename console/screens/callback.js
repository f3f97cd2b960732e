// Screen 4: outbound callback settings (Corteos's): method, header lines,
// body template with its placeholders highlighted and unknown ones flagged,
// declared variables, retry policy, signing secret and process key
// (generate, shown once, rotate), delivery controls (ordering, circuit
// breaker, throttle) and dictionaries for @DIC:Name, and a test send.
import { h, fill, field, setFieldError, copyButton, announce, pre, pairs } from "../dom.js";
import { api, ApiError } from "../api.js";
import { screen, errorBox, channelTabs, statusBadge } from "../ui.js";
import { fieldOf } from "./channel-form.js";

export const BUILT_IN = ["CallbackId", "EventType", "EventDescription"];
const NAME = /@(@)|@(!?)(?:\{(DIC:)?([A-Za-z_][A-Za-z0-9_]*)\}|(DIC:)?([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * The template split into text and placeholders: [{text} | {name, raw, dic, src}]
 * (`dic`: a `@DIC:Name` placeholder, `name` its dictionary's).
 */
export function placeholders(template) {
  const out = [];
  let last = 0;
  for (const m of template.matchAll(NAME)) {
    if (m.index > last) out.push({ text: template.slice(last, m.index) });
    if (m[1]) out.push({ text: "@" + "@" });
    else out.push({ name: m[4] || m[6], raw: m[2] === "!", dic: Boolean(m[3] || m[5]), src: m[0] });
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push({ text: template.slice(last) });
  return out;
}

const words = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
const randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The dictionaries textarea's names, or null while it is not a JSON object. */
function dictionaryNames(text) {
  if (!text.trim()) return [];
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : null;
  } catch {
    return null;
  }
}

export async function render({ id }, ctx) {
  const ch = await api("GET", encodeURIComponent(id));
  if (!ctx.alive()) return;
  const cb = ch.opts?.callback || {};
  const retry = cb.retry || { schedule: "interval", interval_s: 300, max_attempts: 10, jitter: 0, success: "200" };
  const secrets = { signing_secret: cb.signing_secret || "", process_key: cb.process_key || "" };
  const F = {
    url: field("Destination URL", h("input", { id: "cb-url", value: ch.url || "", inputmode: "url" }),
      "The channel's url; must pass CALLBACK_ALLOWED_HOSTS."),
    method: field("Method", h("select", { id: "cb-method" }, ["POST", "PUT", "PATCH", "GET"].map((m) => h("option", m)))),
    headers: field("Header lines", h("textarea", { id: "cb-headers", rows: 3 }), "Name: value, one per line."),
    body: field("Body template", h("textarea", { id: "cb-body", rows: 5 }),
      "Placeholders: @Name, @{Name}; @!Name inserts a value unescaped; @@ is a literal @. For GET it becomes the query."),
    variables: field("Declared variables", h("input", { id: "cb-variables", value: (cb.variables || []).join(", ") }),
      `Names separated by commas. Built in: ${BUILT_IN.join(", ")}.`),
    schedule: field("Retry schedule", h("select", { id: "cb-schedule" }, h("option", { value: "interval" }, "interval: every N s"),
      h("option", { value: "exponential" }, "exponential: N × 2ⁿ⁻¹ s"))),
    interval_s: field("Interval (s)", h("input", { id: "cb-interval", type: "number", min: 1, max: 43200, value: retry.interval_s })),
    max_attempts: field("Most attempts", h("input", { id: "cb-attempts", type: "number", min: 1, max: 100, value: retry.max_attempts })),
    jitter: field("Jitter (0 to 1)", h("input", { id: "cb-jitter", type: "number", min: 0, max: 1, step: 0.05, value: retry.jitter })),
    success: field("Success is", h("select", { id: "cb-success" }, h("option", { value: "200" }, "only 200"), h("option", { value: "2xx" }, "any 2xx"))),
    ordering: field("Ordering", h("select", { id: "cb-ordering" }, h("option", { value: "unordered" }, "unordered"),
      h("option", { value: "fifo" }, "FIFO: in send order, one at a time"))),
    disable_after: field("Disable after failed attempts", h("input", { id: "cb-disable-after", type: "number", min: 0, value: cb.disable_after ?? 0 }),
      "Consecutive failed attempts that disable the destination; 0: never."),
    disable_after_s: field("Disable after failing for (s)", h("input", { id: "cb-disable-after-s", type: "number", min: 0, value: cb.disable_after_s ?? 0 }),
      "Seconds of failures without a success; 0: never (Svix: 432000, 5 days)."),
    max_per_s: field("Throttle (attempts a second)", h("input", { id: "cb-max-per-s", type: "number", min: 0, value: cb.max_per_s ?? 0 }),
      "Throttle to the destination; 0: no limit."),
    dictionaries: field("Dictionaries (JSON)", h("textarea", { id: "cb-dictionaries", rows: 4, spellcheck: "false" }),
      'Name → {code → value}, e.g. {"Status": {"1": "Reserved", "2": "Paid"}}; @DIC:Status renders the value of the code sent as the variable Status.'),
  };
  F.method.input.value = cb.method || "POST";
  F.headers.input.value = cb.headers ?? "Content-Type: application/json";
  F.body.input.value = cb.body ?? "";
  F.schedule.input.value = retry.schedule;
  F.success.input.value = retry.success;
  F.ordering.input.value = cb.ordering || "unordered";
  F.dictionaries.input.value = cb.dictionaries && Object.keys(cb.dictionaries).length ? JSON.stringify(cb.dictionaries, null, 2) : "";

  // The template, highlighted, with unknown placeholders flagged.
  const view = h("pre.code.template-view", { id: "cb-template-view", "aria-label": "Template preview" });
  const unknownNote = h("p.field-error", { id: "cb-unknown", "aria-live": "polite" });
  const highlight = () => {
    const known = new Set([...words(F.variables.input.value), ...BUILT_IN]);
    const dictionaries = new Set(dictionaryNames(F.dictionaries.input.value) || []);
    const parts = [...placeholders(F.headers.input.value), { text: "\n\n" }, ...placeholders(F.body.input.value)];
    const unknown = new Set();
    fill(view, parts.map((p) => {
      if (p.text !== undefined) return p.text;
      const label = p.dic ? `DIC:${p.name}` : p.name;
      const ok = p.dic ? dictionaries.has(p.name) : known.has(p.name);
      if (!ok) unknown.add(label);
      const what = p.dic ? `dictionary ${p.name}` : `variable ${p.name}`;
      return h("mark", { class: ok ? null : "unknown", title: ok ? what : `unknown: ${label}` }, p.src);
    }));
    unknownNote.textContent = unknown.size ? `Unknown placeholders: ${[...unknown].map((n) => "@" + n).join(", ")} (declare them or they are refused).` : "";
    drawVars();
  };

  // Secrets: generated here, shown once, then only "set".
  const secretBlock = (key, label, make) => {
    const out = h("div", { "aria-live": "polite" });
    const draw = (fresh) => {
      fill(out,
        h("p", h("strong", label), ": ", secrets[key] ? (fresh ? "new value (copy it now; it is shown once):" : "set") : "not set"),
        fresh && h("div.url-row", h("label", { for: `cb-${key}-new` }, `New ${label.toLowerCase()}`),
          h("input", { id: `cb-${key}-new`, readonly: true, value: secrets[key] }), copyButton(secrets[key], label)),
        h("div.actions",
          h("button", { type: "button", onclick: () => { secrets[key] = make(); draw(true); announce(`${label} generated; save to keep it.`); } },
            secrets[key] ? `Rotate ${label.toLowerCase()}` : `Generate ${label.toLowerCase()}`),
          secrets[key] && h("button", { type: "button", onclick: () => { secrets[key] = ""; draw(false); } }, "Remove")));
    };
    draw(false);
    return out;
  };

  const formError = h("div", { "aria-live": "assertive" });
  const save = h("button.primary", { type: "submit" }, "Save callback settings");
  // The controls are sent only when set, so a channel without any keeps the plain path.
  const count = (f) => (f.input.value.trim() === "" ? 0 : Number(f.input.value));
  const controls = (dictionaries) => {
    const c = {};
    if (F.ordering.input.value !== "unordered") c.ordering = F.ordering.input.value;
    for (const k of ["disable_after", "disable_after_s", "max_per_s"]) if (count(F[k]) !== 0) c[k] = count(F[k]);
    if (dictionaries !== undefined) c.dictionaries = dictionaries;
    return c;
  };
  const config = (dictionaries) => ({
    method: F.method.input.value,
    headers: F.headers.input.value,
    body: F.body.input.value,
    variables: words(F.variables.input.value),
    retry: {
      schedule: F.schedule.input.value,
      interval_s: Number(F.interval_s.input.value),
      max_attempts: Number(F.max_attempts.input.value),
      jitter: Number(F.jitter.input.value),
      success: F.success.input.value,
    },
    signing_secret: secrets.signing_secret,
    process_key: secrets.process_key,
    ...controls(dictionaries),
  });
  const onSave = async (e) => {
    e.preventDefault();
    for (const f of Object.values(F)) setFieldError(f, "");
    formError.replaceChildren();
    let dictionaries;
    if (F.dictionaries.input.value.trim()) {
      try {
        dictionaries = JSON.parse(F.dictionaries.input.value);
      } catch (x) {
        setFieldError(F.dictionaries, `Not valid JSON: ${x.message}`);
        F.dictionaries.input.focus();
        return;
      }
    }
    save.disabled = true;
    try {
      await api("PATCH", encodeURIComponent(id), { body: { url: F.url.input.value.trim(), opts: { callback: config(dictionaries) } } });
      announce("Callback settings saved.");
      fill(formError, h("p.notice", "Saved."));
    } catch (err) {
      const key = err instanceof ApiError && fieldOf(err.message);
      // A template error says where: "(body line 1, column 1)" or "(headers line 2 …)".
      const where = err instanceof ApiError && /\((body|headers) line/.exec(err.message);
      // "`opts.callback.dictionaries.Status` must be …" names the dictionaries field.
      const name = where ? where[1] : key && key.replace(/^opts\.callback\.(retry\.)?/, "").split(".")[0];
      const target = name && (F[name] || (key === "url" && F.url));
      if (target) {
        setFieldError(target, err.message);
        target.input.focus();
      } else fill(formError, errorBox(err, () => form.requestSubmit()));
    } finally {
      save.disabled = false;
    }
  };
  const form = h("form", { id: "callback-form", novalidate: true, onsubmit: onSave },
    h("fieldset", h("legend", "Request"), F.url.wrap, F.method.wrap, F.headers.wrap, F.body.wrap, F.variables.wrap,
      h("p.hint", "Preview, placeholders highlighted:"), view, unknownNote),
    h("fieldset", h("legend", "Retry policy"), h("div.grid2", F.schedule.wrap, F.interval_s.wrap, F.max_attempts.wrap, F.jitter.wrap, F.success.wrap)),
    h("fieldset", h("legend", "Delivery controls"),
      h("p.hint", "Off by default. When the destination is disabled, deliveries wait (pending) until it is re-enabled on the Deliveries screen."),
      h("div.grid2", F.ordering.wrap, F.max_per_s.wrap, F.disable_after.wrap, F.disable_after_s.wrap)),
    h("fieldset", h("legend", "Dictionaries"), F.dictionaries.wrap),
    h("fieldset", h("legend", "Secrets"),
      h("p.hint", "The signing secret adds Standard Webhooks headers to each attempt; the process key lets the process call send and send/test."),
      secretBlock("signing_secret", "Signing secret", () => `whsec_${b64(randomBytes(24))}`),
      secretBlock("process_key", "Process key", () => hex(randomBytes(24)))),
    formError,
    h("div.actions", save));

  // Test send: fill the variables, see the rendered request and the answer.
  const varsBox = h("div", { id: "test-vars" });
  const varInputs = new Map();
  function drawVars() {
    // A dictionary's code is sent as the variable of its name.
    const dics = [...placeholders(F.headers.input.value), ...placeholders(F.body.input.value)].filter((p) => p.dic).map((p) => p.name);
    const names = [...new Set([...words(F.variables.input.value), ...dics, "EventType", "EventDescription"])];
    for (const n of names) {
      if (!varInputs.has(n)) varInputs.set(n, field(n, h("input", { id: `tv-${n}` })));
    }
    fill(varsBox, names.map((n) => varInputs.get(n).wrap));
  }
  const result = h("div", { id: "test-result", "aria-live": "polite" });
  const testButton = h("button.primary", { type: "submit" }, "Test send");
  const queueButton = h("button", { type: "button" }, "Queue a delivery");
  const variables = () => Object.fromEntries([...varInputs].filter(([n]) => varsBox.contains(varInputs.get(n).wrap))
    .map(([n, f]) => [n, f.input.value]).filter(([, v]) => v !== ""));
  const testForm = h("form", { id: "test-form", onsubmit: async (e) => {
    e.preventDefault();
    testButton.disabled = true;
    fill(result, h("p.muted", "Sending…"));
    try {
      const r = await api("POST", `${encodeURIComponent(id)}/send/test`, { body: { variables: variables() } });
      fill(result,
        h("h3", "Rendered request"),
        h("p", h("code", `${r.request.method} ${r.request.url}`)), pairs(r.request.headers), pre(r.request.body || ""),
        h("h3", "Receiver's answer"),
        h("p", { id: "test-status" }, "Status ", statusBadge(r.status), ` in ${r.latency_ms} ms`),
        r.error && h("p.field-error", r.error),
        pairs(r.headers), pre(r.body_excerpt || ""));
    } catch (err) {
      fill(result, errorBox(err, () => testForm.requestSubmit()));
    } finally {
      testButton.disabled = false;
    }
  } }, varsBox, h("div.actions", testButton, queueButton), result);
  queueButton.addEventListener("click", async () => {
    queueButton.disabled = true;
    try {
      const r = await api("POST", `${encodeURIComponent(id)}/send`, { body: { variables: variables() } });
      fill(result, h("p.notice", "Queued: ", h("a", { href: `#/channels/${id}/deliveries/${r.delivery_id}` }, `delivery ${r.delivery_id}`), ` (${r.state}).`));
    } catch (err) {
      fill(result, errorBox(err));
    } finally {
      queueButton.disabled = false;
    }
  });

  for (const k of ["headers", "body", "variables", "dictionaries"]) F[k].input.addEventListener("input", highlight);
  highlight();
  screen(`Outbound callback · ${ch.code}`, channelTabs(id, "/callback", ch), form,
    h("section", { "aria-labelledby": "test-h" }, h("h2", { id: "test-h" }, "Test send"),
      h("p.hint", "One attempt now with the saved settings; nothing is queued. Save first."), testForm));
}
