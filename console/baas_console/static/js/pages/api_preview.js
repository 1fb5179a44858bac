// API preview for one collection: ready-to-run snippets for list, view, create, update, delete
// and realtime in curl, JavaScript (the PocketBase JS SDK) and Python (httpx), built from the
// collection's real fields and this server's URL, and its rules said in words.

import {allCollections, api} from "../api.js";
import {h, mount} from "../dom.js";
import {copyButton} from "../widgets.js";

const ACTIONS = ["auth", "list", "view", "create", "update", "delete", "realtime"];
// The rule each action is checked against ("realtime" events follow the list/view rules).
const ACTION_RULE = {list: "listRule", view: "viewRule", create: "createRule", update: "updateRule",
                     delete: "deleteRule", realtime: "listRule"};
const CRUD_RULES = ["listRule", "viewRule", "createRule", "updateRule", "deleteRule"];

/** Whether only superusers may use ``coll`` (every record rule locked). */
export function superusersOnly(coll) {
  return CRUD_RULES.every((k) => coll[k] === null || coll[k] === undefined);
}

/** The collection whose sign-in the examples use: _superusers when the rules lock everyone else out,
 * else ``coll`` itself when it is an auth collection, else ``authName`` (e.g. "users"). */
export function signInCollection(coll, authName) {
  if (superusersOnly(coll)) return "_superusers";
  if (coll.type === "auth") return coll.name;
  return authName || "_superusers";
}
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

/** Every snippet for ``coll`` on the server at ``origin``: {action: {lang: text}}; ``authName`` is an
 * auth collection whose records may sign in (the examples use it unless only superusers are allowed). */
