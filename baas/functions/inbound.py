"""Inbound webhooks: ``POST /api/webhooks/in/{name}`` verifies the sender's signature over the raw
body, refuses stale timestamps and replays, then hands the event to a function (docs/recipes.md).

Schemes:

- ``standard`` (Standard Webhooks): headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds)
  and ``webhook-signature`` (space-separated ``v1,<base64>``); the signature is HMAC-SHA256 over
  ``{id}.{timestamp}.{body}`` keyed with the base64 bytes after ``whsec_``. The message id is
  ``webhook-id``.
- ``stripe``: header ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]``; HMAC-SHA256 over
  ``{t}.{body}`` keyed with the endpoint secret's text, hex. The message id is the event's ``id``
  (Stripe signs each retry anew, so the signature cannot serve as one).

Replay protection: a verified message id is claimed as ``processing`` in ``_inbound_messages`` (its
own committed write, with a lease of the function's timeout plus `LEASE_MARGIN`) before the
function runs, and marked ``done`` right after it returns. A ``done`` id is a duplicate, answered
200 without running the function again (an idempotent 200 ends the sender's retries); an id whose
claim is live answers 409 (`InProgress`: the sender retries later); a claim past its lease (the
process died) is taken over in the same statement that claims. When the function fails, the claim
is dropped so the sender's retry runs it. The claim and the take-over are one
``INSERT … ON CONFLICT DO UPDATE … WHERE`` (race-free on SQLite and PostgreSQL). Remaining window:
``done`` is a separate write after the function's own writes, so a crash between the two lets a
retry (after the lease) run the function again; functions should stay idempotent per message id.
Ids are kept `KEEP_DAYS` days.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from baas.errors import ApiError, BadRequest, NotFound, SchemaError, Unauthorized
from baas.ids import format_dt
from baas.rules.context import RequestInfo
from baas.schema.inbound import InboundWebhook, secret_problem
from baas.schema.loader import load_schema

if TYPE_CHECKING:
    from baas.core import Engine
    from baas.db.base import Conn

log = logging.getLogger("baas.inbound")
KEEP_DAYS = 7  # replay window: Stripe retries a delivery for up to 3 days, re-signed each time
PRUNE_EVERY = 3600.0  # seconds between prunes of old message ids (per process)
MAX_ID = 255
LEASE_MARGIN = 60.0  # seconds past the function's timeout before a processing claim counts as dead
INVALID_SIGNATURE = "Invalid webhook signature."
_decode = msgspec.json.Decoder().decode


class InProgress(ApiError):
    """The message id is being handled by another call whose claim is live: the sender retries later."""

    status = 409
    default_message = "This webhook message is being processed; retry later."


class InboundFailed(ApiError):
    status = 500
    default_message = "The webhook could not be handled."


@dataclass(frozen=True)
class Verified:
    """A delivery whose signature checked out: its message id, signed time and event."""

    id: str
    timestamp: int
    event: dict[str, Any]


def _timestamp(value: str, hook: InboundWebhook, at: float) -> int:
    if not value.isdigit():
        raise BadRequest("The webhook timestamp is not a Unix time in seconds.")
    ts = int(value)
    if abs(at - ts) > hook.tolerance:
        raise Unauthorized(f"The webhook timestamp is outside the tolerance ({hook.tolerance:g}s).")
    return ts


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = _decode(body)
    except msgspec.DecodeError:
        raise BadRequest("The webhook body is not valid JSON.") from None
    if not isinstance(event, dict):
        raise BadRequest("The webhook body must be a JSON object.")
    return event


def verify_standard(hook: InboundWebhook, headers: Mapping[str, str], body: bytes, at: float) -> Verified:
    """Check a Standard Webhooks delivery; `BadRequest` for missing or malformed headers,
    `Unauthorized` for a stale timestamp or a signature that does not match."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    sigs = headers.get("webhook-signature", "")
    if not (msg_id and stamp and sigs):
        raise BadRequest("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    if len(msg_id) > MAX_ID:
        raise BadRequest(f"The webhook-id header is longer than {MAX_ID} characters.")
    ts = _timestamp(stamp, hook, at)
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(hook.key(), signed, hashlib.sha256).digest())
    given = [p.split(",", 1)[1] for p in sigs.split() if p.startswith("v1,")]
    if not given:
        raise BadRequest("The webhook-signature header holds no v1 signature.")
    # Every candidate is compared (no early exit on the first mismatch's position).
    if not any(hmac.compare_digest(expected, g.encode()) for g in given):
        raise Unauthorized(INVALID_SIGNATURE)
    return Verified(msg_id, ts, _event(body))


