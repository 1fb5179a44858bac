"""Multi-factor sign-in: a first method that passes opens an MFA session (``_mfas``); a second,
different method that names its id (``mfaId``) before it expires completes the sign-in.

When it applies: the collection's ``mfa.enabled`` and ``mfa.rule`` (empty: every record), as in
PocketBase; and always for a record with a confirmed TOTP enrolment, whose two factors must then
include ``totp``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baas.auth import accounts, totp
from baas.auth.accounts import Account
from baas.db import Database
from baas.db.base import Conn
from baas.errors import ApiError, BadRequest
from baas.ids import format_dt, new_id, now_str
from baas.records.query import Reader, fetch_one
from baas.rules.context import RequestInfo
from baas.schema.model import Collection
from baas.schema.registry import Registry

DEFAULT_DURATION = 600  # PocketBase 0.40.6's default (seconds)
# Sign-ins that are not a factor: refreshing a token, a superuser impersonating a record.
NOT_A_FACTOR = frozenset({"", "refresh", "impersonate"})


def options(coll: Collection) -> tuple[bool, int, str]:
    """(enabled, duration in seconds, rule) with PocketBase's defaults."""
    opt = coll.mfa or {}
    dur = opt.get("duration")
    rule = opt.get("rule")
    return (
        bool(opt.get("enabled")),
        int(dur) if isinstance(dur, (int, float)) and dur > 0 else DEFAULT_DURATION,
        rule if isinstance(rule, str) else "",
    )


def _cutoff(seconds: int) -> str:
    return format_dt(datetime.now(UTC) - timedelta(seconds=seconds))


async def requirement(
    db: Database, registry: Registry, coll: Collection, record_id: str, req: RequestInfo
) -> tuple[bool, bool]:
    """(MFA needed, TOTP must be one of the factors) for this record's sign-in."""
    needs_totp = await totp.is_enrolled(db, coll.id, record_id)
    enabled, _, rule = options(coll)
    if needs_totp:
        return True, True
    if not enabled:
        return False, False
    if not rule:
        return True, False
    try:
        # Evaluated for the requester (usually a guest), never with a superuser's bypass.
        guest = RequestInfo(
            auth=None if req.is_superuser else req.auth,
            body=req.body,
            query=req.query,
            headers=req.headers,
            method=req.method,
        )
        return await fetch_one(Reader(db, registry, guest), coll, record_id, rule) is not None, False
    except ApiError:
        # A broken rule must not switch MFA off: refuse, as PocketBase does.
        raise BadRequest("Failed to authenticate.") from None


async def start(db: Database, coll: Collection, record_id: str, method: str) -> str:
    """Open an MFA session after the first factor ``method``; its id is the ``mfaId``."""
    _, dur, _ = options(coll)
    mfa_id, cutoff = new_id(), _cutoff(dur)

    async def run(conn: Conn) -> None:
        await conn.execute('DELETE FROM "_mfas" WHERE "collectionRef" = ? AND "created" < ?', [coll.id, cutoff])
        await conn.execute(
            'INSERT INTO "_mfas" ("id", "collectionRef", "recordRef", "method", "created") VALUES (?, ?, ?, ?, ?)',
            [mfa_id, coll.id, record_id, method, now_str()],
        )

    await db.write(run)
    return mfa_id


async def complete(db: Database, coll: Collection, record_id: str, mfa_id: str, method: str, needs_totp: bool) -> str:
    """Close the session ``mfa_id`` with the second factor ``method``; 400 if it may not. Returns
    the first factor's method (the ``auth.signin`` event names both)."""
    _, dur, _ = options(coll)
    row = await db.fetchone(
        'SELECT "collectionRef", "recordRef", "method", "created" FROM "_mfas" WHERE "id" = ?', [mfa_id]
    )
    if row is None or row[3] < _cutoff(dur):
        if row is not None:
            await db.write(lambda conn: conn.execute('DELETE FROM "_mfas" WHERE "id" = ?', [mfa_id]))
        raise BadRequest("Invalid or expired MFA session.")
    if row[0] != coll.id or row[1] != record_id:
        raise BadRequest("Invalid MFA session.")
    if row[2] == method:
        raise BadRequest("A different authentication method is required.")
    if needs_totp and "totp" not in (row[2], method):
        raise BadRequest("A TOTP code is required to complete the sign-in.")
    # Single use: of two sign-ins racing on one mfaId, only the one that deletes it goes through.
    if not await db.write(lambda conn: conn.execute('DELETE FROM "_mfas" WHERE "id" = ?', [mfa_id])):
        raise BadRequest("Invalid or expired MFA session.")
    return str(row[2])


async def session_account(db: Database, coll: Collection, mfa_id: str) -> Account:
    """The account whose first factor opened the live session ``mfa_id`` of ``coll``; 400 when it
    is unknown, expired or of another collection. (`complete` checks again: this check lets a
    second factor refuse an expired session before it uses up a code.)"""
    _, dur, _ = options(coll)
    row = await db.fetchone('SELECT "collectionRef", "recordRef", "created" FROM "_mfas" WHERE "id" = ?', [mfa_id])
    if row is None or row[0] != coll.id or row[2] < _cutoff(dur):
        raise BadRequest(
            "Invalid or expired MFA session.",
            {"mfaId": {"code": "validation_invalid_mfa", "message": "Invalid or expired MFA session."}},
        )
    account = await accounts.load(db, coll, row[1])
    if account is None:
        raise BadRequest("Invalid or expired MFA session.")
    return account
