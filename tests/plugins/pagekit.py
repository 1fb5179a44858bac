"""A plugin console page module shared by the API and browser tests of plugin pages."""

# Lists the ``notes`` records through the public API with the console's own helpers.
PAGE_JS = """import {h, mount} from "/_/js/dom.js";
import {api} from "/_/js/api.js";

export async function render(main) {
  const page = await api("GET", "/api/collections/notes/records", {query: {perPage: 50, sort: "created"}});
  mount(main, h("section", {id: "notes-board"}, h("h1", {}, "Notes board"),
    h("ul", {}, ...page.items.map((n) => h("li", {}, n.message)))));
}
"""
