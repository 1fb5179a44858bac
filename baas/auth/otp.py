"""One-time passwords (``request-otp`` / ``auth-with-otp``), kept in the ``_otps`` table.

A code is a string of ``otp.length`` digits, stored only as an HMAC (keyed with the install secret
and bound to the OTP's id), so a copy of the database does not reveal live codes. A code is good
for ``otp.duration`` seconds, for one sign-in, and for at most `MAX_ATTEMPTS` tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from baas.auth import accounts
from baas.auth.accounts import Account
from baas.db import Database
from baas.db.base import Conn
from baas.errors import BadRequest, TooManyRequests
from baas.events import emit
from baas.hooks import Hooks
from baas.ids import format_dt, now_str
from baas.schema.model import Collection
from baas.schema.registry import Registry

# PocketBase 0.40.6's defaults.
DEFAULT_DURATION = 180
DEFAULT_LENGTH = 8
MAX_ATTEMPTS = 5
# More live codes than this for one account: no new one is made (nor mailed), as PocketBase limits.
MAX_ACTIVE = 10

INVALID = "Invalid or expired OTP."
TOO_MANY = "Too many attempts, please try again later with a new OTP."


def options(coll: Collection) -> tuple[bool, int, int]:
    """(enabled, duration in seconds, code length) with PocketBase's defaults."""
    opt = coll.otp or {}
    dur, length = opt.get("duration"), opt.get("length")
    return (
        bool(opt.get("enabled")),
        int(dur) if isinstance(dur, (int, float)) and dur > 0 else DEFAULT_DURATION,
        int(length) if isinstance(length, int) and 4 <= length <= 64 else DEFAULT_LENGTH,
    )


def new_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _digest(secret: str, otp_id: str, code: str) -> str:
    return hmac.new(secret.encode(), f"otp\0{otp_id}\0{code}".encode(), hashlib.sha256).hexdigest()


def _cutoff(seconds: int) -> str:
    """The ``created`` value before which a record of this age has expired (PocketBase's format sorts)."""
    return format_dt(datetime.now(UTC) - timedelta(seconds=seconds))


async def create(
    db: Database, secret: str, coll: Collection, record_id: str, sent_to: str, otp_id: str, code: str
) -> bool:
    """Store a new code under ``otp_id``; False (nothing stored) if the account has too many live codes."""
    _, dur, _ = options(coll)
    cutoff = _cutoff(dur)

    async def run(conn: Conn) -> bool:
        if conn.dialect == "postgresql":
            # Concurrent requests for one account count and insert one at a time (SQLite's single
            # writer already does this).
            await conn.fetchval("SELECT pg_advisory_xact_lock(hashtext(?))", [f"otp:{coll.id}:{record_id}"])
        # Expired codes of this collection are of no further use: drop them as we go.
        await conn.execute('DELETE FROM "_otps" WHERE "collectionRef" = ? AND "created" < ?', [coll.id, cutoff])
        live = await conn.fetchval(
            'SELECT count(*) FROM "_otps" WHERE "collectionRef" = ? AND "recordRef" = ?', [coll.id, record_id]
        )
        if live >= MAX_ACTIVE:
            return False
        await conn.execute(
            'INSERT INTO "_otps" ("id", "collectionRef", "recordRef", "password", "sentTo", "attempts", "created") '
            "VALUES (?, ?, ?, ?, ?, 0, ?)",
            [otp_id, coll.id, record_id, _digest(secret, otp_id, code), sent_to, now_str()],
        )
        return True

    return await db.write(run)


async def consume(db: Database, secret: str, coll: Collection, otp_id: str, code: str) -> tuple[str, str]:
    """Use up a code: (record id, address it was sent to). Raises 400 for an unknown, foreign,
    expired or wrong code (the same answer for each) and 429 past `MAX_ATTEMPTS` tries."""
    _, dur, _ = options(coll)
    row = await db.fetchone(
        'SELECT "collectionRef", "recordRef", "password", "sentTo", "created" FROM "_otps" WHERE "id" = ?', [otp_id]
    )
    if row is None or row[0] != coll.id:
        raise BadRequest(INVALID)
    if row[4] < _cutoff(dur):
        await db.write(lambda conn: conn.execute('DELETE FROM "_otps" WHERE "id" = ?', [otp_id]))
        raise BadRequest(INVALID)

    async def attempt(conn: Conn) -> int:
        # Counted before the code is compared, so parallel guesses are counted too.
        n = await conn.execute(
            'UPDATE "_otps" SET "attempts" = "attempts" + 1 WHERE "id" = ? AND "attempts" < ?', [otp_id, MAX_ATTEMPTS]
        )
        if not n:
            await conn.execute('DELETE FROM "_otps" WHERE "id" = ?', [otp_id])
        return n

    if not await db.write(attempt):
        raise TooManyRequests(TOO_MANY)
    if not hmac.compare_digest(_digest(secret, otp_id, code), row[2]):
        raise BadRequest(INVALID)
    # Single use: of two requests with the same right code, only the one that deletes the row wins.
    if not await db.write(lambda conn: conn.execute('DELETE FROM "_otps" WHERE "id" = ?', [otp_id])):
        raise BadRequest(INVALID)
    return row[1], row[3]


async def sign_in(
    db: Database,
    registry: Registry,
    secret: str,
    coll: Collection,
    otp_id: str,
    code: str,
    hooks: Hooks | None = None,
) -> Account:
    """The account a right code signs in (the code is used up, see `consume`). The address it
    was sent to is proven by it: a record with that email becomes verified (through the record
    update hooks, with an ``auth.verified`` event, as confirm-verification does)."""
    record_id, sent_to = await consume(db, secret, coll, otp_id, code)
    account = await accounts.load(db, coll, record_id)
    if account is None:
        raise BadRequest(INVALID)
    if not account.verified and sent_to and account.email == sent_to:
        # Done before MFA, as PocketBase does.
        await accounts.save_as_server(
            db,
            registry,
            coll,
            record_id,
            {"verified": True},
            "Failed to authenticate.",
            hooks=hooks,
            event=emit.AUTH_VERIFIED,
        )
        account = await accounts.load(db, coll, record_id) or account
    return account


async def discard(db: Database, otp_id: str) -> None:
    await db.write(lambda conn: conn.execute('DELETE FROM "_otps" WHERE "id" = ?', [otp_id]))
