// Screen 3: a channel's inbound requests (Bpium's catalog of runs) and the
// detail of one: method, URL (token redacted), query, headers, body
// excerpt, the answer, timing and an async run's result.
import { h, fill, fmtTime, pre, pairs, field } from "../dom.js";
import { api } from "../api.js";
import { screen, errorBox, channelTabs, statusBadge, outcomeBadge, cards } from "../ui.js";

const PAGE = 50;
export async function renderList({ id, query }, ctx) {
  const offset = Number(query.get("offset") || 0);
  const ch = await api("GET", encodeURIComponent(id));
  if (!ctx.alive()) return;
  const outcome = field("Outcome", h("select", { id: "rq-outcome" }, h("option", { value: "" }, "any"),
    ["answered", "accepted", "timed_out", "failed", "no_process"].map((o) => h("option", o))));
  const mode = field("Mode", h("select", { id: "rq-mode" }, h("option", { value: "" }, "any"), h("option", "sync"), h("option", "async")));
  outcome.input.value = query.get("outcome") || "";
  mode.input.value = query.get("mode") || "";
  // Filters and page live in the hash, so Back and a reload keep them.
  const link = (o) => {
    const q = new URLSearchParams();
    if (outcome.input.value) q.set("outcome", outcome.input.value);
    if (mode.input.value) q.set("mode", mode.input.value);
    if (o) q.set("offset", o);
    return `#/channels/${id}/requests${q.size ? `?${q}` : ""}`;
  };
  for (const f of [outcome, mode]) f.input.addEventListener("change", () => (location.hash = link(0)));
  const body = h("div", { "aria-live": "polite" }, h("p.muted", "Loading…"));
  const reload = h("button", { type: "button", onclick: () => load() }, "Refresh");
  screen(`Requests · ${ch.code}`, channelTabs(id, "/requests", ch), h("div.toolbar", outcome.wrap, mode.wrap, reload), body);
  const filtered = Boolean(outcome.input.value || mode.input.value);
  const load = async () => {
    try {
      const rows = await api("GET", `${encodeURIComponent(id)}/requests`, {
        query: { offset, limit: PAGE + 1, outcome: outcome.input.value, mode: mode.input.value },
      });
      if (!ctx.alive()) return;
      const more = rows.length > PAGE;
      const list = rows.slice(0, PAGE);
      if (!list.length && offset === 0 && filtered) {
        fill(body, h("p.empty", "No request matches these filters."));
        return;
      }
      if (!list.length && offset === 0) {
        fill(body, h("p.empty", "No requests recorded yet. Call the channel's webhook URL (on its ",
          h("a", { href: `#/channels/${id}` }, "settings"), " tab) and they appear here, newest first."));
        return;
      }
      fill(body,
        h("div.scroll", cards(h("table", { id: "requests-table" },
          h("caption.muted", "Newest first"),
          h("thead", h("tr", ["Received", "Method", "URL", "Status", "Mode", "Outcome", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", list.map((r) => h("tr",
            h("td", h("a", { href: `#/channels/${id}/requests/${encodeURIComponent(r.id)}` }, fmtTime(r.received_at))),
            h("td", r.method),
            h("td", h("code", r.url)),
            h("td", statusBadge(r.status)),
            h("td", r.mode),
            h("td", outcomeBadge(r.outcome)),
            h("td.num", `${r.duration_ms} ms`))))))),
        h("nav.pager", { "aria-label": "Pages" },
          offset > 0 && h("a", { href: link(Math.max(0, offset - PAGE)) }, "Newer"),
          more && h("a", { href: link(offset + PAGE) }, "Older")));
    } catch (e) {
      if (ctx.alive()) fill(body, errorBox(e, load));
    }
  };
  await load();
}

/** Renders whatever the detail route gives: the known parts first. */
export async function renderDetail({ id, rid }, ctx) {
  const [ch, r] = await Promise.all([
    api("GET", encodeURIComponent(id)),
    api("GET", `${encodeURIComponent(id)}/requests/${encodeURIComponent(rid)}`),
  ]);
  if (!ctx.alive()) return;
  const req = r.request || {};
  const section = (title, ...content) => h("section", h("h2", title), ...content);
  const withId = (el, id) => (el.id = id, el);
  // A body excerpt: {text, encoding?, bytes, truncated}; JSON text shown indented.
  const bodyOf = (b) => {
    if (b == null) return h("p.muted", "empty");
    if (typeof b !== "object" || !("text" in b)) return pre(b);
    let text = b.text;
    if (!b.encoding && !b.truncated) {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        /* not JSON: as it came */
      }
    }
    return [pre(text), h("p.hint", b.encoding ? `base64 of ${b.bytes} bytes` : `${b.bytes} bytes`,
      b.truncated ? `, cut to the first ${b.encoding ? "bytes" : `${new TextEncoder().encode(b.text).length} bytes`} (REQUEST_LOG_BODY_BYTES)` : "")];
  };
  const known = new Set(["request", "response", "result", "id", "channel_id", "received_at", "method", "url", "ip",
    "mode", "status", "duration_ms", "outcome", "error"]);
  const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !known.has(k)));
  screen(`Request ${r.method || ""} ${fmtTime(r.received_at)}`, channelTabs(id, "/requests", ch),
    h("p", h("a", { href: `#/channels/${id}/requests` }, "← All requests")),
    h("dl.pairs", { id: "request-summary" },
      h("dt", "Method"), h("dd", r.method),
      h("dt", "URL"), h("dd", r.url),
      h("dt", "Received"), h("dd", fmtTime(r.received_at)),
      h("dt", "Mode"), h("dd", r.mode),
      h("dt", "Status"), h("dd", statusBadge(r.status)),
      h("dt", "Outcome"), h("dd", outcomeBadge(r.outcome)),
      h("dt", "Duration"), h("dd", `${r.duration_ms} ms`),
      r.ip && [h("dt", "IP"), h("dd", r.ip)],
      r.error && [h("dt", "Error"), h("dd", r.error)]),
    r.request === null && h("p.muted", "This record was kept before payloads were: no query, headers nor body."),
    section("Query", pairs(req.query || {})),
    section("Headers", pairs(req.headers || [])),
    section("Body", bodyOf(req.body ?? null)),
    section("Answer", r.response
      ? [h("p", "Status ", statusBadge(r.response.status)), pairs(r.response.headers), pre(r.response.body || "")]
      : h("p.muted", r.mode === "async" ? "Async: the caller got 200 at once." : "No answer recorded.")),
    (r.result != null || r.mode === "async") &&
      withId(section("Process result", r.result != null
        ? [h("p.muted", `Reported ${fmtTime(r.result.received_at)}`), bodyOf(r.result.body)]
        : h("p.muted", "The process has reported no result yet.")), "request-result"),
    Object.keys(rest).length > 0 && section("More", pre(rest)));
}
