// Pieces shared by every screen: the heading, the error box, channel tabs.
import { h, fill } from "./dom.js";
import { ApiError, NetworkError, getToken } from "./api.js";

/** The error box: the API's own words, or a network failure with a retry. */
export function errorBox(err, retry) {
  let text;
  if (err instanceof NetworkError) text = `Network failure: ${err.message}`;
  else if (err instanceof ApiError) text = `The API answered ${err.status}: ${err.message}`;
  else text = `Something went wrong: ${err && err.message}`;
  const box = h(
    "div.alert",
    { role: "alert" },
    h("p", text),
    retry && h("button", { type: "button", onclick: retry }, "Retry"),
  );
  return box;
}

/** Tabs of one channel's screens. */
export function channelTabs(id, current, ch) {
  const tabs = [
    ["", "Settings"],
    ["/requests", "Requests"],
    ["/callback", "Outbound callback"],
    ["/deliveries", "Deliveries"],
  ];
  return h(
    "nav.tabs",
    { "aria-label": "Channel sections" },
    h(
      "ul",
      tabs.map(([p, label]) =>
        h("li", h("a", { href: `#/channels/${id}${p}`, "aria-current": p === current ? "page" : null }, label)),
      ),
      ch && ch.type === "eventing" && h("li", h("a", { href: `#/live/${id}` }, "Live events")),
      h("li", h("a", { href: `#/overview/${id}`, "aria-current": current === "overview" ? "page" : null }, "Overview")),
    ),
  );
}

/** Starts a screen: its heading gets the focus, as a page load would. */
export function screen(title, ...children) {
  // Signed out meanwhile (a 401 brought the sign-in back): a screen that was
  // still loading does not cover it.
  if (!getToken() && title !== "Sign in") return document.createElement("div");
  document.title = `${title} · syncbridge console`;
  const h1 = h("h1", { tabindex: "-1" }, title);
  const main = document.getElementById("main");
  fill(main, h1, ...children);
  h1.focus({ preventScroll: true });
  return main;
}


const OUTCOME = { answered: "ok", accepted: "ok", timed_out: "warn", failed: "bad", no_process: "warn" };

export const outcomeBadge = (o) => h("span", { class: `badge ${OUTCOME[o] || "info"}` }, o || "?");
export const statusBadge = (s) =>
  h("span", { class: `badge ${s == null ? "bad" : s < 300 ? "ok" : s < 500 ? "warn" : "bad"}` }, s == null ? "none" : String(s));

/** Labels each cell with its column's heading, so that a narrow screen shows rows as cards. */
export function cards(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((td, i) => td.setAttribute("data-label", heads[i] || ""));
  }
  table.classList.add("cards");
  return table;
}
