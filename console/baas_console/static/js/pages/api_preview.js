// API preview for one collection: ready-to-run snippets for list, view, create, update, delete
// and realtime in curl, JavaScript (the PocketBase JS SDK) and Python (httpx), built from the
// collection's real fields and this server's URL, and its rules said in words.

import {api} from "../api.js";
import {h, mount} from "../dom.js";
import {copyButton} from "../widgets.js";

const ACTIONS = ["list", "view", "create", "update", "delete", "realtime"];
const LANGS = [["curl", "curl"], ["js", "JavaScript (SDK)"], ["python", "Python (httpx)"]];

/** An example value a new record would accept for ``field`` (null: leave it out). */
export function example(field) {
  const multi = (field.maxSelect || 1) > 1;
  switch (field.type) {
    case "text": return field.name === "id" ? null : "example";
    case "number": return field.min && field.min > 1 ? field.min : 1;
    case "bool": return true;
    case "email": return "test@example.com";
    case "url": return "https://example.com";
    case "date": return "2024-01-31 12:00:00.000Z";
    case "select": return field.values && field.values.length ? (multi ? [field.values[0]] : field.values[0]) : null;
    case "json": return {"key": "value"};
    case "editor": return "<p>Hello</p>";
    case "relation": return multi ? ["RELATION_RECORD_ID"] : "RELATION_RECORD_ID";
    default: return null; // file (multipart), password (below), autodate (set by the server)
  }
}

/** The example body of a create (update: the same, for the first field only). */
export function exampleBody(coll) {
  const body = {};
  for (const f of coll.fields) {
    if (f.system && f.name !== "email" && f.name !== "emailVisibility") continue;
    if (f.type === "password") continue;
    const v = example(f);
    if (v !== null) body[f.name] = v;
  }
  if (coll.type === "auth") {
    body.email = "test@example.com";
    body.password = "12345678-long-password";
    body.passwordConfirm = "12345678-long-password";
  }
  return body;
}

