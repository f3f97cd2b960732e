// Screen 2: the channel form, in Oktell's blocks (Main, URLs and token,
// External system, Process, CORS, Comment). Create, edit, delete.
import { h, field, setFieldError, copyButton, announce, fmtTime } from "../dom.js";
import { api, listChannels, ApiError, serviceInfo } from "../api.js";
import { screen, errorBox, channelTabs } from "../ui.js";

/**
 * The field an API error message names: a leading `name:` (`url: callback
 * destination …`), else the first `quoted` name (`opts.cors_origins[1]` →
 * opts.cors_origins).
 */
export function fieldOf(message) {
  const lead = /^([A-Za-z_][\w.]*):\s/.exec(message || "");
  if (lead) return lead[1];
  const m = /`([A-Za-z_][\w.]*)(?:\[\d+\])?`/.exec(message || "");
  return m ? m[1] : null;
}

const lines = (s) => s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

export async function render({ id }, ctx) {
  let ch = null;
  let eventing = [];
  let info = null;
  const loadAll = async () => {
    [ch, eventing, info] = await Promise.all([
      id ? api("GET", encodeURIComponent(id)) : null,
      listChannels({ type: "eventing" }).catch(() => []),
      id ? serviceInfo() : null,
    ]);
  };
  try {
    await loadAll();
  } catch (e) {
    screen(id ? "Channel" : "New channel", errorBox(e, () => render({ id }, ctx)));
    return;
  }
  if (!ctx.alive()) return;
  const o = ch?.opts || {};
  const F = {
    code: field("Code", h("input", { id: "f-code", required: true, value: ch?.code || "", autocomplete: "off" }),
      "Unique; also forms the Bpium URL /api/webrequest/{code}."),
    type: field("Type", h("select", { id: "f-type" },
      h("option", { value: "public" }, "public: takes webhooks"),
      h("option", { value: "eventing" }, "eventing: publishes events to subscribers"))),
    "opts.title": field("Title", h("input", { id: "f-title", value: o.title || "" })),
    "opts.issync": field("Wait for the process's answer (sync)", h("input", { id: "f-issync", type: "checkbox", checked: ch ? o.issync : true }),
      "Callers wait up to WEBHOOK_MAX_WAIT_S; otherwise they get 200 at once (async)."),
    url: field("External system URL", h("input", { id: "f-url", value: ch?.url || "", inputmode: "url" }),
      "Destination of outbound callbacks; must pass CALLBACK_ALLOWED_HOSTS."),
    token_remote: field("Main outbound token", h("input", { id: "f-token-remote", value: ch?.token_remote || "", autocomplete: "off" }),
      "Signs events sent to an http process (Standard Webhooks)."),
    token_remote2: field("Secondary outbound token", h("input", { id: "f-token-remote2", value: ch?.token_remote2 || "", autocomplete: "off" })),
    recv_svcscriptcode: field("Process", h("input", { id: "f-process", value: ch?.recv_svcscriptcode || "" }),
      "An http(s):// URL the event is POSTed to, or corezoid:{conv_id}; empty for none."),
    "opts.corezoid_login": field("Corezoid login", h("input", { id: "f-login", value: o.corezoid_login || "" }),
      "The API_KEYS login that signs tasks of a corezoid: process."),
    recv_svcscriptcode_ws: field("WebSocket message process", h("input", { id: "f-process-ws", value: ch?.recv_svcscriptcode_ws || "" }),
      "An http(s):// URL each inbound WebSocket message goes to; empty for none."),
    "opts.eventing_channel": field("Traffic events to", h("select", { id: "f-eventing" },
      h("option", { value: "" }, "none"),
      eventing.filter((e) => e.id !== ch?.id).map((e) => h("option", { value: e.id }, `${e.code}${e.opts?.title ? ` (${e.opts.title})` : ""}`)))),
    "opts.cors_origins": field("Allowed origins (CORS)", h("textarea", { id: "f-cors", rows: 3 }),
      "One per line: https://shop.example, or * for any."),
    "opts.comment": field("Comment", h("textarea", { id: "f-comment", rows: 3 })),
  };
  F.type.input.value = ch?.type || "public";
  F["opts.eventing_channel"].input.value = o.eventing_channel || "";
  F["opts.cors_origins"].input.value = (o.cors_origins || []).join("\n");
  F["opts.comment"].input.value = o.comment || "";

  const formError = h("div", { "aria-live": "assertive" });
  const save = h("button.primary", { type: "submit" }, id ? "Save changes" : "Create channel");
  const values = () => ({
    code: F.code.input.value.trim(),
    type: F.type.input.value,
    url: F.url.input.value.trim(),
    token_remote: F.token_remote.input.value,
    token_remote2: F.token_remote2.input.value,
    recv_svcscriptcode: F.recv_svcscriptcode.input.value.trim(),
    recv_svcscriptcode_ws: F.recv_svcscriptcode_ws.input.value.trim(),
    opts: {
      title: F["opts.title"].input.value,
      issync: F["opts.issync"].input.checked,
      corezoid_login: F["opts.corezoid_login"].input.value.trim(),
      eventing_channel: F["opts.eventing_channel"].input.value,
      cors_origins: lines(F["opts.cors_origins"].input.value),
      comment: F["opts.comment"].input.value,
    },
  });
  const onSubmit = async (e) => {
    e.preventDefault();
    for (const f of Object.values(F)) setFieldError(f, "");
    formError.replaceChildren();
    const v = values();
    if (!v.code) {
      setFieldError(F.code, "A code is required.");
      F.code.input.focus();
      return;
    }
    save.disabled = true;
    try {
      const saved = id ? await api("PATCH", encodeURIComponent(id), { body: v }) : await api("POST", "", { body: v });
      announce(id ? `Channel ${saved.code} saved.` : `Channel ${saved.code} created.`);
      if (id) render({ id }, ctx);
      else location.hash = `#/channels/${encodeURIComponent(saved.id)}`;
    } catch (err) {
      save.disabled = false;
      // The form keeps its values; the API's words go beside their field.
      const key = err instanceof ApiError ? fieldOf(err.message) : null;
      const target = key && (F[key] || F[key.replace(/^opts\.callback.*/, "url")]);
      if (target) {
        setFieldError(target, err.message);
        target.input.focus();
      } else {
        formError.replaceChildren(errorBox(err, () => form.requestSubmit()));
      }
    }
  };

  const origin = info?.public_url || location.origin;
  const urls = ch && channelUrls(ch, origin);
  const form = h("form", { novalidate: true, onsubmit: onSubmit, id: "channel-form" },
    h("fieldset", h("legend", "Main"), F.code.wrap, F.type.wrap, F["opts.title"].wrap, F["opts.issync"].wrap),
    urls && h("fieldset", h("legend", "Token and URLs"),
      h("p.hint", "Generated, read-only. The token forms the channel's URLs: treat them as secrets.",
        info && !info.public_url ? " PUBLIC_URL is not set: they use this page's origin." : ""),
      urls.map(([label, value, key]) => {
        const inputId = `url-${key}`;
        return h("div.url-row", h("label", { for: inputId }, label),
          h("input", { id: inputId, readonly: true, value }), copyButton(value, label));
      })),
    h("fieldset", h("legend", "External system"), F.url.wrap, F.token_remote.wrap, F.token_remote2.wrap),
    h("fieldset", h("legend", "Process"), F.recv_svcscriptcode.wrap, F["opts.corezoid_login"].wrap,
      F.recv_svcscriptcode_ws.wrap, F["opts.eventing_channel"].wrap),
    h("fieldset", h("legend", "CORS"), F["opts.cors_origins"].wrap),
    h("fieldset", h("legend", "Comment"), F["opts.comment"].wrap),
    formError,
    h("div.actions", save,
      id && h("button.danger", { type: "button", onclick: () => confirmDelete(ch) }, "Delete channel…"),
      h("a", { href: "#/channels" }, "Back to channels")),
  );
  screen(ch ? `Channel ${ch.code}` : "New channel",
    ch && channelTabs(ch.id, "", ch),
    ch && h("p.muted", `Created ${fmtTime(ch.ext?.ct)} · changed ${fmtTime(ch.ext?.lwt)} · id ${ch.id}`),
    form);
}

