// Scheduled jobs: every job (those of baas.yaml, read-only here, and those made over the API) with
// its next and last run, "run now", each job's run history, and a form to create, edit or delete
// an API job — through the crons API (GET /api/crons, POST /api/crons/{id}, GET /api/crons/{id}/runs)
// and the jobs API (/api/jobs), as `baas jobs list|run|history` shows them. Field errors of the API
// are shown under their field.

import {api, ApiError} from "../api.js";
import {h, labelled, mount, notice, setError} from "../dom.js";

const RUN_COLUMNS = ["scheduled", "trigger", "status", "attempt", "started", "finished", "error / output"];
const TASKS = ["files.sweep", "events.prune"];
const METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE"];
const jobPath = (name) => `/api/jobs/${encodeURIComponent(name)}`;

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

/** "Name: value" lines -> {Name: value}; throws on a line without a colon. */
function parseHeaders(text) {
  const out = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`Header line "${line}" needs "Name: value".`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function parseJson(text, what) {
  if (!text.trim()) return undefined;
  try { return JSON.parse(text); } catch { throw new Error(`${what}: not valid JSON.`); }
}

/** The form for a new job, or for editing one made over the API (``job``: its /api/jobs view). */
function jobForm(job, done) {
  const editing = Boolean(job);
  const v = job || {timezone: "UTC", timeout: 60, retries: 0, backoff: 1, overlap: "skip", misfireGrace: 60,
                    enabled: true, args: {}, function: ""};
  const kind0 = v.http ? "http" : v.task ? "task" : "function";
  const name = h("input", {type: "text", id: "job-name", value: v.name || "", disabled: editing, required: true});
  const schedule = h("input", {type: "text", id: "job-schedule", value: v.schedule || "", required: true,
                               placeholder: "*/5 * * * *  or  @every 30s"});
  const timezone = h("input", {type: "text", id: "job-timezone", value: v.timezone});
  const kind = h("select", {id: "job-target"},
    [["function", "A function"], ["task", "A built-in task"], ["http", "An HTTP request"]]
      .map(([val, text]) => h("option", {value: val, selected: val === kind0}, text)));
  const fn = h("input", {type: "text", id: "job-function", value: v.function || ""});
  const args = h("textarea", {id: "job-args", rows: 2}, Object.keys(v.args || {}).length ? JSON.stringify(v.args) : "");
  const task = h("select", {id: "job-task"}, TASKS.map((t) => h("option", {value: t, selected: t === v.task}, t)));
  const http = v.http || {};
  const url = h("input", {type: "text", inputmode: "url", id: "job-url", value: http.url || ""});
  const method = h("select", {id: "job-method"},
    METHODS.map((m) => h("option", {value: m, selected: m === (http.method || "POST")}, m)));
  const headers = h("textarea", {id: "job-headers", rows: 2},
    Object.entries(http.headers || {}).map(([k, val]) => `${k}: ${val}`).join("\n"));
  const body = h("textarea", {id: "job-body", rows: 2}, http.body == null ? "" : JSON.stringify(http.body));
  const allowPrivate = h("input", {type: "checkbox", id: "job-private", checked: Boolean(http.allowPrivate)});
  const timeout = h("input", {type: "number", id: "job-timeout", step: "any", value: v.timeout});
  const retries = h("input", {type: "number", id: "job-retries", step: 1, value: v.retries});
  const backoff = h("input", {type: "number", id: "job-backoff", step: "any", value: v.backoff});
  const overlap = h("select", {id: "job-overlap"},
    ["skip", "queue"].map((o) => h("option", {value: o, selected: o === v.overlap}, o)));
  const misfire = h("input", {type: "number", id: "job-misfire", step: "any", value: v.misfireGrace});
  const enabled = h("input", {type: "checkbox", id: "job-enabled", checked: v.enabled !== false});
  const errors = h("div", {id: "job-form-errors", "aria-live": "polite"});

  const fnPart = h("div", {class: "target-function"}, labelled("Function", fn, "A function of the functions/ package."),
    labelled("Arguments (JSON, optional)", args, "The function's ctx.body, e.g. {\"format\": \"pdf\"}."));
  const taskPart = h("div", {class: "target-task"}, labelled("Task", task));
  const httpPart = h("div", {class: "target-http"},
    labelled("URL", url, "http:// or https://; private and loopback addresses are refused unless allowed below."),
    labelled("Method", method),
    labelled("Headers (optional)", headers, editing
      ? "One \"Name: value\" per line; ****** keeps the stored value (values are write-only)."
      : "One \"Name: value\" per line; values are write-only: not shown again once saved."),
    labelled("Body (JSON, optional)", body),
    h("div", {class: "row check"}, allowPrivate, h("label", {for: allowPrivate.id}, "Allow private and loopback targets")));
  const showTarget = () => {
    fnPart.hidden = kind.value !== "function";
    taskPart.hidden = kind.value !== "task";
    httpPart.hidden = kind.value !== "http";
  };
  kind.addEventListener("change", showTarget);
  showTarget();

  // The API's field names -> the control its error is shown under.
  const controls = {name, schedule, timezone, target: kind, function: fn, args, task, http: url,
                    timeout, retries, backoff, overlap, misfireGrace: misfire, enabled};

  return h("form", {id: "job-form", onsubmit: async (ev) => {
    ev.preventDefault();
    Object.values(controls).forEach((c) => setError(c, ""));
    mount(errors);
    let payload;
    try {
      payload = {
        schedule: schedule.value.trim(), timezone: timezone.value.trim() || "UTC",
        function: "", task: "", http: null, args: {},
        timeout: Number(timeout.value), retries: Number(retries.value), backoff: Number(backoff.value),
        overlap: overlap.value, misfireGrace: Number(misfire.value), enabled: enabled.checked,
      };
      if (kind.value === "function") {
        payload.function = fn.value.trim();
        payload.args = parseJson(args.value, "Arguments") ?? {};
      } else if (kind.value === "task") {
        payload.task = task.value;
      } else {
        payload.http = {url: url.value.trim(), method: method.value, headers: parseHeaders(headers.value),
                        allowPrivate: allowPrivate.checked};
        const b = parseJson(body.value, "Body");
        if (b !== undefined) payload.http.body = b;
      }
    } catch (err) {
      mount(errors, notice(err.message));
      return;
    }
    if (!editing) payload.name = name.value.trim();
    try {
      await api(editing ? "PATCH" : "POST", editing ? jobPath(job.name) : "/api/jobs", {body: payload});
      await done(true, `Job ${editing ? job.name : payload.name} saved.`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      mount(errors, notice(err.message));
      for (const [field, e] of Object.entries(err.data)) {
        if (controls[field]) setError(controls[field], e.message);
      }
    }
  }},
    h("h2", {}, editing ? `Edit ${job.name}` : "New job"),
    labelled("Name", name, "Letters, digits, _ . -; the job's id in the API and the CLI."),
    labelled("Schedule", schedule, "5 cron fields (minute hour day month weekday), @every 30s, @hourly, @daily …"),
    labelled("Time zone", timezone, "An IANA name: UTC, Europe/Paris …"),
    labelled("Target", kind), fnPart, taskPart, httpPart,
    labelled("Timeout (s)", timeout, "Per attempt."),
    labelled("Retries", retries, "Attempts after a failure (0–100)."),
    labelled("Backoff (s)", backoff, "Waits backoff × 2^n seconds between attempts."),
    labelled("Overlap", overlap, "A tick while the last run still goes: skip it, or queue it."),
    labelled("Misfire grace (s)", misfire, "A tick noticed later than this is not run."),
    h("div", {class: "row check"}, enabled, h("label", {for: enabled.id}, "Enabled (scheduled)")),
    errors,
    h("button", {type: "submit"}, editing ? "Save job" : "Create job"),
    h("button", {type: "button", class: "secondary", onclick: () => done(false)}, "Cancel"));
}

export async function render(main, params = [], message = "") {
  const [jobs, defs] = await Promise.all([api("GET", "/api/crons"), api("GET", "/api/jobs")]);
  const views = Object.fromEntries(defs.items.map((j) => [j.name, j]));
  const status = h("div", {id: "jobs-status", "aria-live": "polite"}, message ? notice(message, "ok") : null);
  const history = h("section", {id: "job-history", "aria-live": "polite"});
  const panel = h("section", {id: "job-panel", "aria-live": "polite"});
  const reload = async (again = true, said = "") => { if (again) await render(main, params, said); else mount(panel); };

  const rows = jobs.map((job) => {
    const last = job.lastRun;
    const source = job.source || "yaml";
    return h("tr", {"data-job": job.id},
      h("th", {scope: "row"}, job.id),
      h("td", {}, job.expression, job.timezone && job.timezone !== "UTC" ? ` (${job.timezone})` : ""),
      h("td", {}, job.target),
      h("td", {class: "job-source"}, source === "yaml" ? "baas.yaml (read-only)" : "api"),
      h("td", {class: "next-run"}, job.nextRun || "—"),
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
          "History"),
        source === "yaml" || !views[job.id] ? null : h("button", {type: "button", class: "secondary",
          "aria-label": `Edit ${job.id}`, onclick: () => mount(panel, jobForm(views[job.id], reload))}, "Edit"),
        source === "yaml" ? null : h("button", {type: "button", class: "danger", "aria-label": `Delete ${job.id}`,
          onclick: () => mount(panel, h("div", {class: "confirm"},
            h("p", {}, `Delete job ${job.id}? Its run history stays.`),
            h("button", {type: "button", class: "danger", onclick: async (ev) => {
              ev.target.disabled = true;
              try {
                await api("DELETE", jobPath(job.id));
                await reload(true, `Job ${job.id} deleted.`);
              } catch (err) {
                if (!(err instanceof ApiError)) throw err;
                mount(status, notice(err.message));
                ev.target.disabled = false;
              }
            }}, `Yes, delete ${job.id}`),
            h("button", {type: "button", class: "secondary", onclick: () => mount(panel)}, "Keep it")))}, "Delete")));
  });

  mount(main,
    h("h1", {}, "Scheduled jobs"),
    h("p", {class: "hint"},
      "Jobs of baas.yaml (jobs:) are changed in the file; jobs made here or over the API (/api/jobs) are stored in " +
      "the database. Every server schedules them all, and each tick runs once."),
    status,
    jobs.length
      ? h("table", {id: "jobs-table", "aria-label": "Scheduled jobs"},
          h("thead", {}, h("tr", {},
            ["job", "schedule", "target", "source", "next run", "last run", "actions"].map((c) => h("th", {scope: "col"}, c)))),
          h("tbody", {}, rows))
      : h("p", {class: "hint", id: "no-jobs"}, "No jobs yet."),
    h("button", {type: "button", id: "new-job", onclick: () => mount(panel, jobForm(null, reload))}, "New job"),
    panel,
    history);
}
