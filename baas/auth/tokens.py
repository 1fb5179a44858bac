"""Auth tokens: HS256 JWTs as PocketBase issues them, signed with the install secret plus the
record's ``tokenKey``, so rotating a record's tokenKey signs it out everywhere."""

from __future__ import annotations

import time
from typing import Any

import jwt

ALGORITHM = "HS256"


def signing_key(secret: str, token_key: str) -> str:
    return f"{secret}{token_key}"


def issue(secret: str, record: dict[str, Any], collection_id: str, token_key: str, duration: int,
          *, kind: str = "auth", refreshable: bool = True) -> str:
    now = int(time.time())
    claims = {"id": record["id"], "type": kind, "collectionId": collection_id, "refreshable": refreshable,
              "iat": now, "exp": now + duration}
    return jwt.encode(claims, signing_key(secret, token_key), algorithm=ALGORITHM)


def peek(token: str) -> dict[str, Any] | None:
    """The unverified claims, only to find which record (and so which key) to verify with."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            return None
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("id"), str) or not isinstance(claims.get("collectionId"), str):
        return None
    return claims


def verify(token: str, secret: str, token_key: str, kind: str = "auth") -> dict[str, Any] | None:
    """Claims of a valid, unexpired token of ``kind`` signed for this record; else None."""
    try:
        claims = jwt.decode(token, signing_key(secret, token_key), algorithms=[ALGORITHM],
                            options={"require": ["exp", "id", "collectionId"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("type") == kind else None
