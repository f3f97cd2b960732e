// Screen 1: the channels table (search by code or title, filter by type and sync,
// sort by column, pages).
import { h, fill, field, fmtTime } from "../dom.js";
import { listChannels } from "../api.js";
import { screen, errorBox, cards } from "../ui.js";

const PAGE = 20;
const COLUMNS = [
  ["code", "Code", (c) => c.code],
  ["type", "Type", (c) => c.type],
  ["title", "Title", (c) => c.opts?.title || ""],
  ["sync", "Sync/async", (c) => (c.opts?.issync ? "sync" : "async")],
  ["process", "Process", (c) => c.recv_svcscriptcode || ""],
  ["ct", "Created", (c) => c.ext?.ct || ""],
  ["lwt", "Changed", (c) => c.ext?.lwt || ""],
];

export async function render({ query }, ctx) {
  const state = {
    q: query.get("q") || "",
    type: query.get("type") || "",
    sync: query.get("sync") || "",
    sort: query.get("sort") || "code",
    desc: query.get("desc") === "1",
    page: Number(query.get("page") || 0),
  };
  const search = field("Search by code or title", h("input", { type: "search", value: state.q, id: "ch-search" }));
  const type = field(
    "Type",
    h("select", { id: "ch-type" }, h("option", { value: "" }, "any"), h("option", { value: "public" }, "public"),
      h("option", { value: "eventing" }, "eventing")),
  );
  type.input.value = state.type;
  const sync = field(
    "Mode",
    h("select", { id: "ch-sync" }, h("option", { value: "" }, "any"), h("option", { value: "sync" }, "sync"),
      h("option", { value: "async" }, "async")),
  );
  sync.input.value = state.sync;
  const body = h("div", { "aria-live": "polite", "aria-busy": "true" }, h("p.muted", "Loading…"));
  screen(
    "Channels",
    h("div.actions", h("a", { href: "#/channels/new", class: "button-link" }, h("strong", "+ New channel"))),
    h("form.toolbar", { role: "search", onsubmit: (e) => e.preventDefault() }, search.wrap, type.wrap, sync.wrap),
    body,
  );
  let all = [];
  const draw = () => {
    const rows = [...all];
    const col = COLUMNS.find((c) => c[0] === state.sort) || COLUMNS[0];
    rows.sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      return (x < y ? -1 : x > y ? 1 : 0) * (state.desc ? -1 : 1);
    });
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * PAGE, state.page * PAGE + PAGE);
    body.removeAttribute("aria-busy");
    if (!all.length && !state.type && !state.sync && !state.q.trim()) {
      fill(body, h("div.empty", h("p", h("strong", "No channels yet.")),
        h("p", "A channel is a public URL that starts a process. ",
          h("a", { href: "#/channels/new" }, "Make the first channel"),
          ": give it a code, say whether callers wait for the answer (sync), and name the process.")));
      return;
    }
    if (!rows.length) {
      fill(body, h("p.empty", "No channel matches the search and filters."));
      return;
    }
    const table = cards(h("table", { id: "channels-table" },
      h("caption.muted", `${rows.length} channel${rows.length === 1 ? "" : "s"}`),
      h("thead", h("tr", COLUMNS.map(([key, label]) => {
        const sorted = state.sort === key;
        return h("th", { scope: "col", "aria-sort": sorted ? (state.desc ? "descending" : "ascending") : null },
          h("button", { type: "button", onclick: () => {
            if (state.sort === key) state.desc = !state.desc;
            else { state.sort = key; state.desc = false; }
            draw();
            body.querySelector(`th[aria-sort] button`)?.focus();
          } }, label, sorted ? (state.desc ? " ▼" : " ▲") : ""));
      }))),
      h("tbody", shown.map((c) => h("tr",
        h("td", h("a", { href: `#/channels/${encodeURIComponent(c.id)}` }, c.code)),
        h("td", c.type),
        h("td", c.opts?.title || ""),
        h("td", h("span", { class: `badge ${c.opts?.issync ? "info" : "warn"}` }, c.opts?.issync ? "sync" : "async")),
        h("td", c.recv_svcscriptcode || h("span.muted", "none")),
        h("td", fmtTime(c.ext?.ct)),
        h("td", fmtTime(c.ext?.lwt)),
      ))),
    ));
    fill(body, h("div.scroll", table),
      pages > 1 && h("nav.pager", { "aria-label": "Pages" },
        h("button", { type: "button", disabled: state.page === 0, onclick: () => { state.page--; draw(); } }, "Previous"),
        h("span", `Page ${state.page + 1} of ${pages}`),
        h("button", { type: "button", disabled: state.page >= pages - 1, onclick: () => { state.page++; draw(); } }, "Next")));
  };
  let loads = 0; // only the latest answer is drawn
  const load = async () => {
    const seq = ++loads;
    const filter = {};
    if (state.type) filter.type = state.type;
    if (state.sync) filter["opts.issync"] = state.sync === "sync";
    body.setAttribute("aria-busy", "true");
    try {
      const got = await listChannels(Object.keys(filter).length ? filter : null, state.q.trim());
      if (!ctx.alive() || seq !== loads) return;
      all = got;
      draw();
    } catch (e) {
      if (!ctx.alive() || seq !== loads) return;
      fill(body, errorBox(e, load));
    }
  };
  // The API searches code and title; typing waits a moment before asking.
  let typing = null;
  search.input.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.q = search.input.value; state.page = 0; load(); }, 200);
  });
  type.input.addEventListener("change", () => { state.type = type.input.value; state.page = 0; load(); });
  sync.input.addEventListener("change", () => { state.sync = sync.input.value; state.page = 0; load(); });
  await load();
}
