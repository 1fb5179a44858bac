// Superusers: the `_superusers` collection's records API (list, create, change password, delete).
// The last superuser cannot be deleted here (nobody could sign in to the console afterwards), and
// deleting or re-keying yourself asks once more and says what happens to this session.

import {api, ApiError, session, signIn, signOut} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const R = "/api/collections/_superusers/records";

async function allSuperusers() {
  const items = [];
  for (let page = 1; ; page++) {
    const out = await api("GET", R, {query: {page, perPage: 200, sort: "email"}});
    items.push(...out.items);
    if (page >= out.totalPages || !out.items.length) return items;
  }
}

/** Show the server's message and its field errors beside the controls named in ``controls``. */
function showError(err, box, controls) {
  if (!(err instanceof ApiError)) throw err;
  mount(box, notice(err.message));
  for (const [k, e] of Object.entries(err.data)) if (controls[k]) setError(controls[k], e.message);
}

export async function render(main) {
  const people = await allSuperusers();
  const me = ((session.get() || {}).record || {}).id;
  const status = h("div", {id: "superusers-status", "aria-live": "polite"});
  const last = people.length <= 1;

  const rows = people.map((su) => {
    const mine = su.id === me;
    const box = h("div", {class: "row-actions"});
    const idle = () => mount(box,
      h("button", {type: "button", class: "secondary", "aria-label": `Change password of ${su.email}`,
        onclick: changePassword}, "Change password"),
      h("button", {type: "button", class: "danger", disabled: last, "aria-label": `Delete ${su.email}`,
        title: last ? "The last superuser cannot be deleted." : "", onclick: askDelete}, "Delete"));

    function changePassword() {
      const pw = h("input", {type: "password", autocomplete: "new-password"});
      const again = h("input", {type: "password", autocomplete: "new-password"});
      const out = h("div", {});
      const form = h("form", {class: "inline-form", novalidate: true},
        labelled(`New password for ${su.email}`, pw), labelled(`New password again for ${su.email}`, again),
        mine ? notice("This is you: the console signs you in again with the new password.", "warning") : null,
        h("div", {class: "actions"}, h("button", {type: "submit"}, "Set password"),
          h("button", {type: "button", class: "secondary", onclick: idle}, "Cancel")), out);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        setError(pw, "");
        setError(again, "");
        mount(out);
        try {
          await api("PATCH", `${R}/${encodeURIComponent(su.id)}`,
                    {body: {password: pw.value, passwordConfirm: again.value}});
          if (mine) await signIn(su.email, pw.value); // the old token died with the old password
          await render(main);
          mount(document.getElementById("superusers-status"), notice(`Password of ${su.email} changed.`, "ok"));
        } catch (err) {
          showError(err, out, {password: pw, passwordConfirm: again});
        }
      });
      mount(box, form);
      pw.focus();
    }

    function askDelete() {
      const out = h("div", {});
      mount(box, notice(mine
        ? `Delete your own account ${su.email}? You will be signed out at once.`
        : `Delete superuser ${su.email}? This cannot be undone.`, "warning"),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "danger", "aria-label": `Yes, delete ${su.email}`, onclick: async () => {
          try {
            await api("DELETE", `${R}/${encodeURIComponent(su.id)}`);
            if (mine) { signOut(); location.hash = "#/login"; return; }
            await render(main);
            mount(document.getElementById("superusers-status"), notice(`Superuser ${su.email} deleted.`, "ok"));
          } catch (err) {
            showError(err, out, {});
          }
        }}, "Yes, delete"),
        h("button", {type: "button", class: "secondary", onclick: idle}, "Cancel")), out);
      box.querySelector("button.danger").focus();
    }

    idle();
    return h("tr", {"data-superuser": su.id},
      h("td", {}, su.email, mine ? h("span", {class: "badge"}, "you") : null),
      h("td", {}, su.created), h("td", {}, box));
  });

  // -- a new superuser --------------------------------------------------------------------------
  const email = h("input", {type: "email", id: "new-superuser-email", autocomplete: "off"});
  const password = h("input", {type: "password", id: "new-superuser-password", autocomplete: "new-password"});
  const confirm = h("input", {type: "password", id: "new-superuser-confirm", autocomplete: "new-password"});
  const out = h("div", {});
  const form = h("form", {id: "new-superuser", class: "panel", novalidate: true}, h("h2", {}, "New superuser"),
    h("div", {class: "grid"}, labelled("New superuser email", email), labelled("New superuser password", password),
      labelled("New superuser password again", confirm)),
    h("div", {class: "actions"}, h("button", {type: "submit", id: "create-superuser"}, "Create superuser")), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const c of [email, password, confirm]) setError(c, "");
    mount(out);
    try {
      await api("POST", R, {body: {email: email.value, password: password.value, passwordConfirm: confirm.value}});
      const made = email.value;
      await render(main);
      mount(document.getElementById("superusers-status"), notice(`Superuser ${made} created.`, "ok"));
    } catch (err) {
      showError(err, out, {email, password, passwordConfirm: confirm});
    }
  });

  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, "Superusers")),
    h("p", {class: "hint"}, "Superusers can do everything, in the console and through the API."),
    status,
    h("table", {id: "superuser-list"}, h("caption", {}, `${people.length} superuser(s)`),
      h("thead", {}, h("tr", {}, ["Email", "Created", "Actions"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
    last ? h("p", {class: "hint", id: "last-superuser"}, "The only superuser cannot be deleted: create another first.")
      : null,
    form));
  email.focus();
}
