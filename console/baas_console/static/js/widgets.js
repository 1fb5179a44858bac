// Record-form widgets that need more than one <input>: rich text (editor fields), a UTC date/time
// input and a JSON text area checked as you type; plus the strict HTML allow-list both the
// editor and every place that shows an editor value use.
//
// Editor HTML is never given to the live document as markup: DOMParser parses it into an inert
// document (no scripts run, no images load there), and only allow-listed elements, with only
// allow-listed attributes, are rebuilt in the console's document with createElement. What is
// saved is serialised from that rebuilt tree, so the API stores only what passed the list.

import {h, nextId, setError} from "./dom.js";

// Elements kept (their content too) and the attributes each may keep.
const ALLOWED = {
  P: [], BR: [], DIV: [], SPAN: [], B: [], STRONG: [], I: [], EM: [], U: [], S: [], STRIKE: [], SUB: [], SUP: [],
  UL: [], OL: [], LI: [], H1: [], H2: [], H3: [], H4: [], H5: [], H6: [], BLOCKQUOTE: [], PRE: [], CODE: [], HR: [],
  A: ["href"],
};
// Elements dropped with everything inside them (their text is not content people wrote).
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "FRAME", "FRAMESET", "OBJECT", "EMBED", "NOSCRIPT",
  "TEXTAREA", "TITLE", "HEAD", "SVG", "MATH", "SELECT", "OPTION", "BUTTON", "INPUT", "FORM", "LINK", "META", "BASE"]);
const VOID = new Set(["BR", "HR"]);

/** A link target editor content may keep: http(s) and mailto only (never javascript:, data: …). */
export function safeHref(value) {
  const s = String(value || "").trim();
  return /^(https?:\/\/|mailto:)/i.test(s) ? s : null;
}

function rebuild(src, dst) {
  for (const n of src.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) { dst.append(document.createTextNode(n.data)); continue; }
    if (n.nodeType !== Node.ELEMENT_NODE) continue; // comments, processing instructions
    const tag = n.tagName.toUpperCase();
    if (DROPPED.has(tag)) continue;
    if (!Object.hasOwn(ALLOWED, tag)) { rebuild(n, dst); continue; } // unknown wrapper: keep its text
    const el = document.createElement(tag.toLowerCase());
    if (tag === "A") {
      const href = safeHref(n.getAttribute("href"));
      if (href) {
        el.setAttribute("href", href); // checked by safeHref above (dom.js's safeUrl is for the console's own URLs)
        el.setAttribute("rel", "noopener noreferrer nofollow");
        el.setAttribute("target", "_blank");
      }
    }
    rebuild(n, el);
    dst.append(el);
  }
  return dst;
}

/** Editor HTML as a fragment of allow-listed nodes, safe to put in the page. */
export function sanitize(html) {
  const doc = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  return rebuild(doc.body, document.createDocumentFragment());
}

/** The allow-listed content of a live node (the editing surface) as a fragment. */
export function sanitizeNode(node) {
  return rebuild(node, document.createDocumentFragment());
}

