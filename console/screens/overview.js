// Screen 8: overview of one channel: requests in the last hour by outcome,
// deliveries by state, and requests per minute as an inline SVG chart.
// Figures come from the channel's stats route (…/{id}/stats).
import { h, fill, field } from "../dom.js";
import { api, listChannels, serviceInfo } from "../api.js";
import { screen, errorBox, channelTabs } from "../ui.js";

const OUTCOMES = ["answered", "accepted", "timed_out", "failed", "no_process"];
const STATES = ["pending", "delivered", "failed", "dead"];
const MINUTES = 60;

/**
 * The stats route's answer in the shape this screen draws: `requests`
 * {total, by_outcome, per_minute: 60 counts, oldest first}, `deliveries`
 * {by_state}.
 */
export function fromStats(s) {
  const req = s.requests || {};
  const by_outcome = { ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])), ...(req.by_outcome || {}) };
  const by_state = { ...Object.fromEntries(STATES.map((x) => [x, 0])), ...((s.deliveries || {}).by_state || {}) };
  const counts = Array.isArray(req.per_minute) ? req.per_minute.slice(-MINUTES) : [];
  const perMinute = Array.from({ length: MINUTES }, (_, i) => Number(counts[i - (MINUTES - counts.length)] || 0));
  return { by_outcome, by_state, perMinute };
}

const SVGNS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...kids) => {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids) el.append(k);
  return el;
};

/** Requests per minute over the last hour (60 counts, oldest first), as bars. */
export function chart(perMinute) {
  const W = 600, H = 140, pad = 20, bw = (W - pad) / MINUTES;
  const peak = Math.max(0, ...perMinute);
  const max = Math.max(1, peak);
  const total = perMinute.reduce((a, b) => a + b, 0);
  const label = `Requests per minute over the last hour: ${total} in all, at most ${peak} in one minute.`;
  const el = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, id: "requests-chart" },
    svg("title", {}, label),
    svg("line", { class: "axis", x1: pad, y1: H - pad, x2: W, y2: H - pad }),
    svg("text", { x: 0, y: 12 }, String(max)),
    svg("text", { x: pad, y: H - 4 }, "−60 min"),
    svg("text", { x: W - 30, y: H - 4 }, "now"));
  perMinute.forEach((n, i) => {
    if (!n) return;
    const height = (n / max) * (H - pad - 10);
    el.append(svg("rect", { class: "bar", x: pad + i * bw + 1, y: H - pad - height, width: Math.max(1, bw - 2), height },
      svg("title", {}, `${n} request${n === 1 ? "" : "s"}, ${MINUTES - 1 - i} min ago`)));
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
    let figures, info;
    try {
      [figures, info] = await Promise.all([
        api("GET", `${encodeURIComponent(chosen.id)}/stats`).then(fromStats),
        serviceInfo(),
      ]);
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
      h("p.hint", "Bars: requests per minute, the oldest on the left."),
      h("h2", "Deliveries by state"),
      tiles("ov-states", figures.by_state, "Deliveries by state"),
      h("p", h("a", { href: `#/channels/${chosen.id}/requests` }, "See the requests"), " · ",
        h("a", { href: `#/channels/${chosen.id}/deliveries` }, "See the deliveries")),
      info && h("details", { id: "ov-gateway" }, h("summary", "The gateway's settings"),
        h("dl.pairs", h("dt", "PUBLIC_URL"), h("dd", info.public_url || "not set"),
          h("dt", "Sync API logins"), h("dd", info.logins.join(", ") || "none"),
          Object.entries(info.settings).map(([k, v]) => [h("dt", k), h("dd", String(v))]))),
    );
  };
  refresh.addEventListener("click", load);
  await load();
}
