// Screen 5: a channel's deliveries (state badges, filter by state), one
// delivery's attempt timeline, and resend for dead or failed ones; the
// destination's state (circuit breaker) with re-enable, and recover.
import { h, fill, fmtTime, pre, pairs, announce, field, setFieldError } from "../dom.js";
import { api } from "../api.js";
import { screen, errorBox, channelTabs, statusBadge, cards } from "../ui.js";

const STATES = ["pending", "delivered", "failed", "dead"];
const TONE = { pending: "info", delivered: "ok", failed: "bad", dead: "bad" };
export const stateBadge = (s) => h("span", { class: `badge ${TONE[s] || "info"}`, dataset: { state: s } }, s);
const POLL_MS = 1000;

const REASON = {
  consecutive_failures: (d) => `after ${d.disable_after} consecutive failed attempt${d.disable_after === 1 ? "" : "s"}`,
  failing_for: (d) => `after failing for ${d.disable_after_s} s`,
};

/** The destination's state: a badge, why and since when, and re-enable when disabled. */
function destinationBlock(id, onEnabled) {
  const state = h("div", { id: "destination-state" }, h("p.muted", "Destination: loading…"));
  const result = h("p", { id: "destination-result", "aria-live": "polite", tabindex: "-1" });
  let lastKey = "";
  const draw = (d) => {
    const key = `${d.state}/${d.failures}/${d.disabled_at_ms}`;
    if (key === lastKey) return;
    lastKey = key;
    const disabled = d.state === "disabled";
    const enable = disabled && h("button.primary", { type: "button", id: "destination-enable", onclick: async (e) => {
      e.target.disabled = true;
      fill(result, "Re-enabling…");
      try {
        const now = await api("POST", `${encodeURIComponent(id)}/destination/enable`);
        fill(result, h("span.notice", "Re-enabled: the waiting deliveries resume in send order."));
        draw(now);
        // The button is gone: the focus goes to what happened rather than to the page.
        result.focus();
        onEnabled();
      } catch (x) {
        e.target.disabled = false;
        fill(result, errorBox(x));
      }
    } }, "Re-enable");
    fill(state, h("p",
      "Destination: ", h("span", { class: `badge ${disabled ? "bad" : "ok"}`, dataset: { destination: d.state } }, d.state),
      disabled && ` ${(REASON[d.disabled_by] || (() => ""))(d)}${d.disabled_at_ms ? `, since ${fmtTime(d.disabled_at_ms)}` : ""}; deliveries wait (pending) until it is re-enabled.`,
      !disabled && d.failures > 0 && ` (${d.failures} failed attempt${d.failures === 1 ? "" : "s"} since the last success${d.failing_since_ms ? `, from ${fmtTime(d.failing_since_ms)}` : ""})`),
    enable && h("div.actions", enable));
  };
  const load = async () => {
    try {
      draw(await api("GET", `${encodeURIComponent(id)}/destination`));
    } catch (x) {
      lastKey = "";
      fill(state, errorBox(x, load));
    }
  };
  return { el: h("section", { "aria-label": "Destination" }, state, result), load };
}

/** Recover: resend every failed or dead delivery created since a time. */
function recoverForm(id, onRecovered) {
  const local = (ms) => {
    const d = new Date(ms);
    return new Date(ms - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  };
  const since = field("Created at or after", h("input", { id: "recover-since", type: "datetime-local", value: local(Date.now() - 3600_000) }),
    "Your local time.");
  const boxes = ["failed", "dead"].map((s) => field(s, h("input", { id: `recover-${s}`, type: "checkbox", checked: true, value: s })));
  const result = h("div", { id: "recover-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Recover");
  const form = h("form", { id: "recover-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    setFieldError(since, "");
    const at = new Date(since.input.value);
    if (!since.input.value || Number.isNaN(at.getTime())) {
      setFieldError(since, "Give a date and time.");
      since.input.focus();
      return;
    }
    const states = boxes.filter((b) => b.input.checked).map((b) => b.input.value);
    if (!states.length) {
      fill(result, h("p.field-error", "Choose failed, dead or both."));
      boxes[0].input.focus();
      return;
    }
    submit.disabled = true;
    fill(result, h("p.muted", "Recovering…"));
    try {
      const r = await api("POST", `${encodeURIComponent(id)}/deliveries/recover`, { body: { since: at.toISOString(), states } });
      fill(result, h("p.notice", { id: "recover-count" },
        `Recovered ${r.recovered} deliver${r.recovered === 1 ? "y" : "ies"}`, r.more ? "; more remain: recover again." : "."));
      onRecovered();
    } catch (x) {
      fill(result, errorBox(x, () => form.requestSubmit()));
    } finally {
      submit.disabled = false;
    }
  } },
  h("fieldset", h("legend", "Failed or dead deliveries since a time"),
    h("p.hint", "Resends each one created since then, oldest first, keeping its attempts (at most 100 a time)."),
    since.wrap, h("fieldset.checks", h("legend", "Which"), boxes.map((b) => b.wrap)),
    h("div.actions", submit), result));
  return form;
}

export async function renderList({ id, query }, ctx) {
  const ch = await api("GET", encodeURIComponent(id));
  if (!ctx.alive()) return;
  const filter = field("State", h("select", { id: "dl-state" }, h("option", { value: "" }, "any"), STATES.map((s) => h("option", s))));
  filter.input.value = query.get("state") || "";
  const body = h("div", { "aria-live": "polite" }, h("p.muted", "Loading…"));
  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));
  const destination = destinationBlock(id, () => load());
  const load = async () => {
    clearTimeout(timer);
    try {
      const want = filter.input.value;
      const list = await api("GET", `${encodeURIComponent(id)}/deliveries`, { query: { limit: 500, state: want } });
      if (!ctx.alive()) return;
      if (!list.length && !want) {
        fill(body, h("p.empty", "No deliveries yet. Configure the ", h("a", { href: `#/channels/${id}/callback` }, "outbound callback"),
          " and queue one, or let the process call …/send."));
      } else if (!list.length) {
        fill(body, h("p.empty", `No ${want} deliveries.`));
      } else {
        fill(body, h("div.scroll", cards(h("table", { id: "deliveries-table" },
          h("caption.muted", `${list.length} deliver${list.length === 1 ? "y" : "ies"}, newest first`),
          h("thead", h("tr", ["Created", "State", "Request", "Attempts", "Last status", "Next attempt"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", list.map((d) => {
            const last = d.attempts?.at(-1);
            return h("tr",
              h("td", h("a", { href: `#/channels/${id}/deliveries/${d.id}` }, fmtTime(d.created_at))),
              h("td", stateBadge(d.state)),
              h("td", h("code", `${d.request?.method} ${d.request?.url}`), d.event_type && h("div.muted", d.event_type)),
              h("td.num", String(d.attempts?.length ?? 0)),
              h("td", last ? statusBadge(last.status) : "—"),
              h("td", d.next_attempt_at_ms ? fmtTime(d.next_attempt_at_ms) : "—"));
          }))))));
      }
      // While some wait, the destination's state is followed too (a breaker may trip).
      if (list.some((d) => d.state === "pending")) timer = setTimeout(() => { destination.load(); load(); }, POLL_MS * 2);
    } catch (e) {
      if (ctx.alive()) fill(body, errorBox(e, load));
    }
  };
  const refresh = () => Promise.all([destination.load(), load()]);
  filter.input.addEventListener("change", load);
  screen(`Deliveries · ${ch.code}`, channelTabs(id, "/deliveries", ch), destination.el,
    h("div.toolbar", filter.wrap, h("button", { type: "button", onclick: refresh }, "Refresh")), body,
    h("section", { "aria-labelledby": "recover-h" }, h("h2", { id: "recover-h" }, "Recover"), recoverForm(id, () => load())));
  await refresh();
}

