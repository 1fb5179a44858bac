"""The stored server settings (PocketBase's ``/api/settings``), kept as one JSON document in
``_params``: their defaults, their checks, load and save, and the listeners told of a change.

    store = eng.settings_store
    settings = await store.load()                    # defaults merged with what is stored
    merged = await store.update({"batch": {"enabled": True}})   # checked, saved, listeners told

Not to be confused with `baas.settings.Settings`, the process's own settings (env / CLI).
Listeners run in this process at once after `update` (the rate limiter takes its new rules, the
file storage re-reads its backend); other processes see a change when they next `load`.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from baas.db import Conn, Database
from baas.errors import BadRequest
from baas.events import retention as events_retention
from baas.ids import now_str
from baas.limiter import validate as validate_rate_limits
from baas.schema.jobs import Job  # the backups' schedule takes the jobs' syntax

log = logging.getLogger("baas")

SettingsListener = Callable[[dict[str, Any]], None]

# The ``s3`` section (PocketBase's shape). As in PocketBase its ``secret`` is write-only: GET
# /api/settings leaves it out (`public`), and a PATCH that sends it empty (or not at all) keeps the
# stored one (`without_empty_secret`). The file storage reads it (baas/files).
S3_DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "bucket": "",
    "region": "",
    "endpoint": "",
    "accessKey": "",
    "secret": "",
    "forcePathStyle": False,
}
_REQUIRED = ("bucket", "region", "endpoint", "accessKey", "secret")


def check_s3(s3: Any) -> dict[str, Any]:
    """Field errors of an enabled ``s3`` section (PocketBase requires every field then)."""
    if not isinstance(s3, dict) or not s3.get("enabled"):
        return {}
    errors: dict[str, Any] = {}
    for key in _REQUIRED:
        if not isinstance(s3.get(key), str) or not s3[key].strip():
            errors[key] = {"code": "validation_required", "message": "Cannot be blank."}
    endpoint = s3.get("endpoint")
    if "endpoint" not in errors and isinstance(endpoint, str):
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
            errors["endpoint"] = {
                "code": "validation_invalid_url",
                "message": "Must be a URL such as https://s3.example.com (no path).",
            }
    return errors


# Write-only secrets, by path: never shown by GET /api/settings (`public`); a PATCH that sends one
# empty (or not at all) keeps the stored one (`without_empty_secret`), so a client can send back
# the section it read.
WRITE_ONLY: tuple[tuple[str, ...], ...] = (("s3", "secret"), ("smtp", "password"), ("backups", "s3", "secret"))


def _without(body: dict[str, Any], path: tuple[str, ...], keep: Callable[[Any], bool]) -> dict[str, Any]:
    """``body`` with the key at ``path`` dropped unless ``keep(value)``; copies only what it changes."""
    head, rest = path[0], path[1:]
    part = body.get(head)
    if not rest:
        return body if head not in body or keep(part) else {k: v for k, v in body.items() if k != head}
    if not isinstance(part, dict):
        return body
    inner = _without(part, rest, keep)
    return body if inner is part else {**body, head: inner}


def _get(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None  # type: ignore[assignment]
    return body


def without_empty_secret(body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body with empty write-only secrets (``s3.secret``, ``smtp.password``,
    ``backups.s3.secret``) dropped, so the stored ones are kept."""
    for path in WRITE_ONLY:
        body = _without(body, path, lambda v: v not in ("", None))
    return body


