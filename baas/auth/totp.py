"""TOTP as an extra MFA method (PocketBase has none): enrolment, codes and recovery codes.

One row per auth record in ``_totp``. Choices, and why:

- The shared secret is stored sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
  install secret, with the record's ``collection/record`` ids as associated data: a database dump
  alone does not give working codes, and a sealed secret cannot be moved onto another record.
  Changing the install secret makes existing enrolments unreadable (as it signs everyone out);
  a superuser can then reset them.
- Codes: RFC 6238, SHA-1, 6 digits, 30 s steps, accepted one step either side (clock drift).
  ``lastStep`` keeps the last accepted step and is raised with a conditional UPDATE, so a code
  (or an earlier one) is never accepted twice, even by two concurrent requests.
- Recovery codes: 10 random codes of 50 bits, shown once, stored as HMAC-SHA256 keyed by the
  install secret (a fast hash is enough for random codes; argon2 is for human passwords).
  Each one is removed with a compare-and-swap UPDATE when used.
- Guessing is bounded per record: ``MAX_ATTEMPTS`` wrong codes in a row lock TOTP checks for
  ``LOCK_SECONDS``. Only someone who already passed the first factor (or holds the record's
  token) can make attempts at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from baas.db import Database
from baas.db.base import Conn
from baas.errors import BadRequest, TooManyRequests
from baas.ids import format_dt, now_str
from baas.records.passwords import verify_password_async

DIGITS = 6
INTERVAL = 30
WINDOW = 1  # steps accepted either side of the current one
RECOVERY_CODES = 10
MAX_ATTEMPTS = 5
LOCK_SECONDS = 300
_CODE = re.compile(r"[0-9]{6}")  # ASCII only: \d takes "١٢٣٤٥٦", which compare_digest refuses (500)
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes get typed by hand
_SEALED_PREFIX = "v1."
_WHERE = '"collectionRef" = ? AND "recordRef" = ?'


class InvalidCode(BadRequest):
    """A wrong, expired or already used code (one message for all, so nothing leaks)."""


@dataclass
class Enrolment:
    secret: str  # plain base32 secret
    confirmed: bool
    recovery: list[str]  # hashes of the unused recovery codes
    recovery_raw: str  # the stored JSON, for compare-and-swap
    last_step: int
    attempts: int
    locked_until: str


# -- sealing and hashing -------------------------------------------------------------------------
def _derive(install_secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(install_secret.encode())


def seal(install_secret: str, plain: str, aad: str) -> str:
    nonce = secrets.token_bytes(12)
    box = AESGCM(_derive(install_secret, b"baas/totp-secret/v1")).encrypt(nonce, plain.encode(), aad.encode())
    return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + box).decode()


def unseal(install_secret: str, sealed: str, aad: str) -> str | None:
    """The plain secret, or None if it was sealed under another install secret (or tampered with)."""
    if not sealed.startswith(_SEALED_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEALED_PREFIX) :])
        key = _derive(install_secret, b"baas/totp-secret/v1")
        return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def _normalize_recovery(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def hash_recovery(install_secret: str, code: str) -> str:
    key = _derive(install_secret, b"baas/totp-recovery/v1")
    return hmac.new(key, _normalize_recovery(code).encode(), hashlib.sha256).hexdigest()


def new_recovery_codes() -> list[str]:
    """``RECOVERY_CODES`` codes like ``k7m2p-x9q4t`` (10 characters of a 31-letter alphabet: ~50 bits)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        s = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{s[:5]}-{s[5:]}")
    return codes


def match_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step (within ±WINDOW of now) whose code is ``code``, or None."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    step = int((time.time() if at is None else at) // INTERVAL)
    found = None
    for s in range(step - WINDOW, step + WINDOW + 1):
        # Check every candidate (no early exit) and compare in constant time.
        if hmac.compare_digest(totp.generate_otp(s), code):
            found = s
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=account, issuer_name=issuer)


# -- storage -------------------------------------------------------------------------------------
async def is_enrolled(db: Database, collection_id: str, record_id: str) -> bool:
    """Whether the record has a confirmed TOTP enrolment (then every sign-in needs a TOTP code)."""
    row = await db.fetchone(
        'SELECT "confirmed" FROM "_totp" WHERE "collectionRef" = ? AND "recordRef" = ?', [collection_id, record_id]
    )
    return bool(row and row[0])


def _aad(collection_id: str, record_id: str) -> str:
    return f"{collection_id}/{record_id}"


