"""File tokens: the short-lived tokens that open protected files (``POST /api/files/token``,
``?token=`` on ``/api/files``), issued to an auth record and checked against it.

As in PocketBase: a file token is signed with the record's ``tokenKey`` (a password change or a
"log out everywhere" ends it) and lives for the collection's ``fileToken.duration``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baas.auth import tokens
from baas.errors import Unauthorized
from baas.records.query import load_row
from baas.records.serialize import raw_record, row_to_record, select_list

if TYPE_CHECKING:
    from baas.core import Engine

DEFAULT_DURATION = 180  # PocketBase's default ``fileToken.duration`` (seconds)
_NO_AUTH = "The request requires valid record authorization token."


async def issue_file_token(eng: Engine, auth: dict[str, Any] | None) -> str:
    """A file token for the auth record ``auth`` (a user or a superuser); 401 for a guest, an API
    key or a record no longer stored."""
    coll = eng.registry.get(str((auth or {}).get("collectionId") or ""))
    row = await load_row(eng.db, coll, str(auth["id"])) if auth and coll is not None and coll.type == "auth" else None
    if auth is None or coll is None or row is None:
        raise Unauthorized(_NO_AUTH)
    raw = raw_record(coll, select_list(coll)[1], row)
    duration = int(coll.fileToken.get("duration") or DEFAULT_DURATION)
    return tokens.issue(
        eng.secret, {"id": auth["id"]}, coll.id, raw.get("tokenKey", ""), duration, kind="file", refreshable=False
    )


async def file_token_record(eng: Engine, token: str) -> dict[str, Any] | None:
    """The auth record (as the API shows it) of a valid, unexpired file token; else None."""
    claims = tokens.peek(token.strip()) if token else None
    if claims is None or claims.get("type") != "file":
        return None
    coll = eng.registry.get(claims["collectionId"])
    if coll is None or coll.type != "auth" or coll.id != claims["collectionId"]:
        return None
    row = await load_row(eng.db, coll, claims["id"])
    if row is None:
        return None
    fields = select_list(coll)[1]
    if tokens.verify(token.strip(), eng.secret, raw_record(coll, fields, row).get("tokenKey", ""), kind="file") is None:
        return None
    return row_to_record(coll, fields, row, None)