/** The URLs a channel's token forms (from the gateway's public origin), for copy buttons. */
export function channelUrls(ch, origin) {
  const ws = origin.replace(/^http/, "ws");
  const t = ch.token_local;
  const out = [];
  if (ch.type === "eventing") {
    out.push(["Token", t, "token"]);
    out.push(["WebSocket subscribe URL", `${ws}/ws/token/v1/${t}/subscribe`, "subscribe-ws"]);
    out.push(["Webhook subscriptions URL", `${origin}/api/token/v1/${t}/subscribe`, "subscribe"]);
  } else {
    out.push(["Token", t, "token"]);
    out.push(["Webhook URL", `${origin}/api/token/v1/${t}`, "webhook"]);
    out.push(["Bpium web request URL", `${origin}/api/webrequest/${encodeURIComponent(ch.code)}`, "bpium"]);
    out.push(["WebSocket URL", `${ws}/ws/token/v1/${t}`, "ws"]);
  }
  return out;
}

function confirmDelete(ch) {
  const err = h("div");
  const dialog = h("dialog", { "aria-labelledby": "del-title" },
    h("h2", { id: "del-title" }, `Delete channel ${ch.code}?`),
    h("p", `The channel "${ch.code}" and its request log are deleted. Its URLs stop working. This cannot be undone.`),
    err,
    h("form", { method: "dialog", class: "actions" },
      h("button.danger", { type: "button", onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api("DELETE", encodeURIComponent(ch.id));
          dialog.close();
          dialog.remove();
          announce(`Channel ${ch.code} deleted.`);
          location.hash = "#/channels";
        } catch (x) {
          e.target.disabled = false;
          err.replaceChildren(errorBox(x));
        }
      } }, `Delete ${ch.code}`),
      h("button", { value: "cancel", autofocus: true }, "Cancel")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