export function snippets(coll, origin, authName = "") {
  const name = coll.name;
  const who = signInCollection(coll, authName);
  const signUrl = (c) => `${origin}/api/collections/${encodeURIComponent(c)}/auth-with-password`;
  const creds = (c) => (c === "_superusers" ? ["SUPERUSER_EMAIL", "SUPERUSER_PASSWORD"] : ["EMAIL", "PASSWORD"]);
  const curlSign = (c) => `TOKEN=$(curl -sS -X POST ${sq(signUrl(c))} \\\n  -H 'Content-Type: application/json' \\\n` +
    `  -d ${sq(JSON.stringify({identity: creds(c)[0], password: creds(c)[1]}))} | jq -r .token)`;
  const others = [...new Set(["_superusers", who])].filter((c) => c !== who);
  // A guest may call an action whose rule is "" (anyone): no token then.
  const needsAuth = (action) => coll[ACTION_RULE[action]] !== "";
  // An action locked to superusers signs in as one even when other actions accept ``who``'s records.
  const whoFor = (action) => (coll[ACTION_RULE[action]] === null ? "_superusers" : who);
  const pbFor = (action) => `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
    (needsAuth(action) ? `await pb.collection(${JSON.stringify(whoFor(action))}).authWithPassword(` +
      `${JSON.stringify(creds(whoFor(action))[0])}, ${JSON.stringify(creds(whoFor(action))[1])}); // see "auth"\n` : "");
  const base = `${origin}/api/collections/${encodeURIComponent(name)}/records`;
  const body = exampleBody(coll);
  const firstKey = Object.keys(body).find((k) => !["password", "passwordConfirm", "email"].includes(k));
  const patch = firstKey ? {[firstKey]: body[firstKey]} : {};
  const json = JSON.stringify(body, null, 2);
  const jsonPatch = JSON.stringify(patch);
  const textField = coll.fields.find((f) => ["text", "email", "url"].includes(f.type) && f.name !== "id");
  const filter = textField ? `${textField.name} ~ "example"` : `id != ""`;
  const authHeader = '-H "Authorization: $TOKEN"';
  const hdr = (action) => (needsAuth(action) ? ` ${authHeader}` : "");
  const sorted = coll.fields.some((f) => f.name === "created"); // only a collection with the field sorts by it
  const sortCurl = sorted ? " --data-urlencode 'sort=-created'" : "";
  const sortJs = sorted ? '\n  sort: "-created",' : "";
  const sortPy = sorted ? ', "sort": "-created"' : "";
  const out = {};
  out.auth = {
    curl: `# Sign in once; the other curl examples send $TOKEN.\n` +
          (who === "_superusers" ? "# As a superuser (jq picks the token out of the answer):\n"
            : `# As a record of ${who} (what the rules allow; jq picks the token out of the answer):\n`) +
          `${curlSign(who)}\n` +
          others.map((c) => `# or as a superuser (every rule is skipped):\n# ${curlSign(c).replace(/\n/g, "\n# ")}\n`).join("") +
          `# An API key works too: TOKEN=<the key>`,
    js: `import PocketBase from "pocketbase";\n\nconst pb = new PocketBase(${JSON.stringify(origin)});\n` +
        `await pb.collection(${JSON.stringify(who)}).authWithPassword(` +
        `${JSON.stringify(creds(who)[0])}, ${JSON.stringify(creds(who)[1])});\n` +
        others.map((c) => `// or as a superuser: await pb.collection(${JSON.stringify(c)}).authWithPassword(` +
          `${JSON.stringify(creds(c)[0])}, ${JSON.stringify(creds(c)[1])});\n`).join("") +
        `// pb.authStore now holds the token; every later call through pb sends it.\nconsole.log(pb.authStore.token);\n`,
    python: `import httpx\n\nr = httpx.post(\n    ${py(signUrl(who))},\n` +
            `    json={"identity": ${py(creds(who)[0])}, "password": ${py(creds(who)[1])}},\n)\n` +
            `r.raise_for_status()\nprint(r.json()["token"])  # export TOKEN=... for the other examples\n`,
  };
  out.list = {
    curl: `curl -G ${sq(base)}${hdr("list")} \\\n  --data-urlencode 'page=1' --data-urlencode 'perPage=30' \\\n` +
          `  --data-urlencode ${sq(`filter=${filter}`)}${sortCurl}`,
    js: pbFor("list") +
        `const page = await pb.collection(${JSON.stringify(name)}).getList(1, 30, {\n` +
        `  filter: ${JSON.stringify(filter)},${sortJs}\n});\nconsole.log(page.items);\n`,
    python: `import os\n\nimport httpx\n\nclient = httpx.Client(base_url=${py(origin)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r = client.get(${py(`/api/collections/${name}/records`)}, params={"page": 1, "perPage": 30, ` +
            `"filter": ${py(filter)}${sortPy}})\nr.raise_for_status()\nprint(r.json()["items"])\n`,
  };
  out.view = {
    curl: `curl ${sq(`${base}/RECORD_ID`)}${hdr("view")}`,
    js: pbFor("view") +
        `const record = await pb.collection(${JSON.stringify(name)}).getOne("RECORD_ID");\nconsole.log(record);\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.get(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r.raise_for_status()\nprint(r.json())\n`,
  };
  const files = coll.fields.filter((f) => f.type === "file").map((f) => f.name);
  const fileName = (f) => `${f}.png`;
  out.create = {
    curl: files.length
      ? `# Files go as multipart: the other values as JSON in the @jsonPayload part, each file as its own part.\n` +
        `curl -X POST ${sq(base)}${hdr("create")} \\\n  -F ${sq(`@jsonPayload=${json}`)} \\\n` +
        files.map((f) => `  -F ${sq(`${f}=@${fileName(f)}`)}`).join(" \\\n")
      : `curl -X POST ${sq(base)}${hdr("create")} \\\n  -H 'Content-Type: application/json' \\\n  -d ${sq(json)}`,
    js: (files.length ? `import {readFile} from "node:fs/promises";\n` : "") + pbFor("create") +
        (files.length
          ? `// File values (File or Blob) make the SDK send multipart/form-data.\n` +
            `const data = ${json};\n` +
            files.map((f) => `data[${JSON.stringify(f)}] = new File([await readFile(${JSON.stringify(fileName(f))})], ` +
              `${JSON.stringify(fileName(f))});\n`).join("") +
            `const record = await pb.collection(${JSON.stringify(name)}).create(data);\nconsole.log(record.id);\n`
          : `const record = await pb.collection(${JSON.stringify(name)}).create(${json});\nconsole.log(record.id);\n`),
    python: `import os\n\nimport httpx\n\nr = httpx.post(\n    ${py(base)},\n    headers={"Authorization": os.environ["TOKEN"]},\n` +
            `    json=${pyValue(body, "    ")},\n)\nr.raise_for_status()\nprint(r.json()["id"])\n`,
  };
  out.update = {
    curl: `curl -X PATCH ${sq(`${base}/RECORD_ID`)}${hdr("update")} \\\n  -H 'Content-Type: application/json' \\\n  -d ${sq(jsonPatch)}`,
    js: pbFor("update") +
        `const record = await pb.collection(${JSON.stringify(name)}).update("RECORD_ID", ${jsonPatch});\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.patch(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]}, ` +
            `json=${pyValue(patch)})\nr.raise_for_status()\n`,
  };
  out.delete = {
    curl: `curl -X DELETE ${sq(`${base}/RECORD_ID`)}${hdr("delete")}`,
    js: pbFor("delete") +
        `await pb.collection(${JSON.stringify(name)}).delete("RECORD_ID");\n`,
    python: `import os\n\nimport httpx\n\nr = httpx.delete(${py(`${base}/RECORD_ID`)}, headers={"Authorization": os.environ["TOKEN"]})\n` +
            `r.raise_for_status()  # 204\n`,
  };
  out.realtime = {
    curl: `# 1. open the event stream; the first event (PB_CONNECT) carries the clientId\n` +
          `curl -N ${sq(`${origin}/api/realtime`)}\n` +
          `# 2. in another shell, subscribe that client to the collection's changes\n` +
          `curl -X POST ${sq(`${origin}/api/realtime`)}${hdr("realtime")} -H 'Content-Type: application/json' \\\n` +
          `  -d ${sq(JSON.stringify({clientId: "CLIENT_ID", subscriptions: [`${name}/*`]}))}`,
    js: pbFor("realtime") +
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
  const authColl = (await allCollections().catch(() => [])).find((c) => c.type === "auth" && c.name !== "_superusers");
  const all = snippets(coll, origin, authColl ? authColl.name : "");
  const locked = superusersOnly(coll);
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
    h("p", {}, "$TOKEN is the token the \"auth\" example below signs in for (or an API key); RECORD_ID, " +
      "CLIENT_ID and RELATION_RECORD_ID stand for real ids."),
    locked ? h("p", {class: "notice info", id: "superusers-only", role: "status"},
      "Only superusers can use this collection (every rule is locked), so the examples sign in as a superuser.")
      : null,
    files.length ? h("p", {class: "hint", id: "json-payload-hint"}, `File fields (${files.join(", ")}) are sent as ` +
      "multipart/form-data, the other values in @jsonPayload (the SDK does this when a value is a File or Blob). " +
      "@jsonPayload is a form part holding the record's non-file values as one JSON object.") : null,
    h("h2", {}, "Rules"),
    h("ul", {id: "api-rules"}, rules.map((r) => h("li", {"data-rule": r.key}, h("strong", {}, r.key), ": ", r.text,
      r.rule ? h("code", {class: "rule"}, r.rule) : null))),
    tabs, blocks));
}
