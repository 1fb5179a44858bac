// Backups: PocketBase's /api/backups (list, back up now, upload, download with a file token,
// delete) and the schedule (the `backups` settings: cron, how many scheduled backups to keep; the
// S3 store is in Settings). A restore goes into an empty install from the command line, so this
// page says how rather than offering a button (docs/backups.md).

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

function size(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function shown(err, box, controls = {}) {
  if (!(err instanceof ApiError)) throw err;
  mount(box, notice(err.message));
  for (const [k, e] of Object.entries(err.data)) if (controls[k]) setError(controls[k], e.message);
}

export async function render(main, _params, message = "") {
  const [list, settings] = await Promise.all([api("GET", "/api/backups"), api("GET", "/api/settings")]);
  const conf = settings.backups || {};
  const status = h("div", {id: "backups-status", "aria-live": "polite"}, message ? notice(message, "ok") : null);
  const again = (text) => render(main, _params, text);

  const rows = list.map((b) => {
    const box = h("div", {class: "row-actions"});
    const idle = () => mount(box,
      h("button", {type: "button", class: "secondary", "aria-label": `Download ${b.key}`, onclick: download},
        "Download"),
      h("button", {type: "button", class: "danger", "aria-label": `Delete ${b.key}`, onclick: askDelete}, "Delete"));

    async function download() {
      // A link carries no header: the download is authorised by a short-lived file token.
      const {token} = await api("POST", "/api/files/token");
      const a = h("a", {href: `/api/backups/${encodeURIComponent(b.key)}?token=${encodeURIComponent(token)}`,
        download: b.key});
      document.body.append(a);
      a.click();
      a.remove();
    }

    function askDelete() {
      const out = h("div", {});
      mount(box, notice(`Delete backup ${b.key}? This cannot be undone.`, "warning"),
        h("div", {class: "actions"},
          h("button", {type: "button", class: "danger", "aria-label": `Yes, delete ${b.key}`, onclick: async () => {
            try {
              await api("DELETE", `/api/backups/${encodeURIComponent(b.key)}`);
              await again(`Backup ${b.key} deleted.`);
            } catch (err) {
              shown(err, out);
            }
          }}, "Yes, delete"),
          h("button", {type: "button", class: "secondary", onclick: idle}, "Cancel")), out);
    }

    idle();
    return h("tr", {"data-backup": b.key},
      h("td", {}, b.key, b.key.startsWith("auto_") ? h("span", {class: "badge"}, "scheduled") : null),
      h("td", {}, size(b.size)), h("td", {}, b.modified), h("td", {}, box));
  });

  // -- back up now --------------------------------------------------------------------------------
  const name = h("input", {type: "text", id: "backup-name", placeholder: "baas_backup_<time>.zip", autocomplete: "off"});
  const nowOut = h("div", {});
  const create = h("button", {type: "submit", id: "create-backup"}, "Back up now");
  const nowForm = h("form", {id: "new-backup", class: "panel", novalidate: true}, h("h2", {}, "Back up now"),
    h("p", {class: "hint"}, "The database, the stored files and the install secret, taken while the server " +
      "keeps serving. The answer comes when the backup is complete."),
    labelled("Backup name (optional, ending in .zip)", name), h("div", {class: "actions"}, create), nowOut);
  nowForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setError(name, "");
    mount(nowOut, notice("Backing up…", "info"));
    create.disabled = true;
    try {
      await api("POST", "/api/backups", {body: name.value.trim() ? {name: name.value.trim()} : {}});
      await again("Backup complete.");
    } catch (err) {
      shown(err, nowOut, {name});
      create.disabled = false;
    }
  });

  // -- upload ---------------------------------------------------------------------------------------
  const file = h("input", {type: "file", id: "backup-file", accept: ".zip,application/zip"});
  const upOut = h("div", {});
  const upForm = h("form", {id: "upload-backup", class: "panel", novalidate: true}, h("h2", {}, "Upload a backup"),
    h("p", {class: "hint"}, "A backup made elsewhere: checked whole (every member against its manifest) before " +
      "it is listed."),
    labelled("Backup file", file), h("div", {class: "actions"}, h("button", {type: "submit"}, "Upload")), upOut);
  upForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setError(file, "");
    if (!file.files.length) { setError(file, "Choose a .zip file."); return; }
    const form = new FormData();
    form.append("file", file.files[0]);
    mount(upOut, notice("Uploading…", "info"));
    try {
      await api("POST", "/api/backups/upload", {body: form});
      await again(`Backup ${file.files[0].name} uploaded.`);
    } catch (err) {
      shown(err, upOut, {file});
    }
  });

  // -- schedule -------------------------------------------------------------------------------------
  const cron = h("input", {type: "text", id: "backups-cron", value: conf.cron || "", placeholder: "0 3 * * *"});
  const keep = h("input", {type: "number", id: "backups-keep", min: "1", step: "1", value: String(conf.cronMaxKeep ?? 3)});
  const schedOut = h("div", {});
  const schedForm = h("form", {id: "backup-schedule", class: "panel", novalidate: true}, h("h2", {}, "Schedule"),
    h("p", {class: "hint"}, "Scheduled backups are named auto_baas.backups_<time>.zip; after each one the oldest " +
      "of them past the number to keep are deleted (other backups are never). Empty: no schedule."),
    h("div", {class: "grid"},
      labelled("Cron expression (5 fields, or @daily, @every 6h …; UTC)", cron),
      labelled("Scheduled backups to keep", keep)),
    h("p", {class: "hint", id: "backups-where"}, conf.s3 && conf.s3.enabled
      ? `Backups are kept in the S3 bucket ${conf.s3.bucket} (Settings → Backups).`
      : "Backups are kept in the data dir's backups/ folder (an S3 store can be set in Settings → Backups)."),
    h("div", {class: "actions"}, h("button", {type: "submit", id: "save-schedule"}, "Save schedule")), schedOut);
  schedForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setError(cron, "");
    setError(keep, "");
    mount(schedOut);
    try {
      await api("PATCH", "/api/settings",
        {body: {backups: {cron: cron.value.trim(), cronMaxKeep: keep.value === "" ? null : Number(keep.value)}}});
      await again(cron.value.trim() ? "Schedule saved." : "Schedule removed.");
    } catch (err) {
      shown(err, schedOut, {});
      const data = (err.data && err.data.backups) || {};
      if (data.cron) setError(cron, data.cron.message);
      if (data.cronMaxKeep) setError(keep, data.cronMaxKeep.message);
    }
  });

  mount(main, h("section", {},
    h("div", {class: "bar"}, h("h1", {}, "Backups")),
    status,
    h("table", {id: "backup-list"}, h("caption", {}, `${list.length} backup(s)`),
      h("thead", {}, h("tr", {}, ["Name", "Size", "Modified", "Actions"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {colspan: 4}, "No backups yet.")))),
    h("p", {class: "hint", id: "restore-hint"}, "To restore, stop nothing: download the backup and run ",
      h("code", {}, "baas backup restore <file> --dir NEW_DATA_DIR"),
      " (or --db postgresql://… for a new empty database), then start the server on it (docs/backups.md)."),
    nowForm, schedForm, upForm));
}
