// The console's shell: sign-in, the hash router, the screens' teardown.
import { h, announce } from "./dom.js";
import { errorBox, screen } from "./ui.js";
import { api, getToken, setToken, clearToken, ApiError, NetworkError } from "./api.js";
import * as channels from "./screens/channels.js";
import * as channelForm from "./screens/channel-form.js";
import * as requests from "./screens/requests.js";
import * as callback from "./screens/callback.js";
import * as deliveries from "./screens/deliveries.js";
import * as live from "./screens/live.js";
import * as playground from "./screens/playground.js";
import * as overview from "./screens/overview.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");

// [pattern, screen, named params]; the first match wins.
const ROUTES = [
  [/^\/channels$/, channels.render],
  [/^\/channels\/new$/, channelForm.render, []],
  [/^\/channels\/([^/]+)$/, channelForm.render, ["id"]],
  [/^\/channels\/([^/]+)\/requests$/, requests.renderList, ["id"]],
  [/^\/channels\/([^/]+)\/requests\/([^/]+)$/, requests.renderDetail, ["id", "rid"]],
  [/^\/channels\/([^/]+)\/callback$/, callback.render, ["id"]],
  [/^\/channels\/([^/]+)\/deliveries$/, deliveries.renderList, ["id"]],
  [/^\/channels\/([^/]+)\/deliveries\/([^/]+)$/, deliveries.renderDetail, ["id", "did"]],
  [/^\/live(?:\/([^/]+))?$/, live.render, ["id"]],
  [/^\/playground$/, playground.render],
  [/^\/overview(?:\/([^/]+))?$/, overview.render, ["id"]],
];

let cleanup = null;
let generation = 0;

function signIn(message) {
  nav.hidden = true;
  const input = h("input", {
    id: "admin-token",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "token-hint token-err",
  });
  const err = h("p.field-error", { id: "token-err", role: "alert", hidden: !message }, message || "");
  const form = h(
    "form.card.signin",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const t = input.value.trim();
        if (!t) return;
        setToken(t);
        button.disabled = true;
        try {
          await api("GET", "", { query: { limit: 1, mask: "id" }, signingIn: true });
          route();
        } catch (e2) {
          button.disabled = false;
          if (e2 instanceof ApiError && e2.status === 401) {
            clearToken();
            err.textContent = `The gateway refused this token (401): ${e2.message}. Check ADMIN_TOKEN.`;
          } else if (e2 instanceof NetworkError) {
            err.textContent = `Network failure: ${e2.message}`;
          } else {
            err.textContent = `The API answered ${e2.status || ""}: ${e2.message}`;
          }
          err.hidden = false;
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      },
    },
    h("div.field", h("label", { for: "admin-token" }, "Admin token"), input,
      h("p.hint", { id: "token-hint" },
        "The gateway's ADMIN_TOKEN (make dev's demo keeps it in .demo/dev.vars). " +
        "It stays in this tab only (sessionStorage) and is sent as a Bearer token.")),
    err,
  );
  const button = h("button.primary", { type: "submit" }, "Sign in");
  form.append(button);
  screen("Sign in", form);
  input.focus();
}

export function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a screen's own teardown */
    }
    cleanup = null;
  }
  const gen = ++generation;
  if (!getToken()) return signIn();
  nav.hidden = false;
  const path = (location.hash.replace(/^#/, "") || "/overview").split("?")[0];
  for (const a of nav.querySelectorAll("a")) {
    const target = a.getAttribute("href").slice(1);
    a.toggleAttribute("aria-current", path === target || path.startsWith(`${target}/`));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  for (const [re, fn, names = []] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, m[i + 1] && decodeURIComponent(m[i + 1])]));
    params.query = new URLSearchParams(location.hash.split("?")[1] || "");
    const ctx = {
      alive: () => gen === generation,
      onLeave: (fn2) => (cleanup = fn2),
    };
    Promise.resolve(fn(params, ctx)).catch((e) => {
      if (gen !== generation) return;
      if (e instanceof ApiError && e.status === 401) return;
      main.append(errorBox(e, route));
    });
    return;
  }
  screen("Not found", h("p", "No such screen. ", h("a", { href: "#/channels" }, "Go to the channels.")));
}

window.addEventListener("sb:unauthorized", (e) => {
  clearToken();
  signIn(`The gateway refused the token (401): ${e.detail.message}. Sign in again.`);
});
document.getElementById("signout").addEventListener("click", () => {
  clearToken();
  announce("Signed out.");
  signIn();
});
window.addEventListener("hashchange", route);
route();
