// Rule inputs: checked against the server as you type (POST /api/collections/rules/check, the
// same compiler saving uses) and completed from the draft's fields and @request.* paths.
// The suggestion list is plain buttons: Tab/arrow keys reach them, Enter or a click inserts.

import {api, ApiError} from "./api.js";
import {h, mount, setError} from "./dom.js";

const REQUEST = ["@request.auth.id", "@request.auth.collectionName", "@request.auth.email", "@request.auth.verified",
  "@request.body.", "@request.query.", "@request.headers.", "@request.method", "@request.context", "@collection."];
const MACROS = ["@now", "@todayStart", "@todayEnd", "@monthStart", "@monthEnd", "@yearStart", "@yearEnd",
  "@second", "@minute", "@hour", "@weekday", "@day", "@month", "@year"];
const MODIFIERS = [":isset", ":changed", ":length", ":each", ":lower"];
const WORD = /[A-Za-z_@#][\w.:@#]*$/;
const MAX_SHOWN = 8;

/** Every name a rule of ``draft`` may start with: its fields, one relation hop, @request.*, macros. */
export function vocabulary(draft, collections) {
  const byKey = new Map();
  for (const c of collections) { byKey.set(c.id, c); byKey.set(c.name, c); }
  const fields = (draft.fields || []).filter((f) => f.name);
  const names = ["id", ...(draft.type === "auth" ? ["email", "verified", "emailVisibility"] : []),
    ...fields.map((f) => f.name)];
  for (const f of fields) {
    const target = f.type === "relation" ? (f.collectionId === draft.name ? draft : byKey.get(f.collectionId)) : null;
    if (target) names.push(...(target.fields || []).filter((t) => t.name && !t.hidden).map((t) => `${f.name}.${t.name}`));
  }
  names.push(...fields.map((f) => `@request.body.${f.name}`), ...REQUEST, ...MACROS,
    ...collections.filter((c) => !c.system).map((c) => `@collection.${c.name}.`));
  return [...new Set(names)];
}

/** The completions for the word before the caret of ``text``. */
export function complete(text, caret, words) {
  const m = WORD.exec(text.slice(0, caret));
  if (!m) return {start: caret, items: []};
  const word = m[0];
  let items;
  if (word.includes(":")) {
    const [head] = word.split(":");
    items = MODIFIERS.map((mod) => head + mod).filter((w) => w.startsWith(word));
  } else {
    items = words.filter((w) => w.startsWith(word) && w !== word);
  }
  return {start: caret - word.length, items: items.slice(0, MAX_SHOWN)};
}

/**
 * Make ``textarea`` a checked, completed rule input. ``draft()`` is the collection as edited
 * now (the check uses it, so unsaved fields resolve); ``collections`` the applied ones.
 * Returns the suggestion list element, to be placed right after the textarea's row.
 */
export function ruleInput(textarea, draft, collections) {
  const list = h("div", {class: "suggestions", role: "group", "aria-label": `Completions for ${textarea.name}`});
  let timer = 0;
  let seq = 0;

  const check = async () => {
    const mine = ++seq;
    if (textarea.disabled) { setError(textarea, ""); return; }
    let out;
    try {
      out = await api("POST", "/api/collections/rules/check", {body: {collection: draft(), rule: textarea.value}});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // The draft itself is not valid yet (a bad field name …): the form's own review says so.
      out = {ok: true};
    }
    if (mine !== seq) return; // an older answer after a newer question
    textarea.dataset.checked = out.ok ? "ok" : "error";
    setError(textarea, out.ok ? "" : out.position === null || out.position === undefined ? out.message
      : `${out.message} (at character ${out.position + 1})`);
  };

  const insert = (start, word) => {
    const caret = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, start) + word + textarea.value.slice(caret);
    textarea.focus();
    textarea.setSelectionRange(start + word.length, start + word.length);
    textarea.dispatchEvent(new Event("input", {bubbles: true}));
  };

  const suggest = () => {
    const {start, items} = complete(textarea.value, textarea.selectionStart, vocabulary(draft(), collections));
    mount(list, items.map((w) => h("button", {type: "button", class: "suggestion", onclick: () => insert(start, w)}, w)));
  };

  textarea.addEventListener("input", () => {
    suggest();
    clearTimeout(timer);
    timer = setTimeout(check, 250); // one request per pause in typing, not per key
  });
  textarea.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && list.firstChild) { ev.preventDefault(); list.firstChild.focus(); }
    if (ev.key === "Escape") mount(list);
  });
  list.addEventListener("keydown", (ev) => {
    const items = [...list.children];
    const i = items.indexOf(document.activeElement);
    if (ev.key === "ArrowDown" && i < items.length - 1) { ev.preventDefault(); items[i + 1].focus(); }
    if (ev.key === "ArrowUp") { ev.preventDefault(); (i > 0 ? items[i - 1] : textarea).focus(); }
    if (ev.key === "Escape") { mount(list); textarea.focus(); }
  });
  textarea.addEventListener("blur", () => { clearTimeout(timer); check(); });
  // After the caller's render has finished (the draft it reads may not exist yet).
  if (textarea.value) setTimeout(check, 0);
  return list;
}
