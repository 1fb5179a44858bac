"""``GET /api/health`` as PocketBase answers it."""

from __future__ import annotations

from litestar import Response, get

from baas.api.deps import json_response


@get("/api/health")
async def health() -> Response[bytes]:
    return json_response({"code": 200, "message": "API is healthy.", "data": {}})


ROUTES = [health]
