"""Request plumbing of the console and superuser routes (collections, rules, crons, installer,
files, OpenAPI): the request type their handlers take and the superuser gate.

Kept next to `baas.api.deps` rather than in it while issue 11's refactor splits the work by file.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from baas.api.deps import engine, request_info, require_superuser
from baas.core import Engine

AnyRequest = Request[Any, Any, Any]
"""A Litestar request whose user, auth and state the handler does not read (it asks `deps`)."""


async def superuser_engine(request: AnyRequest) -> Engine:
    """The engine, once the request is known to come from a superuser (else 401 or 403)."""
    require_superuser(await request_info(request))
    return engine(request)
