// Collections: list and search; each links to its records and its editor; new and import.

import {allCollections} from "../api.js";
import {h, labelled, mount} from "../dom.js";

export async function render(main) {
  const items = await allCollections();
  const search = h("input", {type: "search", name: "search", placeholder: "name or type"});
  const list = h("ul", {class: "collections", id: "collection-list"});
  const show = () => {
    const term = search.value.trim().toLowerCase();
    mount(list, items
      .filter((c) => !term || c.name.toLowerCase().includes(term) || c.type.includes(term))
      .map((c) => h("li", {"data-collection": c.name},
        h("a", {href: `#/collections/${encodeURIComponent(c.name)}/records`}, c.name),
        h("span", {class: "badge"}, c.type),
        c.system ? h("span", {class: "badge"}, "system") : null,
        h("a", {class: "edit", href: `#/collections/${encodeURIComponent(c.name)}/edit`,
                "aria-label": `Edit collection ${c.name}`}, "Edit"))));
  };
  search.addEventListener("input", show);
  show();
  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, "Collections"),
      h("div", {class: "actions"},
        h("a", {class: "button secondary", href: "#/collections/import", id: "import-collections"},
          "Import from PocketBase"),
        h("a", {class: "button", href: "#/collections/new", id: "new-collection"}, "New collection"))),
    labelled("Search collections", search), list));
}