async def load(db: Database, install_secret: str, collection_id: str, record_id: str) -> Enrolment | None:
    row = await db.fetchone(
        'SELECT "secret", "confirmed", "recoveryCodes", "lastStep", "attempts", "lockedUntil" FROM "_totp" '
        f"WHERE {_WHERE}",
        [collection_id, record_id],
    )
    if row is None:
        return None
    secret = unseal(install_secret, row[0], _aad(collection_id, record_id))
    if secret is None:
        raise BadRequest("The TOTP enrolment cannot be read (the server secret changed); ask a superuser to reset it.")
    try:
        recovery = [h for h in json.loads(row[2] or "[]") if isinstance(h, str)]
    except ValueError:
        recovery = []
    return Enrolment(secret, bool(row[1]), recovery, row[2], int(row[3] or 0), int(row[4] or 0), row[5] or "")


async def enroll(db: Database, install_secret: str, collection_id: str, record_id: str) -> str:
    """Start (or restart) an unconfirmed enrolment; the new plain secret. 400 if TOTP is already on."""
    secret = pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length
    sealed = seal(install_secret, secret, _aad(collection_id, record_id))
    now = now_str()

    async def run(conn: Conn) -> int:
        # Replace an unconfirmed enrolment; never touch a confirmed one.
        changed = await conn.execute(
            'UPDATE "_totp" SET "secret" = ?, "recoveryCodes" = ?, "lastStep" = ?, "attempts" = ?, '
            f'"lockedUntil" = ?, "updated" = ? WHERE {_WHERE} AND "confirmed" = ?',
            [sealed, "[]", 0, 0, "", now, collection_id, record_id, False],
        )
        if changed:
            return changed
        if await conn.fetchone(f'SELECT 1 FROM "_totp" WHERE {_WHERE}', [collection_id, record_id]):
            return 0
        await conn.execute(
            'INSERT INTO "_totp" ("collectionRef", "recordRef", "secret", "confirmed", "recoveryCodes", '
            '"lastStep", "attempts", "lockedUntil", "created", "updated") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [collection_id, record_id, sealed, False, "[]", 0, 0, "", now, now],
        )
        return 1

    if not await db.write(run):
        raise BadRequest("TOTP is already enabled for this account; disable it first.")
    return secret


def _check_lock(state: Enrolment) -> None:
    if state.locked_until and state.locked_until > now_str():
        raise TooManyRequests("Too many invalid TOTP codes; try again later.")


async def _fail(db: Database, collection_id: str, record_id: str) -> None:
    """Count a wrong code; the MAX_ATTEMPTS-th in a row locks checks for LOCK_SECONDS."""
    until = format_dt(datetime.now(UTC) + timedelta(seconds=LOCK_SECONDS))
    await db.write(
        lambda conn: conn.execute(
            'UPDATE "_totp" SET '
            '"lockedUntil" = CASE WHEN "attempts" + 1 >= ? THEN ? ELSE "lockedUntil" END, '
            '"attempts" = CASE WHEN "attempts" + 1 >= ? THEN 0 ELSE "attempts" + 1 END '
            f"WHERE {_WHERE}",
            [MAX_ATTEMPTS, until, MAX_ATTEMPTS, collection_id, record_id],
        )
    )


async def _accept_step(
    db: Database, collection_id: str, record_id: str, step: int, *, confirm_with: list[str] | None = None
) -> bool:
    """Raise ``lastStep`` to ``step`` unless a code of that step or a later one was used already."""
    sets, params = ['"lastStep" = ?', '"attempts" = ?', '"lockedUntil" = ?', '"updated" = ?'], [step, 0, "", now_str()]
    if confirm_with is not None:
        sets += ['"confirmed" = ?', '"recoveryCodes" = ?']
        params += [True, json.dumps(confirm_with)]
    changed = await db.write(
        lambda conn: conn.execute(
            f'UPDATE "_totp" SET {", ".join(sets)} WHERE {_WHERE} AND "lastStep" < ? AND "confirmed" = ?',
            [*params, collection_id, record_id, step, confirm_with is None],
        )
    )
    return bool(changed)


async def confirm(db: Database, install_secret: str, collection_id: str, record_id: str, code: str) -> list[str]:
    """Turn a pending enrolment on with a valid code; the plain recovery codes (shown once)."""
    state = await load(db, install_secret, collection_id, record_id)
    if state is None:
        raise BadRequest("There is no pending TOTP enrolment; enrol first.")
    if state.confirmed:
        raise BadRequest("TOTP is already enabled for this account.")
    _check_lock(state)
    step = match_step(state.secret, code)
    codes = new_recovery_codes()
    hashed = [hash_recovery(install_secret, c) for c in codes]
    if step is None or not await _accept_step(db, collection_id, record_id, step, confirm_with=hashed):
        await _fail(db, collection_id, record_id)
        raise InvalidCode(
            "Invalid or expired TOTP code.",
            {"code": {"code": "validation_invalid_totp", "message": "Invalid or expired code."}},
        )
    return codes


