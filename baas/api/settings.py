"""``/api/settings``: superusers read and patch the server settings (kept in ``_params``)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, patch

from baas.api import ratelimit
from baas import files
from baas.files import settings as files_settings
from baas.errors import BadRequest
from baas.events import retention as events_retention
from baas.api.deps import engine, json_response, read_body, request_info, require_superuser
from baas.ids import now_str

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


def _merge(base: dict[str, Any], patch_: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch_.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check(settings: dict[str, Any]) -> dict[str, Any]:
    """Each section must keep the shape and types of its defaults."""
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
    if isinstance(limits, dict) and (limit_errors := ratelimit.validate(limits)):
        errors.setdefault("rateLimits", {}).update(limit_errors)
    if s3_errors := files_settings.check_s3(settings.get("s3")):
        errors.setdefault("s3", {}).update(s3_errors)
    if event_errors := events_retention.check(settings.get("events")):
        errors.setdefault("events", {}).update(event_errors)
    return errors


async def load_settings(eng: Any) -> dict[str, Any]:
    raw = await eng.db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', ["settings"])
    return _merge(DEFAULTS, json.loads(raw) if raw else {})


@get("/api/settings")
async def settings_view(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(files_settings.public(await load_settings(engine(request))))


@patch("/api/settings")
async def settings_update(request: Request) -> Response:
    require_superuser(await request_info(request))
    eng = engine(request)
    body = files_settings.without_empty_secret(await read_body(request))
    merged = _merge(await load_settings(eng), {k: v for k, v in body.items() if k in DEFAULTS})
    problems = _check(merged)
    if problems:
        raise BadRequest("An error occurred while submitting the form.", problems)
    stored = json.dumps(merged)

    async def save(conn: Any) -> None:
        await conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"])
        await conn.execute('INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)',
                           ["settings", stored, now_str()])

    await eng.db.write(save)
    ratelimit.settings_changed(eng, merged)  # this process at once; other processes within seconds
    files.invalidate(eng)  # the storage backend too
    return json_response(files_settings.public(merged))


ROUTES = [settings_view, settings_update]
