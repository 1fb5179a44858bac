// The applied schema as baas.yaml (GET /api/schema/export, the text `baas schema export`
// writes): shown as text and offered as a download made in the page (a blob: URL, so the
// token never goes into a link).

import {api} from "../api.js";
import {h, mount} from "../dom.js";

let lastUrl = "";

export async function render(main) {
  const text = await api("GET", "/api/schema/export");
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = URL.createObjectURL(new Blob([text], {type: "application/yaml"}));
  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, "Export schema"),
      h("a", {class: "button", id: "download-schema", href: lastUrl, download: "baas.yaml"}, "Download baas.yaml")),
    h("p", {class: "hint"}, "The collections as applied now, as `baas schema export` writes them. Keep the file in " +
      "version control and apply it elsewhere with `baas schema apply`."),
    h("pre", {id: "schema-yaml", tabindex: "0", "aria-label": "baas.yaml"}, text)));
  main.querySelector("#download-schema").focus();
}
