"""The jobs API's operations (``/api/jobs``, superusers only; docs/jobs.md): list and view every
job, create, change and delete the API's jobs. Jobs of ``baas.yaml`` are shown (``source``
``yaml``) but read-only here: they change in the file. An API job is stored in ``_jobs``
(baas/jobs/defs.py) and reaches the scheduler of every worker and node within about a second.

Header values of an HTTP target may be credentials: the API answers ``******`` for each, and a
``******`` sent back keeps the stored value (as outgoing webhooks do)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from baas.errors import BadRequest, FieldError, NotFound
from baas.ids import format_dt
from baas.jobs import defs, store, validate
from baas.schema.jobs import Job
from baas.webhooks.http import HEADER_MASK, MaskWithoutValue, unmask_headers

if TYPE_CHECKING:
    from baas.core import Engine

_encode = msgspec.json.Encoder().encode


def _functions(eng: Engine) -> list[str] | None:
    return eng.functions.names() if eng.functions.loaded else None


def view(eng: Engine, name: str) -> dict[str, Any]:
    """One job as the API shows it (header values masked)."""
    sched = eng.jobs
    job = sched.jobs[name]
    nxt = sched.next_fire(name, store.now()) if job.enabled else None
    http = None
    if job.http is not None:
        http = msgspec.to_builtins(job.http)
        http["headers"] = {k: HEADER_MASK for k in job.http.headers}
        http.setdefault("method", job.http.method)
        http.setdefault("allowPrivate", job.http.allowPrivate)
        http.setdefault("body", None)
    created, updated = sched.stamps.get(name, ("", "")) if sched.sources[name] == "api" else ("", "")
    return {
        "id": name,
        "name": name,
        "source": sched.sources[name],
        "schedule": job.schedule,
        "timezone": job.timezone,
        "function": job.function,
        "task": job.task,
        "http": http,
        "args": job.args,
        "timeout": job.timeout,
        "retries": job.retries,
        "backoff": job.backoff,
        "overlap": job.overlap,
        "misfireGrace": job.misfireGrace,
        "enabled": job.enabled,
        "target": job.target,
        "nextRun": format_dt(nxt) if nxt else "",
        "created": created,
        "updated": updated,
    }


async def all_jobs(eng: Engine) -> list[dict[str, Any]]:
    await eng.jobs.refresh()
    return [view(eng, n) for n in sorted(eng.jobs.jobs)]


async def get(eng: Engine, name: str) -> dict[str, Any]:
    await eng.jobs.refresh()
    if name not in eng.jobs.jobs:
        raise NotFound("Missing job.")
    return view(eng, name)


def _taken(name: str, why: str) -> BadRequest:
    return BadRequest(f"job {name!r}: {why}", {"name": FieldError("validation_taken", why[0].upper() + why[1:] + ".")})


async def create(eng: Engine, body: object) -> dict[str, Any]:
    """Check ``body`` as the loader checks a job of the file, then store it (nothing on error)."""
    if isinstance(body, dict) and isinstance(body.get("http"), dict):  # a mask here has nothing to keep
        _keep_headers(_name_of(body), body["http"], {})
    job = validate.parse(body, functions=_functions(eng))
    await eng.jobs.refresh()
    if job.name in eng.jobs.declared:
        raise _taken(job.name, "a job of baas.yaml has that name")
    if job.name in eng.jobs.builtin:
        raise _taken(job.name, "the settings' scheduled backups have that name")
    if not await defs.create(eng.db, job.name, _encode(validate.config(job)).decode()):
        raise _taken(job.name, "the name is taken")
    await eng.jobs.refresh()
    return view(eng, job.name)


def _read_only(name: str) -> BadRequest:
    return BadRequest(f"job {name!r} is declared in baas.yaml: change it there (jobs of baas.yaml are read-only here)")


async def _stored(eng: Engine, name: str) -> Job:
    await eng.jobs.refresh()
    if name in eng.jobs.declared:
        raise _read_only(name)
    if name in eng.jobs.builtin:
        raise BadRequest(f"job {name!r} is made by the settings (backups.cron): change it there")
    job = eng.jobs.stored.get(name)
    if job is None:
        raise NotFound("Missing job.")
    return job


async def update(eng: Engine, name: str, body: object) -> dict[str, Any]:
    """Change an API job: the keys sent replace those stored (a new target: send the others
    empty, e.g. ``{"task": "events.prune", "function": ""}``); ``name`` cannot change."""
    old = await _stored(eng, name)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    if "name" in body and body["name"] != name:
        raise BadRequest(
            f"job {name!r}: the name cannot change (create a new job and delete this one)",
            {"name": FieldError("validation_readonly", "The name cannot change.")},
        )
    merged = {**validate.config(old), **body, "name": name}
    if isinstance(body.get("http"), dict):
        merged["http"] = dict(body["http"])
        _keep_headers(name, merged["http"], old.http.headers if old.http is not None else {})
    job = validate.parse(merged, functions=_functions(eng))
    if not await defs.update(eng.db, name, _encode(validate.config(job)).decode()):
        raise NotFound("Missing job.")
    await eng.jobs.refresh()
    return view(eng, name)


async def delete(eng: Engine, name: str) -> None:
    """Remove an API job; its run history stays (pruned with the rest)."""
    await _stored(eng, name)
    if not await defs.delete(eng.db, name):
        raise NotFound("Missing job.")
    await eng.jobs.refresh()


def _name_of(body: dict[str, Any]) -> str:
    name = body.get("name")
    return name if isinstance(name, str) and name else "?"


def _keep_headers(name: str, http: dict[str, Any], stored: dict[str, str]) -> None:
    """Replace each header value equal to `HEADER_MASK` in ``http`` by the stored one (the API
    answers masks, so a client sending the view back keeps the values)."""
    sent = http.get("headers")
    if not isinstance(sent, dict):
        return  # a wrong type is reported by the validation
    try:
        http["headers"] = unmask_headers(sent, stored)
    except MaskWithoutValue as exc:
        raise BadRequest(
            f"job {name!r}: http {exc}", {"http": FieldError("validation_invalid_http", "Type the header's value.")}
        ) from None