async def verify(
    db: Database,
    install_secret: str,
    collection_id: str,
    record_id: str,
    *,
    code: str | None = None,
    recovery_code: str | None = None,
) -> str:
    """Check a current code (single use) or a recovery code (consumed); "totp" or "recovery".
    Raises `InvalidCode` (counted towards the lock) or `TooManyRequests`."""
    state = await load(db, install_secret, collection_id, record_id)
    if state is None or not state.confirmed:
        raise InvalidCode("TOTP is not enabled for this account.")
    _check_lock(state)
    if recovery_code is not None:
        if await _use_recovery(db, install_secret, collection_id, record_id, state, recovery_code):
            return "recovery"
        await _fail(db, collection_id, record_id)
        raise InvalidCode(
            "Invalid or already used recovery code.",
            {
                "recoveryCode": {
                    "code": "validation_invalid_recovery_code",
                    "message": "Invalid or already used recovery code.",
                }
            },
        )
    step = match_step(state.secret, code or "")
    if step is not None and await _accept_step(db, collection_id, record_id, step):
        return "totp"
    await _fail(db, collection_id, record_id)
    raise InvalidCode(
        "Invalid or expired TOTP code.",
        {"code": {"code": "validation_invalid_totp", "message": "Invalid or expired code."}},
    )


async def _use_recovery(
    db: Database, install_secret: str, collection_id: str, record_id: str, state: Enrolment, code: str
) -> bool:
    if not isinstance(code, str) or not code.strip():
        return False
    wanted = hash_recovery(install_secret, code)
    match = None
    for h in state.recovery:  # every hash compared, in constant time
        if hmac.compare_digest(h, wanted):
            match = h
    if match is None:
        return False
    remaining = [h for h in state.recovery if h != match]
    # Compare-and-swap on the stored list: two requests with the same code cannot both win.
    changed = await db.write(
        lambda conn: conn.execute(
            f'UPDATE "_totp" SET "recoveryCodes" = ?, "attempts" = ?, "lockedUntil" = ?, "updated" = ? '
            f'WHERE {_WHERE} AND "recoveryCodes" = ?',
            [json.dumps(remaining), 0, "", now_str(), collection_id, record_id, state.recovery_raw],
        )
    )
    return bool(changed)


async def status(db: Database, collection_id: str, record_id: str) -> dict[str, Any]:
    row = await db.fetchone(
        f'SELECT "confirmed", "recoveryCodes", "created" FROM "_totp" WHERE {_WHERE}', [collection_id, record_id]
    )
    if row is None:
        return {"enabled": False, "pending": False, "recoveryCodesLeft": 0}
    left = len(json.loads(row[1] or "[]")) if row[0] else 0
    return {"enabled": bool(row[0]), "pending": not row[0], "recoveryCodesLeft": left}


async def disable(
    db: Database,
    install_secret: str,
    collection_id: str,
    record_id: str,
    *,
    code: Any,
    password: Any,
    password_hash: str,
) -> None:
    """Turn TOTP off for its owner, who proves presence with a current ``code`` or the account
    ``password`` (``password_hash``: the stored one); 400 when neither passes or TOTP is off."""
    if not (isinstance(code, str) and code) and not (isinstance(password, str) and password):
        raise BadRequest(
            "An error occurred while validating the submitted data.",
            {"code": {"code": "validation_required", "message": "Send a current code or the password."}},
        )
    if isinstance(code, str) and code:
        await verify(db, install_secret, collection_id, record_id, code=code)
    elif not await verify_password_async(password_hash, str(password)):
        raise BadRequest(
            "Invalid password.", {"password": {"code": "validation_invalid_password", "message": "Invalid password."}}
        )
    if not await remove(db, collection_id, record_id):
        raise BadRequest("TOTP is not enabled for this account.")


async def remove(db: Database, collection_id: str, record_id: str) -> bool:
    """Delete the enrolment (confirmed or pending); whether there was one."""
    return bool(
        await db.write(lambda conn: conn.execute(f'DELETE FROM "_totp" WHERE {_WHERE}', [collection_id, record_id]))
    )
