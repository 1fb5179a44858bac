"""The rate-limit middleware: labels each request as PocketBase does, asks the engine's
`baas.limiter.Limiter` and answers 429 in the API error shape.

Labels, most specific first: collection routes start with ``<collection>:<tag>`` then
``*:<tag>`` (tags: ``list view create update delete``, ``listAuthMethods authRefresh
authWithPassword auth authWithOAuth2 authWithOTP requestOTP …``, ``file``); every route ends with
``"<METHOD> <path>"`` and ``"<path>"``. Superusers are never limited. Counters are per client:
the client IP (see ``clientip``) for guests, the auth record for signed-in requests. A rule
matched through a collection route counts per collection and route (as PocketBase); other rules
count per rule.

Cheap when off: the limiter keeps a snapshot of the settings, pushed by the settings store when
this process changes them and re-read every few seconds for changes made by other processes; a
disabled limiter costs one comparison per request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable

from baas.api.asgi import ASGIApp, Receive, Scope, Send, send_error
from baas.api.deps import auth_record, token_of
from baas.api.paths import parse_collection_path
from baas.auth import apikeys
from baas.clientip import client_ip
from baas.core import Engine
from baas.errors import ApiError, TooManyRequests
from baas.limiter import AUTHED, GUEST, find_rule, is_excluded
from baas.schema.registry import Registry

security = logging.getLogger("baas.security")
_monotonic = time.monotonic

REFRESH_SECONDS = 3.0  # how stale another process's settings change may be here

# Collection-scoped actions (PocketBase's collectionPathRateLimit tags) by path segment.
_AUTH_ACTIONS: dict[str, tuple[str, ...]] = {
    "auth-methods": ("listAuthMethods",),
    "auth-refresh": ("authRefresh",),
    "auth-with-password": ("authWithPassword", "auth"),
    "auth-with-oauth2": ("authWithOAuth2", "auth"),
    "auth-with-otp": ("authWithOTP", "auth"),
    "request-otp": ("requestOTP",),
    "request-password-reset": ("requestPasswordReset",),
    "confirm-password-reset": ("confirmPasswordReset",),
    "request-verification": ("requestVerification",),
    "confirm-verification": ("confirmVerification",),
    "request-email-change": ("requestEmailChange",),
    "confirm-email-change": ("confirmEmailChange",),
}
_RECORD_ACTIONS = {
    ("GET", False): "list",
    ("POST", False): "create",
    ("GET", True): "view",
    ("PATCH", True): "update",
    ("DELETE", True): "delete",
}
_RECORDS_PATTERN = "/api/collections/{collection}/records"
_FILE_PATTERN = "/api/files/{collection}/{id}/{filename}"


def _auth_tags(action: str) -> tuple[str, ...]:
    """The tags of ``/api/collections/{collection}/{action}`` (none for an unknown action)."""
    tags = _AUTH_ACTIONS.get(action)
    if tags is not None:
        return tags
    if action.startswith("auth-with-"):  # a provider route PocketBase may add: auth-with-<name>
        return ("authWith" + action[10:].replace("-", " ").title().replace(" ", ""), "auth")
    return ()


def _tags(method: str, path: str) -> tuple[str, tuple[str, ...], str]:
    """(collection, tags, route pattern) of a collection-scoped route; no tags for other routes."""
    target = parse_collection_path(path)
    if target is not None:
        if target.is_records:
            one = target.record_id is not None
            tag = _RECORD_ACTIONS.get((method, one))
            return target.collection, (tag,) if tag else (), _RECORDS_PATTERN + ("/{id}" if one else "")
        if target.action and target.record_id is None:
            return target.collection, _auth_tags(target.action), "/api/collections/{collection}/" + target.action
        return "", (), ""
    parts = path.split("/")
    if len(parts) == 6 and parts[1] == "api" and parts[2] == "files" and method == "GET":
        return parts[3], ("file",), _FILE_PATTERN
    return "", (), ""


def route_labels(method: str, path: str, registry: Registry) -> tuple[list[str], str | None]:
    """The labels of a request, most specific first, and for collection routes the counter id
    of the route (collection id + route + tags; None for other routes)."""
    tail = [f"{method} {path}", path]
    name, tags, pattern = _tags(method, path)
    if not tags:
        return tail, None
    coll = registry.get(name)
    if coll is None:  # the handler answers 404; limit it as a plain path
        return tail, None
    labels = [f"{coll.name}:{t}" for t in tags] + [f"*:{t}" for t in tags] + tail
    return labels, f"{coll.id} {method} {pattern} {'/'.join(tags)}"


def _token(scope: Scope) -> str:
    for k, v in scope["headers"]:
        if k == b"authorization":
            return token_of(v.decode("latin-1"))
    return ""


class RateLimitMiddleware:
    """Pure-ASGI middleware in front of the whole app (the record fast path included) that
    applies ``settings.rateLimits``; attributes it lacks are the wrapped app's."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.limiter = engine.limiter

    def __getattr__(self, name: str) -> object:  # ``app.state`` … reach the wrapped app
        return getattr(self.app, name)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function handing back the app's own coroutine: while limits are off (and the
        # settings fresh) a request pays for one comparison, not for another coroutine frame.
        lim = self.limiter
        if not lim.enabled and _monotonic() - lim.checked < REFRESH_SECONDS:
            return self.app(scope, receive, send)
        return self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        lim = self.limiter
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if time.monotonic() - lim.checked >= REFRESH_SECONDS:
            await lim.refresh(self.engine.settings_store)
        if lim.enabled:
            retry = await self._check(scope)
            if retry:
                await send_error(
                    send, scope, TooManyRequests(), headers=[(b"retry-after", str(max(1, math.ceil(retry))).encode())]
                )
                return
        await self.app(scope, receive, send)

    async def _requester(self, token: str) -> tuple[str, str] | None:
        """(collection name, counter key) of a valid token or API key; None for a guest."""
        if apikeys.is_key(token):
            try:
                key = await apikeys.authenticate(self.engine, token)
            except ApiError:
                return None
            return apikeys.COLLECTION, f"apikey:{key.get('id', '')}"
        found = await auth_record(self.engine, token)
        if found is None:
            return None
        return found[0].name, f"auth:{found[0].id}:{found[1].get('id', '')}"

    async def _check(self, scope: Scope) -> float:
        lim = self.limiter
        method: str = scope["method"]
        path: str = scope["path"]
        labels, route_id = route_labels(method, path, self.engine.registry)
        guest_rule = find_rule(lim.rules, labels, GUEST)
        auth_rule = find_rule(lim.rules, labels, AUTHED)
        if guest_rule is None and auth_rule is None:
            return 0.0
        token = _token(scope)
        who = await self._requester(token) if token else None
        if who is not None:
            if who[0] == "_superusers":
                return 0.0
            rule, client = auth_rule, who[1]
        else:
            ip = client_ip(scope, lim.settings)
            if lim.excluded and is_excluded(ip, lim.excluded):
                return 0.0
            rule, client = guest_rule, f"ip:{ip}"
        if rule is None:
            return 0.0
        key = f"{route_id or rule.label}|{rule.audience}|{client}"
        retry = lim.hit(key, rule, time.monotonic())
        if retry and lim.first_refusal(key):  # one line per client and window, not per refusal
            security.warning(
                "rate limit hit: rule %r (%d per %ds%s) for %s on %s %s",
                rule.label,
                rule.max_requests,
                rule.duration,
                f", {rule.audience}" if rule.audience else "",
                client,
                method,
                path,
            )
        return retry
