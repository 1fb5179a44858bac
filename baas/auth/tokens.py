"""Auth tokens: HS256 JWTs as PocketBase issues them, signed with the install secret plus the
record's ``tokenKey``, so rotating a record's tokenKey signs it out everywhere."""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt

ALGORITHM = "HS256"
# Refused tokens go to the security log: the reason and the record they name, never the token.
security = logging.getLogger("baas.security")


def signing_key(secret: str, token_key: str) -> str:
    return f"{secret}{token_key}"


def issue(
    secret: str,
    record: dict[str, Any],
    collection_id: str,
    token_key: str,
    duration: int,
    *,
    kind: str = "auth",
    refreshable: bool = True,
) -> str:
    now = int(time.time())
    claims = {
        "id": record["id"],
        "type": kind,
        "collectionId": collection_id,
        "refreshable": refreshable,
        "iat": now,
        "exp": now + duration,
    }
    return jwt.encode(claims, signing_key(secret, token_key), algorithm=ALGORITHM)


# Clients send the same token with every request; PyJWT's decoding costs more than the rest of a
# small request, so results are remembered: peeked claims by token, and verified claims by
# (token, secret, tokenKey, kind) — a rotated tokenKey or secret never matches an old entry, and
# expiry is checked again on every hit. Bounded: cleared when full.
_CACHE_SIZE = 10_000
# Only token-sized strings are remembered (ours are ~300 bytes): an unauthenticated client must
# not be able to park megabytes of forged "tokens" in a worker's memory.
_CACHEABLE = 2048
_peeked: dict[str, dict[str, Any]] = {}
_verified: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def peek(token: str) -> dict[str, Any] | None:
    """The unverified claims, only to find which record (and so which key) to verify with."""
    hit = _peeked.get(token)
    if hit is not None:
        return dict(hit)
    claims = _peek(token)
    if claims is not None and len(token) <= _CACHEABLE:
        if len(_peeked) >= _CACHE_SIZE:
            _peeked.clear()
        _peeked[token] = dict(claims)
    return claims


def _peek(token: str) -> dict[str, Any] | None:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            security.warning("refused token: algorithm %r is not accepted", str(header.get("alg"))[:20])
            return None
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        security.warning("refused token: malformed")
        return None
    if not isinstance(claims.get("id"), str) or not isinstance(claims.get("collectionId"), str):
        security.warning("refused token: no record id or collectionId in its claims")
        return None
    return claims


def verify(token: str, secret: str, token_key: str, kind: str = "auth") -> dict[str, Any] | None:
    """Claims of a valid, unexpired token of ``kind`` signed for this record; else None."""
    key = (token, secret, token_key, kind)
    hit = _verified.get(key)
    if hit is not None:
        if hit["exp"] > time.time():
            return dict(hit)
        _verified.pop(key, None)
    claims = _verify(token, secret, token_key, kind)
    if claims is not None and isinstance(claims.get("exp"), (int, float)) and len(token) <= _CACHEABLE:
        if len(_verified) >= _CACHE_SIZE:
            _verified.clear()
        _verified[key] = dict(claims)
    return claims


def _verify(token: str, secret: str, token_key: str, kind: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(
            token,
            signing_key(secret, token_key),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "id", "collectionId"]},
        )
    except jwt.PyJWTError as exc:
        _refused(
            token,
            kind,
            "expired"
            if isinstance(exc, jwt.ExpiredSignatureError)
            else "bad signature (forged, or the record's tokenKey changed)"
            if isinstance(exc, jwt.InvalidSignatureError)
            else f"invalid ({type(exc).__name__})",
        )
        return None
    if claims.get("type") != kind:
        _refused(token, kind, f"a {str(claims.get('type'))[:20]!r} token")
        return None
    return claims


def _refused(token: str, kind: str, reason: str) -> None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    security.warning(
        "refused %s token for record %r of collection %r: %s",
        kind,
        str(claims.get("id"))[:40],
        str(claims.get("collectionId"))[:40],
        reason,
    )
