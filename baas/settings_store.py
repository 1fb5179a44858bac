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

import json
import logging
from typing import Any, Callable

from baas.db import Database
from baas.errors import BadRequest
from baas.events import retention as events_retention
from baas.files import settings as files_settings
from baas.ids import now_str
from baas.limiter import validate as validate_rate_limits

log = logging.getLogger("baas")

SettingsListener = Callable[[dict[str, Any]], None]

DEFAULTS: dict[str, Any] = {
    "meta": {"appName": "baas", "appURL": "http://127.0.0.1:8090", "hideControls": False,
             "senderName": "Support", "senderAddress": "support@example.com"},
    # Off until a superuser turns it on, as in PocketBase: a batch holds the writer while it runs.
    "batch": {"enabled": False, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
    "logs": {"maxDays": 5, "minLevel": 0, "logIP": True, "logAuthId": False},
    "rateLimits": {"enabled": False, "rules": []},
    # Mail: with smtp disabled, messages go to the dev mailbox under the data dir (see baas/auth/mail.py).
    "smtp": {"enabled": False, "host": "", "port": 587, "username": "", "password": "", "tls": False,
             "authMethod": "PLAIN", "localName": ""},
    # Client IP behind a proxy: headers to trust (e.g. X-Forwarded-For), leftmost or rightmost entry.
    "trustedProxy": {"headers": [], "useLeftmostIP": False},
    # File storage: local disk under the data dir unless enabled (see docs/files.md); secret is write-only.
    "s3": dict(files_settings.S3_DEFAULTS),
    # The durable event stream's retention (see docs/events.md).
    "events": dict(events_retention.DEFAULTS),
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
            ok = isinstance(got, bool) if isinstance(default, bool) else (
                isinstance(got, (int, float)) and not isinstance(got, bool) and got >= 0
                if isinstance(default, (int, float)) else isinstance(got, type(default)))
            if not ok:
                errors.setdefault(section, {})[key] = {"code": "validation_invalid_value",
                                                       "message": f"Must be a {type(default).__name__}."}
    batch = settings.get("batch")
    if isinstance(batch, dict) and isinstance(batch.get("maxRequests"), int) and not 0 < batch["maxRequests"] <= 1000:
        errors.setdefault("batch", {})["maxRequests"] = {"code": "validation_invalid_value",
                                                         "message": "Must be between 1 and 1000."}
    limits = settings.get("rateLimits")
    if isinstance(limits, dict) and (limit_errors := validate_rate_limits(limits)):
        errors.setdefault("rateLimits", {}).update(limit_errors)
    if s3_errors := files_settings.check_s3(settings.get("s3")):
        errors.setdefault("s3", {}).update(s3_errors)
    if event_errors := events_retention.check(settings.get("events")):
        errors.setdefault("events", {}).update(event_errors)
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
        """Merge ``patch`` (unknown sections ignored; an empty S3 secret keeps the stored one)
        into the stored settings, check and save them, tell the listeners; the new settings.
        Raises `BadRequest` with field errors by section, saving nothing."""
        patch = files_settings.without_empty_secret(patch)
        merged = merge(await self.load(), {k: v for k, v in patch.items() if k in DEFAULTS})
        problems = check(merged)
        if problems:
            raise BadRequest(INVALID_FORM, problems)
        stored = json.dumps(merged)

        async def save(conn: Any) -> None:
            await conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"])
            await conn.execute('INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)',
                               ["settings", stored, now_str()])

        await self.db.write(save)
        self.cached = merged
        for listener in self._listeners:
            listener(merged)
        return merged
