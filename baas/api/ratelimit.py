"""Rate limits as PocketBase configures them: ``settings.rateLimits = {enabled, rules: [{label,
maxRequests, duration, audience}]}``, answered with 429 in the API error shape.

Which rule applies (PocketBase's ``FindRateLimitRule``): a request has a list of labels, most
specific first. Collection routes start with ``<collection>:<tag>`` then ``*:<tag>`` (tags:
``list view create update delete``, ``listAuthMethods authRefresh authWithPassword auth
authWithOAuth2 authWithOTP requestOTP …``, ``file``); every route ends with ``"<METHOD> <path>"``
and ``"<path>"``. For each label in turn, the first rule with exactly that label wins, then the
first rule whose label ends with ``/`` and is a prefix of ``label + "/"``. A rule applies only to
its audience: ``""`` everyone, ``@guest`` requests without a valid token, ``@auth`` with one.
Superusers are never limited.

Counting: fixed windows of ``duration`` seconds, ``maxRequests`` per window, one counter per
client: the client IP (see ``clientip``) for guests, the auth record for signed-in requests.
A rule matched through a collection route counts per collection and route (as PocketBase);
other rules count per rule. The counters live in this process's memory: with several workers or
nodes each counts on its own, so the effective limit is N × maxRequests.

Cheap when off: the middleware keeps a snapshot of the settings, refreshed when this process's
settings API changes them (``settings_changed``) and re-read every few seconds for changes made
by other processes; a disabled limiter costs one comparison per request.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
import weakref
from dataclasses import dataclass
from typing import Any, Awaitable

import msgspec

from baas.api.clientip import client_ip
from baas.errors import ApiError

security = logging.getLogger("baas.security")
log = logging.getLogger("baas")
_monotonic = time.monotonic

REFRESH_SECONDS = 3.0  # how stale another process's settings change may be here
SWEEP_SECONDS = 60.0
MAX_WINDOWS = 100_000  # counters kept before an early sweep (bounds memory under a flood)

GUEST = ("", "@guest")
AUTHED = ("", "@auth")

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
_RECORD_ACTIONS = {("GET", False): "list", ("POST", False): "create", ("GET", True): "view",
                   ("PATCH", True): "update", ("DELETE", True): "delete"}

_BODY_429 = msgspec.json.encode({"data": {}, "message": "Too Many Requests.", "status": 429})


@dataclass(frozen=True)
class Rule:
    label: str
    max_requests: int
    duration: int
    audience: str = ""


def parse_rules(settings: dict[str, Any]) -> tuple[bool, tuple[Rule, ...]]:
    """(enabled, rules) of the merged settings; malformed rules (never stored: the settings API
    validates them) are skipped rather than trusted."""
    section = settings.get("rateLimits") or {}
    rules = []
    for r in section.get("rules") or ():
        try:
            rule = Rule(str(r["label"]), int(r["maxRequests"]), int(r["duration"]), str(r.get("audience") or ""))
        except (KeyError, TypeError, ValueError):
            continue
        if rule.max_requests >= 1 and rule.duration >= 1:
            rules.append(rule)
    return bool(section.get("enabled")) and bool(rules), tuple(rules)


_LABEL = re.compile(r"^(\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+)$", re.ASCII)
_AUDIENCES = ("", "@guest", "@auth")


def _err(code: str, message: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **({"params": params} if params else {})}


def _check_count(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return _err("validation_invalid_value", "Must be a whole number.")
    if value == 0:
        return _err("validation_required", "Cannot be blank.")
    if value < 1:
        return _err("validation_min_greater_equal_than_required", "Must be no less than 1.", threshold=1)
    return None


def validate(section: dict[str, Any]) -> dict[str, Any]:
    """Field errors of a ``rateLimits`` settings section, keyed as PocketBase keys them
    (``rules.<i>.label`` …); {} when valid. Rules are checked even while disabled."""
    errors: dict[str, Any] = {}
    rules = section.get("rules")
    if isinstance(rules, list):
        rule_errors: dict[str, Any] = {}
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                rule_errors[str(i)] = _err("validation_invalid_value", "Must be an object.")
                continue
            problems: dict[str, Any] = {}
            label = rule.get("label")
            if not isinstance(label, str) or not label:
                problems["label"] = _err("validation_required", "Cannot be blank.")
            elif not _LABEL.match(label):
                problems["label"] = _err("validation_match_invalid", "Must be in a valid format.")
            for name in ("maxRequests", "duration"):
                bad = _check_count(rule.get(name, 0))
                if bad:
                    problems[name] = bad
            if rule.get("audience", "") not in _AUDIENCES:
                problems["audience"] = _err("validation_in_invalid", "Must be a valid value.")
            if problems:
                rule_errors[str(i)] = problems
        if rule_errors:
            errors["rules"] = rule_errors
        elif section.get("enabled") is True and not rules:
            errors["rules"] = _err("validation_required", "Cannot be blank.")
        else:
            # One rule per label and audience; "" (everyone) overlaps both "@guest" and "@auth".
            seen: list[str] = []
            for i, rule in enumerate(rules):
                full = f"{rule['label']}@@{rule.get('audience', '')}"
                if any(k.startswith(full) or full.startswith(k) for k in seen):
                    errors["rules"] = {str(i): {"label": _err(
                        "validation_conflicting_rate_limit_rule",
                        f"Rate limit rule configuration with label {rule['label']} already exists or conflicts "
                        "with another rule.", label=rule["label"])}}
                    break
                seen.append(full)
    excluded = section.get("excludedIPs")
    if excluded is not None:
        if not isinstance(excluded, list):
            errors["excludedIPs"] = _err("validation_invalid_value", "Must be a list.")
        else:
            bad_ips = {}
            for i, ip in enumerate(excluded):
                if not isinstance(ip, str) or not ip:
                    bad_ips[str(i)] = _err("validation_required", "Cannot be blank.")
                elif _network(ip) is None:
                    bad_ips[str(i)] = _err("validation_invlaid_ip_or_subnet",  # sic: PocketBase's code
                                        "Invalid IP or CIDR subnet.")
            if bad_ips:
                errors["excludedIPs"] = bad_ips
    return errors


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def find_rule(rules: tuple[Rule, ...], labels: list[str], audiences: tuple[str, ...]) -> Rule | None:
    """The rule for the first label that has one: an exact label first, then a ``…/`` prefix."""
    prefixes = [r for r in rules if r.label.endswith("/")]
    for label in labels:
        for r in rules:
            if r.label == label and r.audience in audiences:
                return r
        slashed = label + "/"
        for r in prefixes:
            if slashed.startswith(r.label) and r.audience in audiences:
                return r
    return None


def route_labels(method: str, path: str, registry: Any) -> tuple[list[str], str | None]:
    """The labels of a request, most specific first, and for collection routes the counter id
    of the route (collection id + route + tags; None for other routes)."""
    tail = [f"{method} {path}", path]
    parts = path.split("/")
    tags: tuple[str, ...] = ()
    pattern = ""
    if len(parts) >= 5 and parts[1] == "api" and parts[2] == "collections":
        action = parts[4]
        if action == "records" and len(parts) in (5, 6):
            tag = _RECORD_ACTIONS.get((method, len(parts) == 6))
            tags = (tag,) if tag else ()
            pattern = "/api/collections/{collection}/records" + ("/{id}" if len(parts) == 6 else "")
        elif len(parts) == 5:
            tags = _AUTH_ACTIONS.get(action) or (
                ("authWith" + action[10:].replace("-", " ").title().replace(" ", ""), "auth")
                if action.startswith("auth-with-") else ())
            pattern = "/api/collections/{collection}/" + action
    elif len(parts) == 6 and parts[1] == "api" and parts[2] == "files" and method == "GET":
        tags, pattern = ("file",), "/api/files/{collection}/{id}/{filename}"
    if not tags:
        return tail, None
    coll = registry.get(parts[3])
    if coll is None:  # the handler answers 404; limit it as a plain path
        return tail, None
    labels = [f"{coll.name}:{t}" for t in tags] + [f"*:{t}" for t in tags] + tail
    return labels, f"{coll.id} {method} {pattern} {'/'.join(tags)}"


class Limiter:
    """A process's rate-limit settings snapshot and its fixed-window counters (one per engine)."""

    def __init__(self) -> None:
        self.enabled = False
        self.rules: tuple[Rule, ...] = ()
        self.excluded: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
        self.settings: dict[str, Any] = {}
        self.checked = -math.inf  # monotonic time of the last settings read
        self._section: Any = None
        self._windows: dict[str, list[Any]] = {}  # key -> [window start, count, duration, warned]
        self._swept = time.monotonic()

    def apply(self, settings: dict[str, Any]) -> None:
        """Take new settings; changed rate limits start every counter afresh (as PocketBase)."""
        self.settings = settings
        self.checked = time.monotonic()
        section = settings.get("rateLimits")
        if section != self._section:
            self._section = section
            self.enabled, self.rules = parse_rules(settings)
            nets = (_network(ip) for ip in (section or {}).get("excludedIPs") or () if isinstance(ip, str))
            self.excluded = tuple(n for n in nets if n is not None)
            self._windows = {}

    async def refresh(self, eng: Any) -> None:
        from baas.api.settings import load_settings

        self.checked = time.monotonic()  # concurrent requests keep the old snapshot meanwhile
        try:
            self.apply(await load_settings(eng))
        except Exception:  # a passing database error: keep the last known settings
            log.warning("rate limits: could not read the settings", exc_info=True)

    def hit(self, key: str, rule: Rule, now: float) -> float:
        """Count one request; 0 if allowed, else the seconds until the window resets."""
        w = self._windows.get(key)
        if w is None or now - w[0] >= w[2]:
            if now - self._swept > SWEEP_SECONDS or len(self._windows) > MAX_WINDOWS:
                self._sweep(now)
            self._windows[key] = [now, 1, rule.duration, 0]
            return 0.0
        if w[1] < rule.max_requests:
            w[1] += 1
            return 0.0
        return max(w[0] + w[2] - now, 0.001)

    def first_refusal(self, key: str) -> bool:
        """True once per window and key: the security log gets one line per client and window."""
        w = self._windows[key]
        warned, w[3] = w[3], 1
        return not warned

    def _sweep(self, now: float) -> None:
        self._swept = now
        self._windows = {k: w for k, w in self._windows.items() if now - w[0] < w[2]}
        if len(self._windows) > MAX_WINDOWS:  # a flood of distinct clients: keep the newest half
            newest = sorted(self._windows.items(), key=lambda kw: kw[1][0])[-MAX_WINDOWS // 2:]
            self._windows = dict(newest)


def _is_excluded(ip: str, networks: tuple[Any, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in n for n in networks)


_limiters: weakref.WeakKeyDictionary[Any, Limiter] = weakref.WeakKeyDictionary()


def limiter_for(eng: Any) -> Limiter:
    """The limiter of ``eng`` in this process."""
    lim = _limiters.get(eng)
    if lim is None:
        lim = _limiters[eng] = Limiter()
    return lim


def settings_changed(eng: Any, settings: dict[str, Any]) -> None:
    """Called by the settings API after a change, so this process applies it at once."""
    limiter_for(eng).apply(settings)


def cached_settings(eng: Any) -> dict[str, Any]:
    """The settings this process last read (for the client IP in logs; {} before the first read)."""
    return limiter_for(eng).settings


def _token(scope: dict[str, Any]) -> str:
    for k, v in scope["headers"]:
        if k == b"authorization":
            value = v.decode("latin-1")
            return (value[7:] if value[:7].lower() == "bearer " else value).strip()
    return ""


class RateLimitMiddleware:
    """Pure-ASGI middleware in front of the whole app (the record fast path included) that
    applies ``settings.rateLimits``; attributes it lacks are the wrapped app's."""

    def __init__(self, app: Any, engine: Any) -> None:
        self.app = app
        self.engine = engine
        self.limiter = limiter_for(engine)

    def __getattr__(self, name: str) -> Any:  # ``app.state``, ``app.baas_engine`` … as before
        return getattr(self.app, name)

    def __call__(self, scope: Any, receive: Any, send: Any) -> Awaitable[None]:
        # A plain function handing back the app's own coroutine: while limits are off (and the
        # settings fresh) a request pays for one comparison, not for another coroutine frame.
        lim = self.limiter
        if not lim.enabled and _monotonic() - lim.checked < REFRESH_SECONDS:
            return self.app(scope, receive, send)
        return self._limited(scope, receive, send)

    async def _limited(self, scope: Any, receive: Any, send: Any) -> None:
        lim = self.limiter
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if time.monotonic() - lim.checked >= REFRESH_SECONDS:
            await lim.refresh(self.engine)
        if lim.enabled:
            retry = await self._check(scope)
            if retry:
                await self._refuse(scope, send, retry)
                return
        await self.app(scope, receive, send)

    async def _requester(self, token: str) -> tuple[str, str] | None:
        """(collection name, counter key) of a valid token or API key; None for a guest."""
        from baas.api.deps import auth_record
        from baas.auth import apikeys

        if apikeys.is_key(token):
            try:
                key = await apikeys.authenticate(self.engine.db, token)
            except ApiError:
                return None
            return apikeys.COLLECTION, f"apikey:{key.get('id', '')}"
        found = await auth_record(self.engine, token)
        if found is None:
            return None
        return found[0].name, f"auth:{found[0].id}:{found[1].get('id', '')}"

    async def _check(self, scope: Any) -> float:
        lim = self.limiter
        method, path = scope["method"], scope["path"]
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
            if lim.excluded and _is_excluded(ip, lim.excluded):
                return 0.0
            rule, client = guest_rule, f"ip:{ip}"
        if rule is None:
            return 0.0
        key = f"{route_id or rule.label}|{rule.audience}|{client}"
        retry = lim.hit(key, rule, time.monotonic())
        if retry and lim.first_refusal(key):  # one line per client and window, not per refusal
            security.warning("rate limit hit: rule %r (%d per %ds%s) for %s on %s %s", rule.label,
                             rule.max_requests, rule.duration, f", {rule.audience}" if rule.audience else "",
                             client, method, path)
        return retry

    @staticmethod
    async def _refuse(scope: Any, send: Any, retry: float) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY_429)).encode()),
                   (b"retry-after", str(max(1, math.ceil(retry))).encode())]
        if any(k == b"origin" for k, _ in scope["headers"]):  # as the app's CORS config (any origin)
            headers += [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": _BODY_429})