def verify_stripe(hook: InboundWebhook, headers: Mapping[str, str], body: bytes, at: float) -> Verified:
    """Check a delivery signed with Stripe's scheme (``Stripe-Signature``)."""
    header = headers.get("stripe-signature", "")
    if not header:
        raise BadRequest("Missing Stripe-Signature header.")
    stamps: list[str] = []
    given: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1":
            given.append(value)
    if len(stamps) != 1 or not given:
        raise BadRequest("The Stripe-Signature header needs one t= timestamp and a v1= signature.")
    ts = _timestamp(stamps[0], hook, at)
    expected = hmac.new(hook.key(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest().encode()
    if not any(hmac.compare_digest(expected, g.encode()) for g in given):
        raise Unauthorized(INVALID_SIGNATURE)
    event = _event(body)
    msg_id = event.get("id")
    if not isinstance(msg_id, str) or not msg_id or len(msg_id) > MAX_ID:
        raise BadRequest("The Stripe event has no id.")
    return Verified(msg_id, ts, event)


VERIFIERS = {"standard": verify_standard, "stripe": verify_stripe}


class InboundWebhooks:
    """The engine's inbound webhooks (``eng.inbound``): loaded from ``baas.yaml`` at start."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hooks: dict[str, InboundWebhook] = {}
        self._pruned_at = 0.0

    def load(self) -> None:
        """Read the declarations; in the server (functions loaded) also check each one's function
        and secret. An error names the webhook and its line; nothing is kept."""
        s = self.engine.settings
        path = s.project_file or s.schema_file
        hooks: dict[str, InboundWebhook] = {}
        if path and Path(path).is_file():
            schema = load_schema(path)
            for hook in schema.inboundWebhooks:
                line = schema.inbound_lines.get(hook.name)
                if self.engine.functions.loaded:
                    problem = self._runtime_problem(hook)
                    if problem:
                        raise SchemaError(f"inbound webhook {hook.name!r}: {problem}", path=path, line=line)
                hooks[hook.name] = hook
        self.hooks = hooks

    def _runtime_problem(self, hook: InboundWebhook) -> str | None:
        fns = self.engine.functions
        if fns.get(hook.function) is None:
            return f"unknown function {hook.function!r} (functions: {', '.join(fns.names()) or 'none declared'})"
        if hook.secretEnv:
            value = hook.secret_value()
            if not value:
                return f"the environment variable {hook.secretEnv} (secretEnv) is not set"
            return secret_problem(hook.scheme, value)
        return None

    def get(self, name: str) -> InboundWebhook | None:
        """The enabled webhook ``name``, or None."""
        hook = self.hooks.get(name)
        return hook if hook is not None and hook.enabled else None

    async def receive(self, name: str, headers: Mapping[str, str], body: bytes) -> tuple[Verified, bool, Any]:
        """Verify one delivery (``headers``: lower-case names) and run its function once per
        message id: (the delivery, whether it was a duplicate, the function's answer)."""
        hook = self.get(name)
        if hook is None:
            raise NotFound("The requested inbound webhook wasn't found.")
        if not hook.secret_value():
            log.error("inbound webhook %s: no secret (secretEnv %s is not set)", name, hook.secretEnv)
            raise InboundFailed()
        got = VERIFIERS[hook.scheme](hook, headers, body, time.time())
        db = self.engine.db
        fn = self.engine.functions.get(hook.function)
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=(fn.timeout if fn is not None else 10.0) + LEASE_MARGIN)
        stamp = format_dt(now)

        async def claim(conn: Conn) -> int:
            # One statement: a new id, or a processing claim whose lease is over, becomes ours.
            return int(
                await conn.execute(
                    'INSERT INTO "_inbound_messages" ("webhook", "message_id", "received", "state", "lease") '
                    "VALUES (?, ?, ?, 'processing', ?) "
                    'ON CONFLICT ("webhook", "message_id") DO UPDATE SET "received" = excluded."received", '
                    '"lease" = excluded."lease" '
                    'WHERE "_inbound_messages"."state" = \'processing\' AND "_inbound_messages"."lease" < ?',
                    [name, got.id, stamp, format_dt(lease), stamp],
                )
            )

        if await db.write(claim) != 1:
            state = await db.fetchval(
                'SELECT "state" FROM "_inbound_messages" WHERE "webhook" = ? AND "message_id" = ?', [name, got.id]
            )
            if state == "done":
                log.info("inbound webhook %s: message %s already handled", name, got.id)
                return got, True, None
            raise InProgress()
        req = RequestInfo(
            auth={"id": "", "collectionName": "_superusers", "collectionId": ""},
            body=got.event,
            headers={k.lower().replace("-", "_"): v for k, v in headers.items()},
            method="POST",
            context="webhook",
        )
        meta = {"name": name, "scheme": hook.scheme, "id": got.id, "timestamp": got.timestamp}
        try:
            if self.engine.functions.get(hook.function) is None:
                log.error("inbound webhook %s: function %s is not declared", name, hook.function)
                raise InboundFailed()
            result = await self.engine.functions.call(hook.function, req, got.event, check_rule=False, webhook=meta)
        except BaseException:
            # Not handled: forget the id, so the sender's retry runs the function.
            forget = db.write(
                lambda conn: conn.execute(
                    'DELETE FROM "_inbound_messages" WHERE "webhook" = ? AND "message_id" = ? '
                    'AND "state" = \'processing\' AND "lease" = ?',
                    [name, got.id, format_dt(lease)],
                )
            )
            await asyncio.shield(forget)
            raise
        done = db.write(
            lambda conn: conn.execute(
                'UPDATE "_inbound_messages" SET "state" = \'done\' WHERE "webhook" = ? AND "message_id" = ?',
                [name, got.id],
            )
        )
        await asyncio.shield(done)
        await self._maybe_prune()
        return got, False, result

    async def _maybe_prune(self) -> None:
        mono = time.monotonic()
        if self._pruned_at and mono - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = mono
        await self.prune()

    async def prune(self, days: float = KEEP_DAYS) -> int:
        """Forget message ids received more than ``days`` ago; how many."""
        cutoff = format_dt(datetime.now(UTC) - timedelta(days=days))
        return await self.engine.db.write(
            lambda conn: conn.execute('DELETE FROM "_inbound_messages" WHERE "received" < ?', [cutoff])
        )
