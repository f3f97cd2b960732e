// Screen 8: overview of one channel: requests in the last hour by outcome,
// deliveries by state, and requests per minute as an inline SVG chart.
// Figures come from the channel's stats route; a gateway without it (404
// "No such route") gets them counted here from the request and delivery lists.
import { h, fill, field } from "../dom.js";
import { api, listChannels, ApiError } from "../api.js";
import { screen, errorBox, channelTabs } from "../ui.js";

const OUTCOMES = ["answered", "accepted", "timed_out", "failed", "no_process"];
const STATES = ["pending", "delivered", "failed", "dead"];
const BAD = new Set(["timed_out", "failed", "no_process"]);
const MINUTES = 60;

/** Counts the figures from the lists (newest first), `now` in ms. */
export function countFromLists(requests, deliveries, now) {
  const since = now - MINUTES * 60_000;
  const by_outcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  const perMinute = Array.from({ length: MINUTES }, () => ({ ok: 0, bad: 0 }));
  for (const r of requests) {
    const t = Date.parse(r.received_at);
    if (!(t >= since)) continue;
    by_outcome[r.outcome] = (by_outcome[r.outcome] || 0) + 1;
    const slot = Math.min(MINUTES - 1, Math.floor((t - since) / 60_000));
    perMinute[slot][BAD.has(r.outcome) ? "bad" : "ok"]++;
  }
  const by_state = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const d of deliveries) by_state[d.state] = (by_state[d.state] || 0) + 1;
  return { by_outcome, by_state, perMinute, counted: true, split: true };
}

/**
 * The stats route's answer in the shape this screen draws: `requests`
 * {total, by_outcome, per_minute: 60 counts, oldest first}, `deliveries`
 * {by_state}. The route does not split a minute by outcome, so its bars
 * are one colour.
 */
export function fromStats(s) {
  const req = s.requests || {};
  const by_outcome = { ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])), ...(req.by_outcome || {}) };
  const by_state = { ...Object.fromEntries(STATES.map((x) => [x, 0])), ...((s.deliveries || {}).by_state || {}) };
  const counts = Array.isArray(req.per_minute) ? req.per_minute.slice(-MINUTES) : [];
  const perMinute = Array.from({ length: MINUTES }, (_, i) => ({ ok: Number(counts[i - (MINUTES - counts.length)] || 0), bad: 0 }));
  return { by_outcome, by_state, perMinute, counted: false, split: false };
}

const SVGNS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...kids) => {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids) el.append(k);
  return el;
};

/** Requests per minute, the last hour, failures stacked in red. */
export function chart(perMinute) {
  const W = 600, H = 140, pad = 20, bw = (W - pad) / MINUTES;
  const max = Math.max(1, ...perMinute.map((m) => m.ok + m.bad));
  const total = perMinute.reduce((n, m) => n + m.ok + m.bad, 0);
  const peak = perMinute.reduce((n, m) => Math.max(n, m.ok + m.bad), 0);
  const scale = (n) => (n / max) * (H - pad - 10);
  const label = `Requests per minute over the last hour: ${total} in all, at most ${peak} in one minute.`;
  const el = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, id: "requests-chart" },
    svg("title", {}, label),
    svg("line", { class: "axis", x1: pad, y1: H - pad, x2: W, y2: H - pad }),
    svg("text", { x: 0, y: 12 }, String(max)),
    svg("text", { x: pad, y: H - 4 }, "−60 min"),
    svg("text", { x: W - 30, y: H - 4 }, "now"));
  perMinute.forEach((m, i) => {
    const x = pad + i * bw + 1;
    const okH = scale(m.ok), badH = scale(m.bad);
    if (m.ok) el.append(svg("rect", { class: "bar", x, y: H - pad - okH, width: Math.max(1, bw - 2), height: okH }));
    if (m.bad) el.append(svg("rect", { class: "bar bad", x, y: H - pad - okH - badH, width: Math.max(1, bw - 2), height: badH }));
  });
  return el;
}

const tiles = (id, counts, label) =>
  h("ul.stats", { id, "aria-label": label }, Object.entries(counts).map(([k, n]) => h("li", { dataset: { key: k } }, h("strong", String(n)), k.replace("_", " "))));

export async function render({ id }, ctx) {
  const channels = await listChannels();
  if (!ctx.alive()) return;
  if (!channels.length) {
    screen("Overview", h("p.empty", "No channels yet. ", h("a", { href: "#/channels/new" }, "Make the first channel"), "."));
    return;
  }
  const chosen = channels.find((c) => c.id === id) || channels.find((c) => c.code === "demo-p2p") || channels[0];
  const pick = field("Channel", h("select", { id: "ov-channel" }, channels.map((c) => h("option", { value: c.id }, c.code))));
  pick.input.value = chosen.id;
  pick.input.addEventListener("change", () => (location.hash = `#/overview/${pick.input.value}`));
  const body = h("div", { "aria-live": "polite", "aria-busy": "true" }, h("p.muted", "Loading…"));
  const refresh = h("button", { type: "button" }, "Refresh");
  screen(`Overview · ${chosen.code}`, channelTabs(chosen.id, "overview", chosen), h("div.toolbar", pick.wrap, refresh), body);
  const load = async () => {
    body.setAttribute("aria-busy", "true");
    const now = Date.now();
    const cid = encodeURIComponent(chosen.id);
    let figures;
    try {
      try {
        figures = fromStats(await api("GET", `${cid}/stats`));
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404 && /no such route/i.test(e.message))) throw e;
        const [reqs, dels] = await Promise.all([
          api("GET", `${cid}/requests`, { query: { limit: 500 } }),
          api("GET", `${cid}/deliveries`, { query: { limit: 500 } }),
        ]);
        figures = countFromLists(reqs, dels, now);
      }
    } catch (e) {
      if (ctx.alive()) fill(body, errorBox(e, load));
      return;
    }
    if (!ctx.alive()) return;
    body.removeAttribute("aria-busy");
    const total = Object.values(figures.by_outcome).reduce((a, b) => a + b, 0);
    fill(body,
      h("h2", `Requests in the last hour: ${total}`),
      tiles("ov-outcomes", figures.by_outcome, "Requests by outcome"),
      chart(figures.perMinute),
      h("p.hint", figures.split ? "Bars: requests per minute; red: timed out, failed or no process." : "Bars: requests per minute, oldest on the left."),
      h("h2", "Deliveries by state"),
      tiles("ov-states", figures.by_state, "Deliveries by state"),
      h("p", h("a", { href: `#/channels/${chosen.id}/requests` }, "See the requests"), " · ",
        h("a", { href: `#/channels/${chosen.id}/deliveries` }, "See the deliveries")),
      figures.counted && h("p.hint", "Counted from the latest 500 requests and deliveries."));
  };
  refresh.addEventListener("click", load);
  await load();
}