def public(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them: the write-only secrets left out, and ``secretsSet``
    saying which of them are stored (``{"smtp.password": true, …}``) so a form can show "set" /
    "not set". A PATCH ignores ``secretsSet`` (not a section)."""
    out = copy.copy(settings)
    shown: dict[str, bool] = {}
    for path in WRITE_ONLY:
        if isinstance(_get(out, path[:-1]), dict):
            shown[".".join(path)] = bool(_get(out, path))
            out = _without(out, path, lambda _: False)
    out["secretsSet"] = shown
    return out


DEFAULTS: dict[str, Any] = {
    "meta": {
        "appName": "baas",
        "appURL": "http://127.0.0.1:8090",
        "hideControls": False,
        "senderName": "Support",
        "senderAddress": "support@example.com",
    },
    # Off until a superuser turns it on, as in PocketBase: a batch holds the writer while it runs.
    "batch": {"enabled": False, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
    # The request log (docs/logs.md): PocketBase's options, and the share of successful requests kept.
    "logs": {"maxDays": 5, "minLevel": 0, "logIP": True, "logAuthId": False, "sampling": 1.0},
    "rateLimits": {"enabled": False, "rules": []},
    # Mail: with smtp disabled, messages go to the dev mailbox under the data dir (see baas/auth/mail.py).
    "smtp": {
        "enabled": False,
        "host": "",
        "port": 587,
        "username": "",
        "password": "",
        "tls": False,
        "authMethod": "PLAIN",
        "localName": "",
    },
    # Client IP behind a proxy: headers to trust (e.g. X-Forwarded-For), leftmost or rightmost entry.
    "trustedProxy": {"headers": [], "useLeftmostIP": False},
    # File storage: local disk under the data dir unless enabled (see docs/files.md); secret is write-only.
    "s3": dict(S3_DEFAULTS),
    # The durable event stream's retention (see docs/events.md).
    "events": dict(events_retention.DEFAULTS),
    # Scheduled backups (PocketBase's section; docs/backups.md): a cron expression ("" = none), how
    # many of them to keep, and an S3 store for every backup instead of <data dir>/backups.
    "backups": {"cron": "", "cronMaxKeep": 3, "s3": dict(S3_DEFAULTS)},
}

INVALID_FORM = "An error occurred while submitting the form."


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``, object by object (lists and scalars replace)."""
    out = dict(base)
    for k, v in patch.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def check(settings: dict[str, Any]) -> dict[str, Any]:
    """Field errors of merged settings, by section ({} when valid): each section keeps the shape
    and types of its defaults, and the sections with rules of their own are checked by them."""
    errors: dict[str, Any] = {}
    for section, defaults in DEFAULTS.items():
        value = settings.get(section)
        if not isinstance(value, dict):
            errors[section] = {"code": "validation_invalid_value", "message": "Must be an object."}
            continue
        for key, default in defaults.items():
            got = value.get(key)
            ok = (
                isinstance(got, bool)
                if isinstance(default, bool)
                else (
                    isinstance(got, (int, float)) and not isinstance(got, bool) and got >= 0
                    if isinstance(default, (int, float))
                    else isinstance(got, type(default))
                )
            )
            if not ok:
                errors.setdefault(section, {})[key] = {
                    "code": "validation_invalid_value",
                    "message": f"Must be a {type(default).__name__}.",
                }
    batch = settings.get("batch")
    if isinstance(batch, dict) and isinstance(batch.get("maxRequests"), int) and not 0 < batch["maxRequests"] <= 1000:
        errors.setdefault("batch", {})["maxRequests"] = {
            "code": "validation_invalid_value",
            "message": "Must be between 1 and 1000.",
        }
    logs = settings.get("logs")
    if isinstance(logs, dict) and isinstance(logs.get("sampling"), (int, float)) and logs["sampling"] > 1:
        errors.setdefault("logs", {})["sampling"] = {
            "code": "validation_invalid_value",
            "message": "Must be between 0 and 1.",
        }
    limits = settings.get("rateLimits")
    if isinstance(limits, dict) and (limit_errors := validate_rate_limits(limits)):
        errors.setdefault("rateLimits", {}).update(limit_errors)
    if s3_errors := check_s3(settings.get("s3")):
        errors.setdefault("s3", {}).update(s3_errors)
    if backup_errors := _check_backups(settings.get("backups")):
        errors.setdefault("backups", {}).update(backup_errors)
    if event_errors := events_retention.check(settings.get("events")):
        errors.setdefault("events", {}).update(event_errors)
    return errors


def _check_backups(backups: Any) -> dict[str, Any]:
    if not isinstance(backups, dict):
        return {}
    errors: dict[str, Any] = {}
    cron = backups.get("cron")
    if isinstance(cron, str) and cron.strip():
        try:
            Job(name="backups", schedule=cron, task="backups.create").trigger()
        except (ValueError, LookupError) as exc:
            errors["cron"] = {"code": "validation_invalid_cron", "message": str(exc)}
    keep = backups.get("cronMaxKeep")
    if isinstance(keep, (int, float)) and not isinstance(keep, bool) and (keep != int(keep) or keep < 1):
        errors["cronMaxKeep"] = {"code": "validation_min_greater_equal_than_required", "message": "Must be 1 or more."}
    s3 = backups.get("s3")
    if not isinstance(s3, dict):
        errors["s3"] = {"code": "validation_invalid_value", "message": "Must be an object."}
    elif s3_errors := check_s3(s3):
        errors["s3"] = s3_errors
    return errors


class SettingsStore:
    """The engine's stored settings (``Engine.settings_store``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cached: dict[str, Any] = {}  # what this process last read or saved ({} before the first read)
        self._listeners: list[SettingsListener] = []

    def listen(self, listener: SettingsListener) -> None:
        """Call ``listener(settings)`` after every change made through this store."""
        self._listeners.append(listener)

    async def load(self) -> dict[str, Any]:
        """The stored settings merged over `DEFAULTS`."""
        raw = await self.db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', ["settings"])
        self.cached = merge(DEFAULTS, json.loads(raw) if raw else {})
        return self.cached

    async def update(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` (unknown sections ignored; an empty write-only secret keeps the stored one)
        into the stored settings, check and save them, tell the listeners; the new settings.
        Raises `BadRequest` with field errors by section, saving nothing."""
        patch = without_empty_secret(patch)
        merged = merge(await self.load(), {k: v for k, v in patch.items() if k in DEFAULTS})
        problems = check(merged)
        if problems:
            raise BadRequest(INVALID_FORM, problems)
        stored = json.dumps(merged)

        async def save(conn: Conn) -> None:
            await conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"])
            await conn.execute(
                'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)', ["settings", stored, now_str()]
            )

        await self.db.write(save)
        self.cached = merged
        for listener in self._listeners:
            listener(merged)
        return merged
