"""An auth record's linked sign-in state as the console's record page shows it: the OAuth2
accounts linked to it (``_externalAuths``, PocketBase's shape) and its TOTP enrolment.

Reads and deletes by bound parameters only; the caller has checked who may ask (superuser or
the record itself) and that the record exists.
"""

from __future__ import annotations

from typing import Any

from baas.auth import accounts, totp
from baas.db import Database
from baas.schema.model import Collection

_COLUMNS = '"id", "collectionRef", "recordRef", "provider", "providerId", "created", "updated"'


async def record_exists(db: Database, coll: Collection, record_id: str) -> bool:
    """Whether ``coll`` has a record ``record_id``."""
    return await accounts.load(db, coll, record_id) is not None


async def external_auths(db: Database, coll: Collection, record_id: str) -> list[dict[str, Any]]:
    """The OAuth2 links of a record, oldest first, as PocketBase's ``_externalAuths`` records."""
    rows = await db.fetch(
        f'SELECT {_COLUMNS} FROM "_externalAuths" WHERE "collectionRef" = ? AND "recordRef" = ? '
        'ORDER BY "created", "id"',
        [coll.id, record_id],
    )
    return [
        {
            "id": r[0],
            "collectionId": "_externalAuths",  # PocketBase lists the links as records of this collection
            "collectionName": "_externalAuths",
            "collectionRef": r[1],
            "recordRef": r[2],
            "provider": r[3],
            "providerId": r[4],
            "created": r[5],
            "updated": r[6],
        }
        for r in rows
    ]


async def unlink(db: Database, coll: Collection, record_id: str, provider: str) -> bool:
    """Remove the record's link to ``provider``; whether there was one."""
    return bool(
        await db.write(
            lambda conn: conn.execute(
                'DELETE FROM "_externalAuths" WHERE "collectionRef" = ? AND "recordRef" = ? AND "provider" = ?',
                [coll.id, record_id, provider],
            )
        )
    )


async def totp_status(db: Database, coll: Collection, record_id: str) -> dict[str, Any]:
    """The record's TOTP enrolment: ``{enabled, pending, recoveryCodesLeft}`` (no secret)."""
    return await totp.status(db, coll.id, record_id)