/** A shell single-quoted word. */
const sq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
/** A Python string literal (JSON's escapes are valid Python). */
const py = (s) => JSON.stringify(String(s));
/** A Python expression for a JSON value. */
function pyValue(v, indent = "") {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return py(v);
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyValue(x, indent)).join(", ")}]`;
  const inner = indent + "    ";
  return `{\n${Object.entries(v).map(([k, x]) => `${inner}${py(k)}: ${pyValue(x, inner)},`).join("\n")}\n${indent}}`;
}

/** Every snippet for ``coll`` on the server at ``origin``: {action: {lang: text}}. */
export function snippets(coll, origin) {
  const name = coll.name;
  const base = `${origin}/api/collections/${encodeURIComponent(name)}/records`;
  const body = exampleBody(coll);
  const firstKey = Object.keys(body).find((k) => !["password", "passwordConfirm", "email"].includes(k));
  const patch = firstKey ? {[firstKey]: body[firstKey]} : {};
  const json = JSON.stringify(body, null, 2);
  const jsonPatch = JSON.stringify(patch);
  const textField = coll.fields.find((f) => ["text", "email", "url"].includes(f.type) && f.name !== "id");
  const filter = textField ? `${textField.name} ~ "example"` : `id != ""`;
  const auth = '-H "Authorization: $TOKEN"';
  const sorted = coll.fields.some((f) => f.name === "created"); // only a collection with the field sorts by it
  const sortCurl = sorted ? " --data-urlencode 'sort=-created'" : "";
  const sortJs = sorted ? '\n  sort: "-created",' : "";
  const sortPy = sorted ? ', "sort": "-created"' : "";
  const out = {};
  out.list = {
    curl: `curl -G ${sq(base)} ${auth} \\\n  --data-urlencode 'page=1' --data-urlencode 'perPage=30' \\\n` +
          `  --data-urlencode ${sq(`filter=${filter}`)}${sortCurl}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `// pb.authStore.save(token) or: await pb.collection("users").authWithPassword(email, password);\n` +
        `const page = await pb.collection(${JSON.stringify(name)}).getList(1, 30, {\n` +
        `  filter: ${JSON.stringify(filter)},${sortJs}\n});\nconsole.log(page.items);\n`,
    python: `import os\n\nimport httpx\n\nclient = httpx.Client(base_url=${py(origin)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r = client.get(${py(`/api/collections/${name}/records`)}, params={"page": 1, "perPage": 30, ` +
            `"filter": ${py(filter)}${sortPy}})\nr.raise_for_status()\nprint(r.json()["items"])\n`,
  };
  out.view = {
    curl: `curl ${sq(`${base}/RECORD_ID`)} ${auth}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `const record = await pb.collection(${JSON.stringify(name)}).getOne("RECORD_ID");\nconsole.log(record);\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.get(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r.raise_for_status()\nprint(r.json())\n`,
  };
  out.create = {
    curl: `curl -X POST ${sq(base)} ${auth} \\\n  -H 'Content-Type: application/json' \\\n  -d ${sq(json)}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `const record = await pb.collection(${JSON.stringify(name)}).create(${json});\nconsole.log(record.id);\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.post(\n    ${py(base)},\n    headers={"Authorization": os.environ["TOKEN"]},\n` +
            `    json=${pyValue(body, "    ")},\n)\nr.raise_for_status()\nprint(r.json()["id"])\n`,
  };
  out.update = {
    curl: `curl -X PATCH ${sq(`${base}/RECORD_ID`)} ${auth} \\\n  -H 'Content-Type: application/json' \\\n  -d ${sq(jsonPatch)}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `const record = await pb.collection(${JSON.stringify(name)}).update("RECORD_ID", ${jsonPatch});\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.patch(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]}, ` +
            `json=${pyValue(patch)})\nr.raise_for_status()\n`,
  };
  out.delete = {
    curl: `curl -X DELETE ${sq(`${base}/RECORD_ID`)} ${auth}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `await pb.collection(${JSON.stringify(name)}).delete("RECORD_ID");\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.delete(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r.raise_for_status()  # 204\n`,
  };
  out.realtime = {
    curl: `# 1. open the event stream; the first event (PB_CONNECT) carries the clientId\n` +
          `curl -N ${sq(`${origin}/api/realtime`)}\n` +
          `# 2. in another shell, subscribe that client to the collection's changes\n` +
          `curl -X POST ${sq(`${origin}/api/realtime`)} ${auth} -H 'Content-Type: application/json' \\\n` +
          `  -d ${sq(JSON.stringify({clientId: "CLIENT_ID", subscriptions: [`${name}/*`]}))}`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `const unsubscribe = await pb.collection(${JSON.stringify(name)}).subscribe("*", (e) => {\n` +
        `  console.log(e.action, e.record.id); // create, update or delete\n});\n// later: await unsubscribe();\n`,
    python: `import json\nimport os\n\nimport httpx\n\nheaders = {"Authorization": os.environ["TOKEN"]}\n` +
            `with httpx.Client(base_url=${py(origin)}, timeout=None) as client:\n` +
            `    with client.stream("GET", "/api/realtime") as stream:\n        event = None\n` +
            `        for line in stream.iter_lines():\n            if line.startswith("event:"):\n` +
            `                event = line[6:].strip()\n            elif line.startswith("data:"):\n` +
            `                data = json.loads(line[5:])\n                if event == "PB_CONNECT":\n` +
            `                    client.post("/api/realtime", headers=headers, json={"clientId": data["clientId"], ` +
            `"subscriptions": [${py(`${name}/*`)}]}).raise_for_status()\n` +
            `                else:\n                    print(data["action"], data["record"]["id"])\n`,
  };
  return out;
}

const RULES = [["listRule", "list and search records"], ["viewRule", "view a record"],
               ["createRule", "create a record"], ["updateRule", "update a record"], ["deleteRule", "delete a record"]];

/** The collection's rules said in words (the rule itself shown as code, as text). */
export function rulesInWords(coll) {
  const rules = coll.type === "auth" ? [...RULES, ["manageRule", "manage other records' auth fields"],
                                        ["authRule", "sign in"]] : RULES;
  return rules.filter(([key]) => key in coll).map(([key, what]) => {
    const rule = coll[key];
    if (rule === null || rule === undefined) {
      return {key, text: `Only superusers can ${what}.`, rule: null};
    }
    if (rule === "") return {key, text: `Anyone can ${what}, guests included.`, rule: ""};
    return {key, text: `Requests can ${what} when this rule holds (superusers always can):`, rule};
  });
}

export async function render(main, [name]) {
  const coll = await api("GET", `/api/collections/${encodeURIComponent(name)}`);
  const origin = location.origin;
  const all = snippets(coll, origin);
  let lang = localStorage.getItem("baas_console_api_lang") || "curl";
  if (!LANGS.some(([k]) => k === lang)) lang = "curl";
  const blocks = h("div", {id: "api-snippets"});
  const draw = () => mount(blocks, ACTIONS.map((action) => {
    const code = all[action][lang];
    const text = h("textarea", {readonly: true, class: "mono snippet", id: `snippet-${lang}-${action}`, rows: String(
      Math.min(18, code.split("\n").length + 1)), spellcheck: "false", "aria-label": `${action} (${lang})`});
    text.value = code;
    return h("section", {class: "snippet", "data-action": action}, h("h2", {}, action), text, copyButton(text));
  }));
  const tabs = h("div", {role: "radiogroup", "aria-label": "Language", class: "bar"}, LANGS.map(([key, label]) => {
    const id = `lang-${key}`;
    const radio = h("input", {type: "radio", name: "api-lang", id, value: key, checked: key === lang,
      onchange: () => { lang = key; localStorage.setItem("baas_console_api_lang", key); draw(); }});
    return h("span", {}, radio, h("label", {for: id}, label));
  }));
  const rules = rulesInWords(coll);
  const files = coll.fields.filter((f) => f.type === "file").map((f) => f.name);
  draw();
  mount(main, h("section", {id: "api-preview"},
    h("div", {class: "bar"}, h("h1", {}, `API preview: ${coll.name}`),
      h("a", {class: "button secondary", href: `#/collections/${encodeURIComponent(name)}/records`}, "Back to records")),
    h("p", {}, "$TOKEN is a token from an auth-with-password request or an API key; RECORD_ID, CLIENT_ID and " +
      "RELATION_RECORD_ID stand for real ids."),
    files.length ? h("p", {class: "hint"}, `File fields (${files.join(", ")}) are sent as multipart/form-data, ` +
      "the other values in @jsonPayload (the SDK does this when a value is a File or Blob).") : null,
    h("h2", {}, "Rules"),
    h("ul", {id: "api-rules"}, rules.map((r) => h("li", {"data-rule": r.key}, h("strong", {}, r.key), ": ", r.text,
      r.rule ? h("code", {class: "rule"}, r.rule) : null))),
    tabs, blocks));
}
