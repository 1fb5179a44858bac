"""Inbound webhooks as declared in ``baas.yaml`` (docs/recipes.md): the model and its checks.

```yaml
inboundWebhooks:
  - name: stripe                 # POST /api/webhooks/in/stripe
    scheme: stripe               # stripe (Stripe-Signature) | standard (Standard Webhooks)
    secretEnv: STRIPE_WEBHOOK_SECRET   # or secret: whsec_… (prefer the environment)
    function: stripe_event       # a function of the functions/ package, called with the event
    tolerance: 300               # seconds a signed timestamp may be off (default 5 minutes)
    maxBodySize: 1048576         # bytes (default 1 MiB)
```
Everything that needs no running engine is checked when the file loads, with its line; the
function is checked once plugins (and so the functions package) have loaded.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Literal

import msgspec

from baas.errors import SchemaError

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
SCHEMES = ("standard", "stripe")
MIN_SECRET_BYTES = 24  # Standard Webhooks: secrets are 24 to 64 random bytes
MIN_STRIPE_SECRET = 16
MAX_BODY = 25 * 1024 * 1024


class InboundWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One receiving endpoint: who signs (``scheme``, the shared secret), what runs (``function``)."""

    name: str
    scheme: Literal["standard", "stripe"]
    function: str
    secret: str = ""
    secretEnv: str = ""
    tolerance: float = 300.0
    maxBodySize: int = 1024 * 1024
    enabled: bool = True

    def secret_value(self) -> str:
        """The shared secret: ``secret``, or the environment variable ``secretEnv`` names ("" if unset)."""
        return self.secret or os.environ.get(self.secretEnv, "")

    def key(self) -> bytes:
        """The HMAC key: Standard Webhooks uses the base64 bytes after ``whsec_``; Stripe uses the
        endpoint secret's text as given."""
        secret = self.secret_value()
        if self.scheme == "standard":
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        return secret.encode()


def secret_problem(scheme: str, secret: str) -> str | None:
    """What is wrong with ``secret`` for ``scheme``, or None."""
    if scheme == "standard":
        if not secret.startswith("whsec_"):
            return "a Standard Webhooks secret starts with whsec_ (whsec_ + base64 of 24 to 64 random bytes)"
        try:
            raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return "the part after whsec_ is not valid base64"
        if len(raw) < MIN_SECRET_BYTES:
            return f"secret too short: {len(raw)} bytes after whsec_, at least {MIN_SECRET_BYTES}"
        return None
    if len(secret) < MIN_STRIPE_SECRET:
        return f"secret too short: at least {MIN_STRIPE_SECRET} characters (Stripe's endpoint secret, whsec_…)"
    return None


def check_inbound(hooks: list[InboundWebhook], path: str, lines: dict[str, int]) -> None:
    """Everything about ``hooks`` that needs no running engine; the error names the webhook and line."""
    seen: set[str] = set()
    for i, hook in enumerate(hooks):
        problem = _problem(hook, seen)
        if problem:
            raise SchemaError(
                f"inbound webhook {hook.name!r}: {problem}", path=path, line=lines.get(f"$.inboundWebhooks[{i}]")
            )
        seen.add(hook.name)


def _problem(hook: InboundWebhook, seen: set[str]) -> str | None:
    if not NAME_RE.match(hook.name):
        return "the name may hold letters, digits, _ . - (at most 100)"
    if hook.name in seen:
        return "declared twice"
    if not hook.function:
        return "function is required (the function of the functions/ package that handles the event)"
    if bool(hook.secret) == bool(hook.secretEnv):
        return "give exactly one of secret or secretEnv (the name of an environment variable holding it)"
    if hook.secretEnv and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", hook.secretEnv):
        return f"secretEnv {hook.secretEnv!r} is not an environment variable name"
    if hook.secret:
        problem = secret_problem(hook.scheme, hook.secret)
        if problem:
            return problem
    if not 0 < hook.tolerance <= 86400:
        return "tolerance must be between 0 and 86400 seconds"
    if not 0 < hook.maxBodySize <= MAX_BODY:
        return f"maxBodySize must be between 1 and {MAX_BODY} bytes"
    return None
