// A page a plugin adds (PluginApp.console_page, docs/plugins.md): listed by GET /api/console/pages,
// its ES module imported from /_/plugins/<name>/ and rendered like the console's own pages.

import {api} from "../api.js";
import {h, mount} from "../dom.js";

let listed = null; // a promise of this server's plugin pages, asked once per page load

/** The plugin pages ([{name, title, module}]); [] when the server can't say. */
export function pluginPages() {
  if (!listed) {
    listed = api("GET", "/api/console/pages").then((out) => out.pages, () => { listed = null; return []; });
  }
  return listed;
}

export async function render(main, [name, rest]) {
  const page = (await pluginPages()).find((p) => p.name === name);
  if (!page) {
    mount(main, h("p", {class: "notice error", role: "alert"}, `No console page named "${name}".`));
    return;
  }
  // The URL comes from the server and stays under /_/plugins/ (same origin: the CSP allows it).
  if (!page.module.startsWith("/_/plugins/")) throw new Error("Refused a plugin module outside /_/plugins/.");
  const mod = await import(page.module);
  await mod.render(main, rest ? rest.split("/") : []); // already decoded by the router
}
