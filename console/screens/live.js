// Screen 6: live events over the WebSocket subscription of an eventing
// channel: patterns, pause, reconnect with last_event_id ($gap shown as
// such), and a test publish.
import { h, fill, field, announce, fmtTime } from "../dom.js";
import { api, listChannels } from "../api.js";
import { screen, errorBox } from "../ui.js";

const MAX_SHOWN = 200;
const MAX_DATA_CHARS = 300;
const clip = (s) => (s.length > MAX_DATA_CHARS ? `${s.slice(0, MAX_DATA_CHARS)}… (${s.length} characters)` : s);

export async function render({ id }, ctx) {
  let channels;
  try {
    channels = await listChannels({ type: "eventing" });
  } catch (e) {
    screen("Live events", errorBox(e, () => render({ id }, ctx)));
    return;
  }
  if (!ctx.alive()) return;
  if (!channels.length) {
    screen("Live events", h("p.empty", "No eventing channel yet. ",
      h("a", { href: "#/channels/new" }, "Make one"), " with the type \"eventing\"; its events show here as they come."));
    return;
  }
  const pick = field("Eventing channel", h("select", { id: "ev-channel" }, channels.map((c) => h("option", { value: c.id }, c.code))));
  pick.input.value = id && channels.some((c) => c.id === id) ? id : channels[0].id;
  const patterns = field("Event patterns", h("input", { id: "ev-patterns", placeholder: "order.*, user.login" }),
    "Exact types, prefix.* or *; empty means everything.");
  const state = h("p", { id: "ev-state", "aria-live": "polite" }, "Not connected.");
  const list = h("ol.events", { id: "events", "aria-label": "Events, newest first", tabindex: "0" });
  const counter = h("p.muted", { id: "ev-count" });
  let ws = null;
  let lastId = "";
  let paused = false;
  let held = [];
  let count = 0;
  const connectBtn = h("button.primary", { type: "button" }, "Connect");
  const pauseBtn = h("button", { type: "button", disabled: true, "aria-pressed": "false" }, "Pause");
  const reconnectBtn = h("button", { type: "button", disabled: true }, "Reconnect from last event");
  const disconnectBtn = h("button", { type: "button", disabled: true }, "Disconnect");

  const show = (ev) => {
    count++;
    const isGap = ev.type === "$gap";
    const item = isGap
      ? h("li.gap", `Gap: events after ${ev.data?.last_event_id} are no longer buffered; some were missed.`)
      : h("li", { dataset: { id: ev.id } }, h("code", `#${ev.id}`), " ", h("strong", ev.type), " ",
        h("span.muted", fmtTime(ev.ts)), " ", h("code", clip(JSON.stringify(ev.data))));
    list.prepend(item);
    while (list.children.length > MAX_SHOWN) list.lastChild.remove();
    updateCount();
  };
  const updateCount = () => {
    counter.textContent = `${count} event${count === 1 ? "" : "s"} shown${held.length ? `, ${held.length} held while paused` : ""}.`;
  };
  const channel = () => channels.find((c) => c.id === pick.input.value);
  const close = () => {
    if (ws) {
      ws.onclose = null;
      ws.close();
      ws = null;
    }
  };
  const connect = (fromLast) => {
    close();
    const ch = channel();
    const q = new URLSearchParams();
    const p = patterns.input.value.split(/[\s,]+/).filter(Boolean).join(",");
    if (p) q.set("events", p);
    if (fromLast && lastId) q.set("last_event_id", lastId);
    const url = `${location.origin.replace(/^http/, "ws")}/ws/token/v1/${ch.token_local}/subscribe${q.size ? `?${q}` : ""}`;
    state.textContent = "Connecting…";
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      state.textContent = `Connected to ${ch.code}${fromLast && lastId ? `, replaying after #${lastId}` : ""}.`;
      pauseBtn.disabled = false;
      reconnectBtn.disabled = false;
      disconnectBtn.disabled = false;
    };
    sock.onmessage = (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      if (ev.id && /^\d+$/.test(ev.id)) lastId = ev.id;
      if (paused) {
        held.push(ev);
        updateCount();
      } else show(ev);
    };
    sock.onclose = (e) => {
      if (ws !== sock) return;
      ws = null;
      disconnectBtn.disabled = true;
      state.textContent = `Disconnected (code ${e.code}${e.reason ? `: ${e.reason}` : ""}). Reconnect picks up after #${lastId || "nothing"}.`;
      reconnectBtn.disabled = false;
    };
    sock.onerror = () => {
      state.textContent = "The WebSocket failed (network failure or refused).";
    };
  };
  connectBtn.addEventListener("click", () => {
    lastId = "";
    count = 0;
    list.replaceChildren();
    connect(false);
  });
  reconnectBtn.addEventListener("click", () => connect(true));
  disconnectBtn.addEventListener("click", () => {
    close();
    disconnectBtn.disabled = true;
    state.textContent = `Disconnected. Reconnect picks up after #${lastId || "nothing"}.`;
  });
  pauseBtn.addEventListener("click", () => {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", String(paused));
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      const h2 = held;
      held = [];
      h2.forEach(show);
    }
    announce(paused ? "Paused: events are held." : "Resumed.");
  });
  pick.input.addEventListener("change", () => {
    close();
    state.textContent = "Not connected.";
    history.replaceState(null, "", `#/live/${pick.input.value}`);
  });
  ctx.onLeave(close);

  // Publish a test event.
  const ptype = field("Event type", h("input", { id: "pub-type", value: "test.ping" }));
  const pdata = field("Data (JSON object)", h("textarea", { id: "pub-data", rows: 3 }));
  pdata.input.value = '{"hello": "world"}';
  const presult = h("div", { "aria-live": "polite", id: "pub-result" });
  const pubForm = h("form", { id: "publish-form", onsubmit: async (e) => {
    e.preventDefault();
    let data;
    try {
      data = JSON.parse(pdata.input.value || "{}");
    } catch (x) {
      fill(presult, h("p.field-error", `The data is not JSON: ${x.message}`));
      return;
    }
    try {
      const ev = await api("POST", `${encodeURIComponent(pick.input.value)}/events`, { body: { type: ptype.input.value.trim(), data } });
      fill(presult, h("p.notice", `Published event #${ev.id} (${ev.type}).`));
    } catch (x) {
      fill(presult, errorBox(x));
    }
  } }, ptype.wrap, pdata.wrap, h("div.actions", h("button", { type: "submit" }, "Publish")), presult);

  screen("Live events",
    h("div.toolbar", pick.wrap, patterns.wrap),
    h("div.actions", connectBtn, pauseBtn, reconnectBtn, disconnectBtn),
    state, counter, list,
    h("section", { "aria-labelledby": "pub-h" }, h("h2", { id: "pub-h" }, "Publish a test event"), pubForm));
}
