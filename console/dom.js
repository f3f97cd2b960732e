// A few DOM helpers: the console builds its pages with these instead of a
// framework. h("tag.class", {attr: value, onclick: fn}, ...children).
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A fresh id for label/input pairs. */
export const nextId = (p = "f") => `${p}-${++uid}`;

/** A labelled field: returns {wrap, input, error}. */
export function field(label, input, hint) {
  const id = input.id || (input.id = nextId());
  const err = h("p.field-error", { id: `${id}-err`, hidden: true });
  const describedBy = [`${id}-err`];
  let hintEl = null;
  if (hint) {
    hintEl = h("p.hint", { id: `${id}-hint` }, hint);
    describedBy.push(`${id}-hint`);
  }
  input.setAttribute("aria-describedby", describedBy.join(" "));
  const wrap =
    input.type === "checkbox"
      ? h("div.field.check", input, h("label", { for: id }, label), hintEl, err)
      : h("div.field", h("label", { for: id }, label), input, hintEl, err);
  return { wrap, input, error: err };
}

/** Shows (or clears, with an empty text) an error beside a field. */
export function setFieldError(f, text) {
  f.error.textContent = text || "";
  f.error.hidden = !text;
  if (text) f.input.setAttribute("aria-invalid", "true");
  else f.input.removeAttribute("aria-invalid");
}

/** A button that copies a text, saying so in the page's status line. */
export function copyButton(getText, what) {
  return h(
    "button.small",
    {
      type: "button",
      "aria-label": `Copy ${what}`,
      onclick: async () => {
        const text = typeof getText === "function" ? getText() : getText;
        try {
          await navigator.clipboard.writeText(text);
          announce(`Copied ${what}.`);
        } catch {
          announce(`Could not copy ${what}: select it and copy by hand.`);
        }
      },
    },
    "Copy",
  );
}

/** Says something in the page's polite live region. */
export function announce(text) {
  const s = document.getElementById("status");
  if (!s) return;
  s.textContent = "";
  // A fresh text node, so that screen readers repeat an identical message.
  setTimeout(() => (s.textContent = text), 30);
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(typeof iso === "number" ? iso : iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function pre(value) {
  return h("pre.code", typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

/** A table of [name, value] pairs (headers). */
export function pairs(list) {
  const items = Array.isArray(list) ? list : Object.entries(list || {});
  if (!items.length) return h("p.muted", "none");
  return h(
    "dl.pairs",
    items.map(([k, v]) => [h("dt", k), h("dd", typeof v === "string" ? v : JSON.stringify(v))]),
  );
}
