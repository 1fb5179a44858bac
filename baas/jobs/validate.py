"""A job sent to the API, checked as the ``baas.yaml`` loader checks one (baas/schema/jobs.py),
with every problem reported on its field: ``{"status": 400, "message": "job 'x': …", "data":
{"schedule": {"code": "validation_invalid_schedule", "message": …}, …}}``.

The same primitives decide (the name pattern, the built-in tasks, the HTTP target check, the time
zone database, the APScheduler trigger), and the loader's own check runs last, so a job the API
accepts is one the file would accept too."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from baas.errors import BadRequest, FieldError, SchemaError
from baas.schema.jobs import BUILTIN_TASKS, JOB_NAME_RE, Job, check_jobs
from baas.schema.jobs import _http_problem as http_problem

FIELDS = tuple(Job.__struct_fields__)
_AT = re.compile(r"at `\$\.([A-Za-z]+)")
_MISSING = re.compile(r"missing required field `([A-Za-z]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def _err(code: str, message: str) -> FieldError:
    return FieldError(f"validation_{code}", message)


def _label(body: dict[str, Any]) -> str:
    name = body.get("name")
    return name if isinstance(name, str) and name else "?"


def parse(body: object, *, functions: list[str] | None) -> Job:
    """``body`` as a `Job`, or `BadRequest` naming the job with one error per bad field.
    ``functions``: the declared function names (None: not loaded, not checked)."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    label = _label(body)
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise BadRequest(
            f"job {label!r}: unknown key {unknown[0]!r} (keys: {', '.join(FIELDS)})",
            {k: _err("unknown_field", "Unknown key.") for k in unknown},
        )
    try:
        job = msgspec.convert(body, Job)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = _MISSING.search(text) or _AT.search(text) or _UNKNOWN.search(text)
        key = where.group(1) if where else "body"
        code = "required" if _MISSING.search(text) else "invalid_value"
        raise BadRequest(f"job {label!r}: {text}", {key: _err(code, text)}) from None
    errors = problems(job, functions)
    if errors:
        first = next(iter(errors.values()))
        raise BadRequest(f"job {job.name!r}: {first.message}", dict(errors))
    try:  # the file's own check: what it refuses, the API refuses
        check_jobs([job], "", {})
    except SchemaError as exc:
        raise BadRequest(exc.message, {"body": _err("invalid_value", exc.message)}) from None
    return job


def problems(job: Job, functions: list[str] | None) -> dict[str, FieldError]:
    """Every field of ``job`` that is wrong, with why."""
    out: dict[str, FieldError] = {}
    if not JOB_NAME_RE.match(job.name):
        out["name"] = _err("invalid_name", "The name may hold letters, digits, _ . - (at most 100).")
    targets = [bool(job.function), bool(job.task), job.http is not None].count(True)
    if targets != 1:
        out["target"] = _err(
            "invalid_target",
            f"Give exactly one target: function, task ({', '.join(BUILTIN_TASKS)}) or http ({{url, method, headers, body}}).",
        )
    if job.function and functions is not None and job.function not in functions:
        known = ", ".join(functions) or "none declared"
        out["function"] = _err("unknown_function", f"Unknown function {job.function!r} (functions: {known}).")
    if job.task and job.task not in BUILTIN_TASKS:
        out["task"] = _err("unknown_task", f"Unknown task {job.task!r} (built-in tasks: {', '.join(BUILTIN_TASKS)}).")
    if job.http is not None:
        problem = http_problem(job.http)
        if problem:
            out["http"] = _err("invalid_http", problem[0].upper() + problem[1:] + ".")
    zone_ok = True
    try:
        ZoneInfo(job.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone_ok = False
        out["timezone"] = _err(
            "unknown_timezone", f"Unknown time zone {job.timezone!r} (use an IANA name like UTC or Europe/Paris)."
        )
    try:  # the schedule alone: an unknown zone is reported on its own field
        (job if zone_ok else msgspec.structs.replace(job, timezone="UTC")).trigger()
    except ValueError as exc:
        out["schedule"] = _err("invalid_schedule", f"Invalid schedule {job.schedule!r}: {exc}")
    if not job.timeout > 0:
        out["timeout"] = _err("invalid_timeout", "The timeout must be a positive number of seconds.")
    if not 0 <= job.retries <= 100:
        out["retries"] = _err("invalid_retries", "Retries must be between 0 and 100.")
    if job.backoff < 0:
        out["backoff"] = _err("invalid_backoff", "The backoff must be >= 0 seconds.")
    if not job.misfireGrace > 0:
        out["misfireGrace"] = _err("invalid_misfire_grace", "The misfire grace must be > 0 seconds.")
    return out


def config(job: Job) -> dict[str, Any]:
    """The job's options as stored (and as ``baas.yaml`` would hold them): defaults left out."""
    out: dict[str, Any] = msgspec.to_builtins(job)
    return out