export async function renderDetail({ id, did }, ctx) {
  const ch = await api("GET", encodeURIComponent(id));
  if (!ctx.alive()) return;
  const body = h("div");
  const live = h("p", { id: "delivery-state", "aria-live": "polite" });
  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));
  let lastKey = "";
  const load = async () => {
    clearTimeout(timer);
    let d;
    try {
      d = await api("GET", `${encodeURIComponent(id)}/deliveries/${encodeURIComponent(did)}`);
    } catch (e) {
      if (ctx.alive()) fill(body, errorBox(e, load));
      return;
    }
    if (!ctx.alive()) return;
    const key = `${d.state}/${d.attempts.length}`;
    if (key !== lastKey) {
      lastKey = key;
      fill(live, "State: ", stateBadge(d.state), ` after ${d.attempts.length} attempt${d.attempts.length === 1 ? "" : "s"}`);
      draw(d);
    }
    if (d.state === "pending") timer = setTimeout(load, POLL_MS);
  };
  const draw = (d) => {
    const resend = ["dead", "failed"].includes(d.state) &&
      h("button.primary", { type: "button", id: "resend", onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api("POST", `${encodeURIComponent(id)}/deliveries/${encodeURIComponent(did)}/resend`);
          announce("Resent: the delivery is pending again.");
          lastKey = "";
          load();
        } catch (x) {
          e.target.disabled = false;
          body.prepend(errorBox(x));
        }
      } }, "Resend");
    fill(body,
      h("div.actions", resend, h("button", { type: "button", onclick: () => { lastKey = ""; load(); } }, "Refresh")),
      d.error && h("p.field-error", `Stopped: ${d.error}`),
      h("dl.pairs",
        h("dt", "Created"), h("dd", fmtTime(d.created_at)),
        h("dt", "Retry"), h("dd", `${d.retry.schedule} every ${d.retry.interval_s} s, at most ${d.retry.max_attempts} attempts, success ${d.retry.success}`),
        d.attempt_base > 0 && [h("dt", "Before the last resend"), h("dd", `${d.attempt_base} attempts`)],
        d.idempotency_key && [h("dt", "Idempotency key"), h("dd", d.idempotency_key)],
        d.event_type && [h("dt", "Event type"), h("dd", d.event_type)]),
      h("h2", "Attempts"),
      d.attempts.length
        ? h("ol.timeline", { id: "timeline" }, d.attempts.map((a) => h("li",
          h("p", h("strong", `#${a.n}`), ` ${fmtTime(a.at)} · `, statusBadge(a.status), ` · ${a.latency_ms} ms`),
          a.error && h("p.field-error", a.error),
          a.response_excerpt && pre(a.response_excerpt))),
          d.state === "pending" && d.next_attempt_at_ms && h("li.muted", `next attempt at ${fmtTime(d.next_attempt_at_ms)}`))
        : h("p.muted", { id: "timeline" }, d.next_attempt_at_ms ? `First attempt at ${fmtTime(d.next_attempt_at_ms)}` : "No attempt yet."),
      h("h2", "Request"),
      h("p", h("code", `${d.request.method} ${d.request.url}`)), pairs(d.request.headers), pre(d.request.body || ""));
  };
  screen(`Delivery · ${ch.code}`, channelTabs(id, "/deliveries", ch),
    h("p", h("a", { href: `#/channels/${id}/deliveries` }, "← All deliveries")), live, body);
  await load();
}
