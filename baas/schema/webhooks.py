"""Outgoing webhooks as declared in ``baas.yaml`` (docs/webhooks.md): the model and the checks
that need no running engine. Whether a collection exists and the filter (its syntax too: the rule
language sits beside this package, not below it) are checked by the engine before it applies anything (baas/webhooks/service.py).

```yaml
webhooks:
  - name: orders-to-erp
    url: https://erp.example.com/hooks/baas
    events: [orders.create, orders.update, customers.*]
    filter: 'total > 100 && status = "paid"'      # the rule language, on the record
    headers: {X-Tenant: acme}
    secret: env:ERP_WEBHOOK_SECRET                 # or whsec_<base64, at least 24 bytes>
    previousSecret: whsec_…                        # signs too, until previousSecretUntil
    previousSecretUntil: 2026-12-31 00:00:00Z
    timeout: 10                                    # seconds per attempt
    retryWindow: 24h                               # then dead-lettered
    disableAfter: 20                               # consecutive failed attempts
    allowPrivate: false                            # refuse loopback/private targets
```
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from baas.errors import SchemaError
from baas.ids import parse_dt

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
ACTIONS = ("create", "update", "delete", "*")
SPECIAL = ("auth", "job")  # event type prefixes that are not collections
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
# Headers baas sets itself: a declared header may not replace them.
RESERVED_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host"}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(s|m|h|d))+$")
_UNIT = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Webhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One outgoing webhook: where (``url``), on what (``events``, ``filter``), signed how
    (``secret``, rotation) and how hard to try (``timeout``, ``retryWindow``, ``disableAfter``)."""

    name: str
    url: str
    events: list[str]
    filter: str = ""
    headers: dict[str, str] = {}
    secret: str = ""
    previousSecret: str = ""
    previousSecretUntil: str = ""
    enabled: bool = True
    timeout: float = 10.0
    retryWindow: float | str = 86400.0
    disableAfter: int = 20
    allowPrivate: bool = False

    def window_seconds(self) -> float:
        """``retryWindow`` in seconds (a number, or ``30s``, ``10m``, ``24h``, ``2d``, ``1h30m``)."""
        return duration(self.retryWindow)

    def collections(self) -> set[str]:
        """The collection names the record events name."""
        return {e.rsplit(".", 1)[0] for e in self.events if not is_special(e)}


def duration(value: float | str) -> float:
    """Seconds from a number or a ``1h30m`` style text (ValueError if neither)."""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    if not _DURATION.match(text):
        raise ValueError(f"{value!r} is not a duration (seconds, or like 30s, 10m, 24h, 2d)")
    return sum(float(n) * _SECONDS[u] for n, u in _UNIT.findall(text))


def secret_value(secret: str) -> str:
    """The secret itself: ``env:NAME`` reads the environment (KeyError naming NAME if unset)."""
    if secret.startswith("env:"):
        name = secret[4:]
        value = os.environ.get(name)
        if not value:
            raise KeyError(name)
        return value
    return secret


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret (ValueError saying what is wrong)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX} followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not {SECRET_PREFIX} followed by valid base64") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"is too short: {len(key)} bytes decoded, at least {MIN_SECRET_BYTES} needed")
    return key


def url_problem(url: str) -> str | None:
    """What is wrong with a target URL, or None (reachability is checked when sending)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"invalid url {url!r}: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"invalid url {url!r}: it needs an http:// or https:// scheme"
    if not parts.hostname:
        return f"invalid url {url!r}: it has no host"
    if parts.username or parts.password:
        return f"invalid url {url!r}: credentials in the URL are not allowed (use headers)"
    return None


def is_special(event: str) -> bool:
    """``auth.*``/``job.*`` style types (sign-ins, job results), not record events. A collection
    named ``auth`` or ``job`` keeps its record events: ``job.create``/``.update``/``.delete`` name
    the collection (no auth/job event is called that); ``job.*`` and ``auth.*`` stay the special
    wildcards, so such a collection lists its three actions instead."""
    kind, dot, name = event.partition(".")
    return kind in SPECIAL and bool(dot and name) and (name == "*" or name not in ACTIONS)


def event_problem(event: str) -> str | None:
    """What is wrong with an event type's syntax (``posts.create``, ``posts.*``, ``auth.signin``,
    ``job.*``), or None. Which ``auth.``/``job.`` types exist is checked by the engine."""
    if is_special(event):
        return None
    coll, dot, action = event.rpartition(".")
    if not dot or not coll or action not in ACTIONS:
        return f"bad event type {event!r} (use <collection>.create, .update, .delete or .*, auth.* or job.*)"
    return None


def webhook_problem(hook: Webhook, *, check_env: bool = False) -> str | None:
    """The first thing wrong with ``hook`` that needs no schema, or None. ``check_env`` also
    requires ``env:`` secrets to be set (the server; not ``baas schema plan`` on another machine)."""
    if not NAME_RE.match(hook.name) or hook.name == "in":
        return "the name may hold letters, digits, _ . - (at most 100; not 'in': /api/webhooks/in/ is inbound)"
    problem = url_problem(hook.url)
    if problem:
        return problem
    if not hook.events:
        return "events must list at least one event type"
    for event in hook.events:
        problem = event_problem(event)
        if problem:
            return problem
    for key, value in hook.headers.items():
        if not _TOKEN.match(key) or "\n" in value or "\r" in value:
            return f"invalid header {key!r}"
        if key.lower() in RESERVED_HEADERS:
            return f"header {key!r} is set by baas and cannot be overridden"
    return _secret_problem(hook, check_env) or _limits_problem(hook)


def _secret_problem(hook: Webhook, check_env: bool) -> str | None:
    if not hook.secret:
        return f"a secret is required ({SECRET_PREFIX}<base64>, or env:NAME)"
    for label, secret in (("secret", hook.secret), ("previousSecret", hook.previousSecret)):
        if not secret or (secret.startswith("env:") and not check_env):
            continue
        try:
            decode_secret(secret_value(secret))
        except KeyError as exc:
            return f"{label}: the environment variable {exc.args[0]} is not set"
        except ValueError as exc:
            return f"{label} {exc}"
    if hook.previousSecret and parse_dt(hook.previousSecretUntil) is None:
        return "previousSecret needs previousSecretUntil (when the old secret stops signing)"
    return None


def _limits_problem(hook: Webhook) -> str | None:
    if not 0 < hook.timeout <= 300:
        return "timeout must be between 0 and 300 seconds"
    try:
        window = hook.window_seconds()
    except ValueError as exc:
        return f"retryWindow: {exc}"
    if not 0 < window <= 30 * 86400:
        return "retryWindow must be more than 0 and at most 30 days"
    if not 1 <= hook.disableAfter <= 100_000:
        return "disableAfter must be between 1 and 100000"
    return None


def check_webhooks(hooks: list[Webhook], path: str, lines: dict[str, int]) -> None:
    """Everything about the declared ``hooks`` that needs no running engine; the error names the
    webhook and its line."""
    seen: set[str] = set()
    for i, hook in enumerate(hooks):
        problem = "declared twice" if hook.name in seen else webhook_problem(hook)
        if problem:
            raise SchemaError(f"webhook {hook.name!r}: {problem}", path=path, line=lines.get(f"$.webhooks[{i}]"))
        seen.add(hook.name)


def to_config(hook: Webhook) -> dict[str, Any]:
    """The stored form (every option, defaults included)."""
    out: dict[str, Any] = msgspec.to_builtins(hook)
    for f in msgspec.structs.fields(Webhook):
        out.setdefault(f.encode_name, getattr(hook, f.name))
    return out
