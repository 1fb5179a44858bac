"""``/api/settings``: superusers read and patch the server settings (kept in ``_params``)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, patch

from baas.api.batch import MAX_REQUESTS
from baas.api.deps import engine, json_response, read_body, request_info, require_superuser
from baas.ids import now_str

DEFAULTS: dict[str, Any] = {
    "meta": {"appName": "baas", "appURL": "http://127.0.0.1:8090", "hideControls": False,
             "senderName": "Support", "senderAddress": "support@example.com"},
    "batch": {"enabled": True, "maxRequests": MAX_REQUESTS, "timeout": 3, "maxBodySize": 0},
    "logs": {"maxDays": 5, "minLevel": 0, "logIP": True, "logAuthId": False},
    "rateLimits": {"enabled": False, "rules": []},
}


def _merge(base: dict[str, Any], patch_: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch_.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


async def load_settings(eng: Any) -> dict[str, Any]:
    raw = await eng.db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', ["settings"])
    return _merge(DEFAULTS, json.loads(raw) if raw else {})


@get("/api/settings")
async def settings_view(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(await load_settings(engine(request)))


@patch("/api/settings")
async def settings_update(request: Request) -> Response:
    require_superuser(await request_info(request))
    eng = engine(request)
    body = await read_body(request)
    merged = _merge(await load_settings(eng), {k: v for k, v in body.items() if k in DEFAULTS})
    stored = json.dumps(merged)

    async def save(conn: Any) -> None:
        await conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"])
        await conn.execute('INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)',
                           ["settings", stored, now_str()])

    await eng.db.write(save)
    return json_response(merged)


ROUTES = [settings_view, settings_update]
