"""Scheduled jobs as declared in ``baas.yaml`` (docs/jobs.md): the model and its checks.

```yaml
jobs:
  - name: nightly-report
    schedule: "0 3 * * *"        # 5-field cron, or "@every 30s", "@hourly", "@daily" …
    timezone: Europe/Paris       # IANA name; default UTC
    function: send_report        # a function of the functions/ package …
    args: {format: pdf}          # … given as ctx.body
  - name: sweep
    schedule: "@every 1h"
    task: files.sweep            # … or a built-in task: files.sweep, events.prune, backups.create
    timeout: 300                 # seconds per attempt
    retries: 2                   # extra attempts after a failure, waiting backoff * 2^n seconds
    backoff: 10
    overlap: skip                # a tick while the previous run is still going: skip | queue
    misfireGrace: 60             # a tick noticed later than this (seconds) is not run
  - name: ping
    schedule: "*/5 * * * *"
    http: {url: "https://example.com/hook", method: POST, headers: {X-Token: abc}, body: {ping: 1}}
```
Fire times come from APScheduler 3 triggers; which process runs a tick is decided by the
database (baas/jobs/). Everything here is checked when the file loads, with its line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from baas.errors import SchemaError

BUILTIN_TASKS = ("files.sweep", "events.prune", "backups.create")
JOB_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
# Interval ticks count from this instant, so every process and node computes the same ticks.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_EVERY = re.compile(r"^@every\s+((?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$")
_UNIT = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class HttpTarget(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A job's HTTP request: ``body`` is sent as JSON (a string: as is); a 2xx answer succeeds.
    ``allowPrivate``: the target may be a loopback/private address (refused by default)."""

    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = {}
    body: Any = None
    allowPrivate: bool = False


class Job(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One scheduled job: when (``schedule``, ``timezone``), what (``function`` or ``task``), and
    how (``timeout``, ``retries``/``backoff``, ``overlap``, ``misfireGrace``)."""

    name: str
    schedule: str
    timezone: str = "UTC"
    function: str = ""
    task: str = ""
    http: HttpTarget | None = None
    args: dict[str, Any] = {}
    timeout: float = 60.0
    retries: int = 0
    backoff: float = 1.0
    overlap: Literal["skip", "queue"] = "skip"
    misfireGrace: float = 60.0
    enabled: bool = True

    @property
    def target(self) -> str:
        if self.http is not None:
            return f"http:{self.http.method} {self.http.url}"
        return f"function:{self.function}" if self.function else f"task:{self.task}"

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger computing this job's fire times (ValueError if invalid)."""
        tz = ZoneInfo(self.timezone)
        expr = " ".join(self.schedule.split())
        m = _EVERY.match(expr)
        if m:
            seconds = sum(float(n) * _SECONDS[u] for n, u in _UNIT.findall(m.group(1)))
            if seconds < 1:
                raise ValueError("an @every interval must be at least 1s")
            return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=tz)
        expr = _MACROS.get(expr, expr)
        if expr.startswith("@"):
            raise ValueError(
                f"unknown schedule {self.schedule!r} (use 5 cron fields, @every 30s, @hourly, "
                "@daily, @weekly, @monthly or @yearly)"
            )
        if len(expr.split()) != 5:
            raise ValueError(f"{self.schedule!r} must have 5 fields (minute hour day month weekday)")
        return CronTrigger.from_crontab(expr, timezone=tz)


def check_jobs(jobs: list[Job], path: str, lines: dict[str, int]) -> None:
    """Everything about ``jobs`` that needs no running engine; the error names the job and line."""
    seen: set[str] = set()
    for i, job in enumerate(jobs):
        problem = _job_problem(job, seen)
        if problem:
            raise SchemaError(f"job {job.name!r}: {problem}", path=path, line=lines.get(f"$.jobs[{i}]"))
        seen.add(job.name)


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _http_problem(http: HttpTarget) -> str | None:
    parts = urlsplit(http.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"http url {http.url!r} must be an absolute http:// or https:// URL with a host"
    for name, value in http.headers.items():
        if not _HEADER_NAME.match(name) or "\n" in value or "\r" in value:
            return f"http header {name!r} is not a valid header"
    return None


def _backup_args_problem(args: dict[str, Any]) -> str | None:
    """``backups.create`` takes ``keep``: how many of this job's backups to keep (0 or absent: all)."""
    if set(args) - {"keep"}:
        return f"task backups.create takes args {{keep}}, not {sorted(set(args) - {'keep'})}"
    keep = args.get("keep", 0)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
        return "args.keep (backups to keep) must be a whole number >= 0"
    return None


def _job_problem(job: Job, seen: set[str]) -> str | None:
    """The first thing wrong with ``job`` (``seen``: the names of the jobs before it), or None."""
    if not JOB_NAME_RE.match(job.name):
        return "the name may hold letters, digits, _ . - (at most 100)"
    if job.name in seen:
        return "declared twice"
    if [bool(job.function), bool(job.task), job.http is not None].count(True) != 1:
        return (
            "give exactly one target: function (a function name), task "
            f"({', '.join(BUILTIN_TASKS)}) or http ({{url, method, headers, body}})"
        )
    if job.http is not None:
        problem = _http_problem(job.http)
        if problem:
            return problem
    if job.task and job.task not in BUILTIN_TASKS:
        return f"unknown task {job.task!r} (built-in tasks: {', '.join(BUILTIN_TASKS)})"
    if job.task == "backups.create" and (problem := _backup_args_problem(job.args)):
        return problem
    if job.task == "backups.create" and ".." in job.name:
        return "a job that backs up names its backups after itself: its name may not hold '..'"
    try:
        ZoneInfo(job.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone {job.timezone!r} (use an IANA name like UTC or Europe/Paris)"
    try:
        job.trigger()
    except ValueError as exc:
        return f"invalid schedule {job.schedule!r}: {exc}"
    if not job.timeout > 0:
        return "timeout must be a positive number of seconds"
    if not 0 <= job.retries <= 100:
        return "retries must be between 0 and 100"
    if job.backoff < 0 or not job.misfireGrace > 0:
        return "backoff must be >= 0 and misfireGrace > 0 (seconds)"
    return None
