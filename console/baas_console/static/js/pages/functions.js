// Callable functions: the functions of the project's functions/ package (GET /api/functions) and
// a try-it form that calls one with a JSON body as the signed-in superuser
// (POST /api/functions/{name}) and shows the answer or the error, as text.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

function ruleText(rule) {
  if (rule === null) return "superusers only";
  if (rule === "") return "anyone";
  return rule;
}

export async function render(main) {
  const fns = await api("GET", "/api/functions");
  if (!fns.length) {
    mount(main, h("h1", {}, "Functions"),
      h("p", {class: "hint", id: "no-functions"}, "No functions declared (functions: in baas.yaml)."));
    return;
  }
  const pick = h("select", {id: "function-name"}, fns.map((f) => h("option", {value: f.name}, f.name)));
  const body = h("textarea", {id: "function-body", rows: 8, spellcheck: "false"}, "{}");
  const answer = h("pre", {id: "function-answer", "aria-live": "polite"});
  const form = h("form", {id: "function-try", novalidate: true},
    h("h2", {}, "Try it"),
    labelled("Function", pick),
    labelled("JSON body", body, "A JSON object, sent as the request body."),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Call")),
    answer);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setError(body, "");
    mount(answer);
    let payload;
    try {
      payload = JSON.parse(body.value || "{}");
    } catch (err) {
      setError(body, `Not valid JSON: ${err.message}`);
      return;
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      setError(body, "The body must be a JSON object.");
      return;
    }
    try {
      const out = await api("POST", `/api/functions/${encodeURIComponent(pick.value)}`, {body: payload});
      answer.className = "ok";
      answer.textContent = JSON.stringify(out, null, 2);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      answer.className = "error";
      answer.textContent = `${err.status}: ${err.message}` +
        (Object.keys(err.data).length ? "\n" + JSON.stringify(err.data, null, 2) : "");
    }
  });

  mount(main,
    h("h1", {}, "Functions"),
    h("table", {id: "functions-table", "aria-label": "Functions"},
      h("thead", {}, h("tr", {}, ["name", "who may call", "timeout", "max. concurrent", "description"]
        .map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, fns.map((f) => h("tr", {"data-function": f.name},
        h("th", {scope: "row"}, f.name), h("td", {}, ruleText(f.rule)), h("td", {}, `${f.timeout}s`),
        h("td", {}, String(f.maxConcurrency)), h("td", {}, f.description || ""))))),
    form);
}
