"""Events that are not record writes: auth flows (``auth.*``) and job runs (``job.*``), in the
same ``_events`` stream, written the same durable way (docs/events.md).

Their ``action`` is the event type; record events keep ``create``/``update``/``delete``, so a
listener that handles records only checks ``event.is_record`` (realtime does: these never reach
clients).

    await emit.append(conn, "auth.verified", collection_id=coll.id, collection=coll.name,
                      subject_id=record["id"], data=record)       # in the caller's transaction
    await emit.publish(db, "job.failed", subject_id=run["id"], data={...})  # a transaction of its own
"""

from __future__ import annotations

from typing import Any

import msgspec

from baas.db import Database
from baas.ids import now_str

RECORD_ACTIONS = frozenset({"create", "update", "delete"})
AUTH_SIGNIN = "auth.signin"  # a sign-in completed (a token issued; refresh excluded)
# The key of an auth.signin event's data that says how: {"method": "password"|"otp"|"oauth2"|"totp"|
# "impersonate"|"mfa", "factors": [first, second] (mfa), "superuser": id (impersonate)}. No field
# can be named so (field names are identifiers), so it never hides a record's value.
SIGNIN_KEY = "@signin"
AUTH_SIGNUP = "auth.signup"  # an auth record created by an auth flow (OAuth2 sign-up)
AUTH_PASSWORD_RESET = "auth.password_reset"  # confirm-password-reset done
AUTH_VERIFIED = "auth.verified"  # confirm-verification done (or an OTP proved the address)
AUTH_EMAIL_CHANGE = "auth.email_change"  # confirm-email-change done
AUTH_EVENTS = (AUTH_SIGNIN, AUTH_SIGNUP, AUTH_PASSWORD_RESET, AUTH_VERIFIED, AUTH_EMAIL_CHANGE)
JOB_STATUSES = ("success", "failed", "timeout", "abandoned", "skipped")
JOB_EVENTS = tuple(f"job.{s}" for s in JOB_STATUSES)
EVENT_TYPES = (*sorted(RECORD_ACTIONS), *AUTH_EVENTS, *JOB_EVENTS)

_encode = msgspec.json.Encoder(enc_hook=str).encode
_INSERT = (
    'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
    "VALUES (?, ?, ?, ?, ?, ?)"
)


async def append(
    conn: Any, type: str, *, subject_id: str, data: dict[str, Any], collection_id: str = "", collection: str = ""
) -> None:
    """Append a ``type`` event in the transaction of ``conn``: it commits or rolls back with it.
    ``data`` must hold no secret (it is what consumers, webhooks included, receive)."""
    if type in RECORD_ACTIONS:
        raise ValueError("record events are written by the record write path")
    await conn.execute(_INSERT, (collection_id, collection, subject_id, type, _encode(data).decode(), now_str()))


async def publish(
    db: Database,
    type: str,
    *,
    subject_id: str,
    data: dict[str, Any],
    collection_id: str = "",
    collection: str = "",
) -> None:
    """`append` in a transaction of its own (for events with no write to go with)."""

    async def tx(conn: Any) -> None:
        await append(conn, type, subject_id=subject_id, data=data, collection_id=collection_id, collection=collection)

    await db.write(tx)
