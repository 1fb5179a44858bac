// Scheduled jobs: the jobs of baas.yaml with their next and last run, "run now", and each job's
// run history — all through the crons API (GET /api/crons, POST /api/crons/{id},
// GET /api/crons/{id}/runs), as `baas jobs list|run|history` shows them.

import {api, ApiError} from "../api.js";
import {h, mount, notice} from "../dom.js";

const RUN_COLUMNS = ["scheduled", "trigger", "status", "attempt", "started", "finished", "error / output"];

function runRows(runs) {
  return runs.map((r) => h("tr", {class: `run status-${r.status}`},
    h("td", {}, r.scheduled), h("td", {}, r.trigger), h("td", {class: "run-status"}, r.status),
    h("td", {}, String(r.attempt)), h("td", {}, r.started || "—"), h("td", {}, r.finished || "—"),
    h("td", {class: "run-detail"}, r.error || r.output || "")));
}

async function showHistory(job, box) {
  const out = await api("GET", `/api/crons/${encodeURIComponent(job.id)}/runs`, {query: {perPage: 50}});
  mount(box,
    h("h3", {}, `History of ${job.id}`),
    out.items.length
      ? h("table", {class: "runs", "aria-label": `Runs of ${job.id}`},
          h("thead", {}, h("tr", {}, RUN_COLUMNS.map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, runRows(out.items)))
      : h("p", {class: "hint"}, "No runs yet."),
    h("button", {type: "button", class: "secondary", onclick: () => mount(box)}, "Close history"));
}

export async function render(main) {
  const jobs = await api("GET", "/api/crons");
  const status = h("div", {id: "jobs-status", "aria-live": "polite"});
  const history = h("section", {id: "job-history", "aria-live": "polite"});

  const rows = jobs.map((job) => {
    const last = job.lastRun;
    return h("tr", {"data-job": job.id},
      h("th", {scope: "row"}, job.id),
      h("td", {}, job.expression, job.timezone && job.timezone !== "UTC" ? ` (${job.timezone})` : ""),
      h("td", {}, job.target),
      h("td", {}, job.nextRun || "—"),
      h("td", {class: "last-run"}, last ? `${last.status} · ${last.scheduled}` : "never"),
      h("td", {class: "row-actions"},
        h("button", {type: "button", "aria-label": `Run ${job.id} now`, onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api("POST", `/api/crons/${encodeURIComponent(job.id)}`);
            mount(status, notice(`${job.id} started; its run appears in the history.`, "ok"));
            await showHistory(job, history);
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            mount(status, notice(err.message));
          } finally {
            ev.target.disabled = false;
          }
        }}, "Run now"),
        h("button", {type: "button", class: "secondary", "aria-label": `History of ${job.id}`,
          onclick: () => showHistory(job, history).catch((err) => mount(status, notice(err.message)))},
          "History")));
  });

  mount(main,
    h("h1", {}, "Scheduled jobs"),
    h("p", {class: "hint"}, "Jobs are declared in baas.yaml (jobs:) and scheduled by every server; each tick runs once."),
    status,
    jobs.length
      ? h("table", {id: "jobs-table", "aria-label": "Scheduled jobs"},
          h("thead", {}, h("tr", {},
            ["job", "schedule", "target", "next run", "last run", "actions"].map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, rows))
      : h("p", {class: "hint", id: "no-jobs"}, "No jobs declared."),
    history);
}
