// DOM building without HTML parsing: every piece of text becomes a Text node, so user data
// (record values, field and collection names, server messages) can never become markup.
// innerHTML/outerHTML/insertAdjacentHTML are not used anywhere in the console.

const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href"]);

/** A URL the console itself built: an in-app route, a same-origin API path or a blob preview. */
export function safeUrl(url) {
  const s = String(url);
  if (s.startsWith("#/") || (s.startsWith("/") && !s.startsWith("//")) || s.startsWith("blob:")) return s;
  throw new Error("refused URL: " + s.slice(0, 40));
}

/** h("button", {type: "button", onclick: fn}, "Save") -> an element; children: nodes, text, arrays. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (/html/i.test(key)) throw new Error("markup properties are not allowed: " + key);
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") el[key] = value;
    else if (URL_ATTRS.has(key)) el.setAttribute(key, safeUrl(value));
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace ``el``'s content. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** A fresh id for label/control pairs. */
export function nextId(prefix = "c") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled control: <div class=row><label for>…</label>control<p class=error></p></div>. */
export function labelled(text, control, hint) {
  if (!control.id) control.id = nextId();
  const error = h("p", {class: "error", id: control.id + "-error", role: "alert"});
  control.setAttribute("aria-describedby", error.id);
  return h("div", {class: "row"}, h("label", {for: control.id}, text), control,
           hint ? h("p", {class: "hint"}, hint) : null, error);
}

/** Show ``message`` in the error line of ``control`` (made by `labelled`). */
export function setError(control, message) {
  const line = document.getElementById(control.id + "-error");
  if (line) line.textContent = message || "";
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

/** A status line for a page-level error or notice. */
export function notice(text, kind = "error") {
  return h("p", {class: `notice ${kind}`, role: kind === "error" ? "alert" : "status"}, text);
}
