"""The install secret: it signs every token and seals TOTP secrets (baas/auth).

One per install. On SQLite (one node) it is ``BAAS_SECRET`` or ``<data dir>/.secret``, made on first
start. On PostgreSQL several nodes share one database, and a node with a secret of its own would
answer every other node's token with 401. So there the database holds the cluster's choice in
``_params``:

- no ``BAAS_SECRET`` anywhere: the first node stores a random secret (or, for an install that
  predates this, the one in its ``.secret`` file, so its tokens stay valid); every node uses it;
- ``BAAS_SECRET`` set: only its fingerprint is stored; a node started with another value, or
  without one while the others have one, refuses to start. Setting it keeps the secret out of the
  database, so a dump alone gives no working tokens or TOTP codes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from baas.db.base import Conn, Database
from baas.ids import now_str

SECRET = "secret"  # _params id: the secret the cluster made (absent when it runs on BAAS_SECRET)
FINGERPRINT = "secretFingerprint"  # _params id: which secret the cluster's nodes use


class SecretMismatch(ValueError):
    """This node's ``BAAS_SECRET`` disagrees with the other nodes of its database (a start-up error:
    the CLI prints it and exits 1)."""


def fingerprint(secret: str) -> str:
    """Names a secret without revealing it (an HMAC under the secret itself)."""
    return hmac.new(secret.encode(), b"baas install secret", hashlib.sha256).hexdigest()


def file_secret(data_dir: str, *, create: bool) -> str:
    """``<data_dir>/.secret``; made (mode 0600) when missing and ``create``, else '' when missing."""
    path = Path(data_dir) / ".secret"
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


async def install_secret(db: Database, data_dir: str) -> str:
    """The secret this node signs with (see the module docstring); raises `SecretMismatch`."""
    configured = os.environ.get("BAAS_SECRET", "")
    if db.dialect != "postgresql":
        return configured or file_secret(data_dir, create=True)
    if configured:
        await _offer(db, {FINGERPRINT: fingerprint(configured)})
    else:
        candidate = file_secret(data_dir, create=False) or secrets.token_urlsafe(48)
        await _offer(db, {SECRET: candidate, FINGERPRINT: fingerprint(candidate)})
    stored = await _stored(db)
    if configured:
        if stored.get(FINGERPRINT) != fingerprint(configured):
            raise SecretMismatch(
                "BAAS_SECRET differs from the secret the other nodes of this database use: give every "
                "node the same BAAS_SECRET (or unset it on all of them to share one kept in the database)"
            )
        return configured
    # A node with BAAS_SECRET may have won the race against this one's offer: then the stored
    # secret (if any) is not the one the cluster uses.
    if SECRET not in stored or fingerprint(stored[SECRET]) != stored.get(FINGERPRINT):
        raise SecretMismatch(
            "the other nodes of this database sign tokens with their BAAS_SECRET: set the same value here"
        )
    return stored[SECRET]


async def _offer(db: Database, values: dict[str, str]) -> None:
    """Store ``values`` unless the cluster chose already: the first node to start wins, atomically."""

    async def offer(conn: Conn) -> None:
        if await conn.fetchval('SELECT COUNT(*) FROM "_params" WHERE "id" = ?', [FINGERPRINT]):
            return
        for key, value in values.items():
            await conn.execute(
                'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?) ON CONFLICT ("id") DO NOTHING',
                [key, value, now_str()],
            )

    await db.write(offer)


async def _stored(db: Database) -> dict[str, str]:
    rows = await db.fetch('SELECT "id", "value" FROM "_params" WHERE "id" IN (?, ?)', [SECRET, FINGERPRINT])
    return {row[0]: row[1] for row in rows}
