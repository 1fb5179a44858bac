"""API keys (PocketBase has none): long-lived credentials for servers and scripts, scoped per
collection and action, created and revoked by superusers.

A key looks like ``baas_`` + 43 URL-safe characters (256 random bits) and is sent like a token
(``Authorization: <key>`` or ``Bearer <key>``); the prefix lets the request path tell it from a
JWT without any work. Only its SHA-256 is stored: with 256 bits of entropy nobody can search
the preimage of a leaked hash, so a slow password hash (argon2) would only add ~50 ms to every
request, and a plain hash can be looked up through the table's unique index in one query.

For rules the key is ``@request.auth`` with ``collectionName = "_apikeys"``, ``id`` the key id
and ``name`` its name; it is never a superuser. `check_scope` refuses (403) a collection/action
the key has no scope for, before any rule runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from baas.db import Database
from baas.errors import BadRequest, Unauthorized
from baas.ids import format_dt, new_id, now_str, parse_dt
from baas.rules.scopes import APIKEYS

if TYPE_CHECKING:  # the engine hands itself in; importing it here would close an import circle
    from baas.core import Engine

PREFIX = "baas_"
COLLECTION = APIKEYS  # the collectionName rules see
ACTIONS = ("list", "view", "create", "update", "delete")
TOUCH_EVERY = 60.0  # seconds between lastUsed writes for one key
_KEY = re.compile(r"^baas_[A-Za-z0-9_-]{43}$")
_COLUMNS = '"id", "name", "scopes", "createdBy", "created", "lastUsed", "expires", "revoked"'
security = logging.getLogger("baas.security")  # refusals, by key id only: never key material


class KeyUse:
    """When this engine last wrote each key's ``lastUsed`` (monotonic seconds). One per engine
    (`Engine.apikey_use`), not per process: two engines in one process (tests, an embedding
    program) each keep their own, and a new engine starts from the stored values."""

    __slots__ = ("_at",)

    def __init__(self) -> None:
        self._at: dict[str, float] = {}  # key id -> monotonic time of this engine's last write

    def recent(self, key_id: str, mono: float) -> bool:
        """Whether this engine wrote ``key_id``'s lastUsed less than `TOUCH_EVERY` before ``mono``."""
        return mono - self._at.get(key_id, -TOUCH_EVERY) < TOUCH_EVERY

    def mark(self, key_id: str, mono: float) -> None:
        self._at[key_id] = mono

    def clear(self) -> None:
        """Forget every write (as a restarted engine would)."""
        self._at.clear()


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_key(token: str) -> bool:
    """Whether a credential is meant as an API key (by its prefix alone; JWTs start with ``eyJ``)."""
    return token.startswith(PREFIX)


# -- validation ----------------------------------------------------------------------------------
def _err(errors: dict[str, Any]) -> BadRequest:
    return BadRequest("An error occurred while validating the submitted data.", errors)


def parse_scopes(value: Any, collection_exists: Any) -> list[dict[str, Any]]:
    """``[{collection: name | "*", actions: [...]}]`` checked and normalised; 400 naming the bad entry."""
    if not isinstance(value, list) or not value:
        raise _err(
            {
                "scopes": {
                    "code": "validation_required",
                    "message": "At least one scope {collection, actions} is required.",
                }
            }
        )
    out: list[dict[str, Any]] = []
    for i, scope in enumerate(value):
        where = f"scopes.{i}"
        if not isinstance(scope, dict) or set(scope) - {"collection", "actions"}:
            raise _err(
                {where: {"code": "validation_invalid_value", "message": "A scope is an object {collection, actions}."}}
            )
        coll, actions = scope.get("collection"), scope.get("actions")
        if not isinstance(coll, str) or not coll or (coll != "*" and not collection_exists(coll)):
            raise _err(
                {
                    f"{where}.collection": {
                        "code": "validation_invalid_collection",
                        "message": 'Must be an existing collection name or "*".',
                    }
                }
            )
        if (
            not isinstance(actions, list)
            or not actions
            or any(not isinstance(a, str) or a not in ACTIONS for a in actions)
        ):
            raise _err(
                {
                    f"{where}.actions": {
                        "code": "validation_invalid_value",
                        "message": f"Must be a non-empty list of {', '.join(ACTIONS)}.",
                    }
                }
            )
        out.append({"collection": coll, "actions": sorted(set(actions), key=ACTIONS.index)})
    return out


def parse_expires(value: Any) -> str:
    """``""`` (never) or a future date, stored in PocketBase's datetime format."""
    if value in (None, ""):
        return ""
    dt = parse_dt(value) if isinstance(value, str) else None
    if dt is None:
        raise _err({"expires": {"code": "validation_invalid_datetime", "message": "Must be a valid datetime."}})
    if dt <= datetime.now(UTC):
        raise _err({"expires": {"code": "validation_min_date", "message": "Must be in the future."}})
    return format_dt(dt)