const escapeText = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escapeAttr = (s) => escapeText(s).replace(/"/g, "&quot;");

/** HTML text of a sanitized node's children (elements and attributes as rebuilt, text escaped). */
export function serialize(node) {
  let out = "";
  for (const n of node.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) { out += escapeText(n.data); continue; }
    if (n.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = n.tagName.toLowerCase();
    const href = tag === "a" && n.getAttribute("href") ? ` href="${escapeAttr(n.getAttribute("href"))}"` : "";
    out += VOID.has(n.tagName) ? `<${tag}>` : `<${tag}${href}>${serialize(n)}</${tag}>`;
  }
  return out;
}

/** Editor HTML reduced to its plain text (for table cells and summaries). */
export function htmlText(html) {
  return (sanitize(html).textContent || "").replace(/\s+/g, " ").trim();
}

/** A read-only rendering of editor HTML (sanitized). */
export function richView(html, props = {}) {
  const view = h("div", {class: "rich-view", ...props});
  view.append(sanitize(html));
  return view;
}

/** Rich text for an editor field: a toolbar and a contenteditable surface; read() gives the
 * sanitized HTML. Pastes and drops go through the same allow-list. */
export function richText(field, value) {
  const surface = h("div", {class: "rich-text", contenteditable: "true", role: "textbox", "aria-multiline": "true",
                            "aria-label": field.name, id: nextId("rich"), "data-name": field.name, tabindex: "0"});
  surface.append(sanitize(value || ""));
  let saved = null; // the selection inside the surface, kept while the toolbar has focus
  let shown = false;
  const keep = () => {
    if (!surface.isConnected) { if (shown) document.removeEventListener("selectionchange", keep); return; }
    shown = true;
    const sel = document.getSelection();
    if (sel && sel.rangeCount && surface.contains(sel.getRangeAt(0).commonAncestorContainer)) saved = sel.getRangeAt(0);
  };
  document.addEventListener("selectionchange", keep);
  const restore = () => {
    surface.focus();
    if (saved) { const sel = document.getSelection(); sel.removeAllRanges(); sel.addRange(saved); }
  };
  const insert = (frag) => {
    restore();
    const sel = document.getSelection();
    if (!sel.rangeCount) { surface.append(frag); return; }
    const range = sel.getRangeAt(0);
    range.deleteContents();
    const last = frag.lastChild;
    range.insertNode(frag);
    if (last) { range.setStartAfter(last); range.collapse(true); sel.removeAllRanges(); sel.addRange(range); }
  };
  surface.addEventListener("paste", (ev) => {
    ev.preventDefault();
    const html = ev.clipboardData.getData("text/html");
    insert(html ? sanitize(html) : document.createTextNode(ev.clipboardData.getData("text/plain")));
  });
  surface.addEventListener("drop", (ev) => ev.preventDefault());
  // execCommand still drives contenteditable in every browser; its output is sanitized on save.
  const cmd = (name, label, arg) => h("button", {type: "button", class: "secondary",
    onmousedown: (ev) => ev.preventDefault(), onclick: () => { restore(); document.execCommand(name, false, arg); keep(); }},
  label);
  const linkUrl = h("input", {type: "url", placeholder: "https://…", "aria-label": "Link URL"});
  const linkError = h("span", {class: "error", role: "alert"});
  const link = h("button", {type: "button", class: "secondary",
    onclick: () => {
      const href = safeHref(linkUrl.value);
      linkError.textContent = href ? "" : "Links must start with http://, https:// or mailto:.";
      if (!href) return;
      restore();
      document.execCommand("createLink", false, href);
      linkUrl.value = "";
    }}, "Link");
  const toolbar = h("div", {class: "rich-toolbar", role: "toolbar", "aria-label": "Formatting"},
    cmd("bold", "Bold"), cmd("italic", "Italic"), cmd("underline", "Underline"),
    cmd("insertUnorderedList", "Bulleted list"), cmd("insertOrderedList", "Numbered list"),
    cmd("formatBlock", "Heading", "h2"), cmd("formatBlock", "Paragraph", "p"), cmd("removeFormat", "Clear formatting"),
    linkUrl, link, linkError);
  return {
    control: surface,
    extra: null,
    before: toolbar,
    read: () => serialize(sanitizeNode(surface)),
  };
}

const DATE_RE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)/;

/** API date text ("2024-01-31 12:00:00.000Z") as a datetime-local value, in UTC. */
export function toLocalInput(value) {
  const m = DATE_RE.exec(String(value || ""));
  return m ? `${m[1]}T${m[2].length === 5 ? m[2] + ":00" : m[2]}` : "";
}

/** A datetime-local value, read as UTC, as the API's date text. */
export function fromLocalInput(value) {
  if (!value) return "";
  const [d, t] = value.split("T");
  return `${d} ${t.length === 5 ? t + ":00" : t.slice(0, 8)}.000Z`;
}

/** A date field: a datetime-local input read as UTC (said beside it) and a Clear button. */
export function dateTime(field, value) {
  const c = h("input", {type: "datetime-local", step: "1", name: field.name, value: toLocalInput(value)});
  const clear = h("button", {type: "button", class: "secondary", onclick: () => { c.value = ""; c.focus(); }}, "Clear date");
  return {control: c, read: () => fromLocalInput(c.value),
          extra: h("span", {class: "hint utc"}, "UTC ", clear)};
}

/** A JSON field: a text area whose text is parsed as you type, the parse error beside it. */
export function jsonArea(field, value) {
  const c = h("textarea", {name: field.name, rows: "5", spellcheck: "false", class: "mono"});
  c.value = value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
  const check = () => {
    if (c.value.trim() === "") { setError(c, ""); return true; }
    try { JSON.parse(c.value); setError(c, ""); return true; } catch (err) {
      setError(c, `Invalid JSON: ${err.message}`);
      return false;
    }
  };
  c.addEventListener("input", check);
  return {control: c, json: true, validate: check,
          read: () => { if (c.value.trim() === "") return null; return JSON.parse(c.value); }};
}

/** A copy button for ``input``'s value (the Clipboard API; selecting the text as a fallback). */
export function copyButton(input, label = "Copy") {
  const status = h("span", {class: "hint", role: "status"});
  const b = h("button", {type: "button", class: "secondary", onclick: async () => {
    input.select();
    try { await navigator.clipboard.writeText(input.value); status.textContent = "Copied."; } catch {
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  }}, label);
  return h("span", {}, b, status);
}

