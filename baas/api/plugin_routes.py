"""The HTTP half of the plugin API: what `baas.plugins.PluginApp`'s helpers for route handlers
(``app.request_info(request)``, ``app.require_superuser(request)``) need from this layer.

`baas.app.create_app` hands `RequestHelpers` to the loaded plugins (`Loaded.serve`), so the
plugin API below the HTTP layer never imports it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from baas.api import deps
from baas.rules.context import RequestInfo


class RequestHelpers:
    """The requester of a plugin route's request, as the record routes see it (implements
    `baas.plugins.RouteHelpers`)."""

    async def request_info(self, request: Request[Any, Any, Any]) -> RequestInfo:
        """From the request's auth token or API key (``.auth`` None for guests)."""
        return await deps.request_info(request)

    def require_superuser(self, req: RequestInfo) -> None:
        """401 without auth, 403 for anyone but a superuser (PocketBase's shape)."""
        deps.require_superuser(req)