def parse_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err({"name": {"code": "validation_required", "message": "Cannot be blank."}})
    if len(value) > 100:
        raise _err({"name": {"code": "validation_length_out_of_range", "message": "Must be 1-100 characters."}})
    return value.strip()


# -- storage -------------------------------------------------------------------------------------
def _public(row: tuple[Any, ...]) -> dict[str, Any]:
    """A stored key as the API lists it: never the key, never its hash."""
    return {
        "id": row[0],
        "name": row[1],
        "scopes": json.loads(row[2] or "[]"),
        "createdBy": row[3],
        "created": row[4],
        "lastUsed": row[5],
        "expires": row[6],
        "revoked": bool(row[7]),
    }


async def create(
    db: Database, name: str, scopes: list[dict[str, Any]], expires: str, created_by: str
) -> dict[str, Any]:
    """Store a new key; its public fields plus ``key`` (the only time it is shown)."""
    key, key_id, now = generate(), new_id(), now_str()
    await db.write(
        lambda conn: conn.execute(
            'INSERT INTO "_apikeys" ("id", "name", "hash", "scopes", "createdBy", "created", "lastUsed", "expires", '
            '"revoked") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [key_id, name, hash_key(key), json.dumps(scopes), created_by, now, "", expires, False],
        )
    )
    return {**_public((key_id, name, json.dumps(scopes), created_by, now, "", expires, False)), "key": key}


async def list_keys(db: Database, page: int, per_page: int) -> dict[str, Any]:
    total = await db.fetchval('SELECT count(*) FROM "_apikeys"')
    rows = await db.fetch(
        f'SELECT {_COLUMNS} FROM "_apikeys" ORDER BY "created" DESC, "id" LIMIT ? OFFSET ?',
        [per_page, (page - 1) * per_page],
    )
    return {
        "page": page,
        "perPage": per_page,
        "totalItems": total,
        "totalPages": (total + per_page - 1) // per_page,
        "items": [_public(r) for r in rows],
    }


async def view(db: Database, key_id: str) -> dict[str, Any] | None:
    row = await db.fetchone(f'SELECT {_COLUMNS} FROM "_apikeys" WHERE "id" = ?', [key_id])
    return None if row is None else _public(row)


async def revoke(db: Database, key_id: str) -> bool:
    """Mark a key revoked (kept for the audit trail); whether it exists."""
    return bool(
        await db.write(lambda conn: conn.execute('UPDATE "_apikeys" SET "revoked" = ? WHERE "id" = ?', [True, key_id]))
    )


async def authenticate(eng: Engine, key: str) -> dict[str, Any]:
    """``@request.auth`` for a valid key; 401 for a malformed, unknown, revoked or expired one.
    A use is written to the key's ``lastUsed`` at most once a minute (`KeyUse`)."""
    db = eng.db
    if not _KEY.match(key):
        security.warning("refused API key: malformed")
        raise Unauthorized("Invalid API key.")
    row = await db.fetchone(
        'SELECT "id", "name", "scopes", "lastUsed", "expires", "revoked" FROM "_apikeys" WHERE "hash" = ?',
        [hash_key(key)],
    )
    if row is None or row[5]:
        security.warning("refused API key: %s", f"revoked key {row[0]!r}" if row else "unknown key")
        raise Unauthorized("Invalid or revoked API key.")
    now = now_str()
    if row[4] and row[4] <= now:  # same fixed-width format: text order is time order
        security.warning("refused API key: key %r expired at %s", row[0], row[4])
        raise Unauthorized("The API key has expired.")
    await _touch(db, eng.apikey_use, row[0], row[3], now)
    return {
        "id": row[0],
        "collectionId": COLLECTION,
        "collectionName": COLLECTION,
        "name": row[1],
        "scopes": json.loads(row[2] or "[]"),
    }


async def _touch(db: Database, use: KeyUse, key_id: str, last_used: str, now: str) -> None:
    """Record use at most once a minute per key: skipped when the stored value (seen by every
    process) or this engine's own last write is recent, so requests do not queue on the writer."""
    mono = time.monotonic()
    if use.recent(key_id, mono):
        return
    if last_used and last_used > format_dt(datetime.now(UTC) - timedelta(seconds=TOUCH_EVERY)):
        return
    use.mark(key_id, mono)
    await db.write(lambda conn: conn.execute('UPDATE "_apikeys" SET "lastUsed" = ? WHERE "id" = ?', [now, key_id]))
