// Import collections from a PocketBase export (its "Export collections" JSON), pasted or loaded
// from a file. The planner's diff (POST /api/collections/import/plan) comes first; applying is
// PUT /api/collections/import, as PocketBase's SDK sends it. Dropping collections missing from
// the file (deleteMissing) or anything else that loses data needs an explicit tick.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice} from "../dom.js";

/** The collections of a pasted export: PocketBase's array, or {"collections": [...]}. */
function parse(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`Not valid JSON: ${err.message}`);
  }
  const list = Array.isArray(data) ? data : data && Array.isArray(data.collections) ? data.collections : null;
  if (!list || !list.length) throw new Error("Expected a JSON array of collections (PocketBase's export).");
  return list;
}

export async function render(main) {
  const text = h("textarea", {name: "import-json", rows: "14", spellcheck: "false",
                              placeholder: '[{"name": "posts", "type": "base", "fields": [...]}]'});
  const file = h("input", {type: "file", name: "import-file", accept: "application/json,.json"});
  const deleteMissing = h("input", {type: "checkbox", id: "delete-missing"});
  const message = h("div", {id: "import-message"});
  const planBox = h("section", {id: "import-plan", "aria-live": "polite"});
  const clearPlan = () => mount(planBox);
  text.addEventListener("input", clearPlan);
  deleteMissing.addEventListener("change", clearPlan);
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    text.value = await chosen.text();
    clearPlan();
  });

  const fail = (err) => {
    if (err instanceof ApiError) {
      mount(message, notice(err.message));
      for (const [key, e] of Object.entries(err.data || {})) {
        message.append(notice(`${key}: ${e && e.message ? e.message : JSON.stringify(e)}`));
      }
      return;
    }
    mount(message, notice(String(err.message || err)));
  };

  const review = async () => {
    mount(message);
    clearPlan();
    let collections;
    let plan;
    try {
      collections = parse(text.value);
      plan = await api("POST", "/api/collections/import/plan",
        {body: {collections, deleteMissing: deleteMissing.checked}});
    } catch (err) { fail(err); return; }
    // Dropping a collection is data loss even when it is empty now: a tick, as for destructive steps.
    const risky = plan.destructive || plan.changes.some((c) => c.action === "drop");
    const consent = h("input", {type: "checkbox", id: "accept-import-loss"});
    const go = h("button", {type: "button", id: "apply-import", disabled: risky || undefined}, "Apply import");
    consent.addEventListener("change", () => { go.disabled = !consent.checked; });
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        await api("PUT", "/api/collections/import",
          {body: {collections, deleteMissing: deleteMissing.checked, acceptDataLoss: risky && consent.checked}});
      } catch (err) { go.disabled = false; fail(err); return; }
      mount(planBox, notice(`Imported ${collections.length} collection(s).`, "info"),
        h("a", {href: "#/collections", id: "imported-collections"}, "Back to the collections"));
    });
    mount(planBox, h("h2", {}, "Planned changes"),
      plan.changes.length ? h("ul", {class: "plan"}, plan.changes.map((c) =>
        h("li", {class: c.destructive || c.action === "drop" ? "destructive" : ""}, c.text))) : h("p", {}, "No changes."),
      risky ? [notice("This import drops collections or data that cannot be recovered."),
        h("div", {class: "row check"}, consent, h("label", {for: consent.id}, "I accept the data loss"))] : null,
      go);
    risky ? consent.focus() : go.focus();
  };

  mount(main, h("section", {id: "import"},
    h("h1", {}, "Import collections"),
    h("p", {class: "hint"}, "Paste the JSON of PocketBase's Settings → Export collections, or load the file. " +
      "PocketBase's internal collections (_otps, _mfas, _authOrigins, _externalAuths) are skipped."),
    labelled("Collections JSON", text),
    labelled("Or load a JSON file", file),
    h("div", {class: "row check"}, deleteMissing,
      h("label", {for: deleteMissing.id}, "Delete the collections (and their records) that the import does not list")),
    message,
    h("div", {class: "actions"}, h("button", {type: "button", id: "review-import", onclick: review}, "Review import")),
    planBox));
  text.focus();
}
