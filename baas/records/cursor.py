"""Cursor paging for record lists (``?cursor=``, docs/api.md "Cursor paging").

A page ends with ``nextCursor``: the last row's sort keys (and its rowid, which breaks ties),
signed with the install secret and bound to the collection, sort and filter it was made for. The
next page asks for the rows after those keys (a keyset condition), so page 10,000 costs what page
1 does, and rows written meanwhile neither repeat nor push others out of the pages still to come.

The keys are readable (base64 JSON), not secret: values of the last row of the requester's page
(some perhaps not among the fields it asked for). Signing only stops a client from making up
keys, so the condition's parameters are always values this server handed out for this very
listing; the rules and the filter are applied afresh to every page. The request log masks
cursors like tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import msgspec

from baas.errors import BadRequest
from baas.rules import SQL, SortKey
from baas.rules.sql import cat, frag

_INVALID = "Invalid cursor: it was not made by this server for this collection, sort and filter."


def scope(collection_id: str, sort: str, filter_: str) -> str:
    """What a cursor is bound to: its listing (a digest, so the cursor stays short)."""
    return hashlib.sha256(f"{collection_id}\0{sort}\0{filter_}".encode()).hexdigest()[:24]


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"baas list cursor", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: str, listing: str, keys: list[Any]) -> str:
    """The cursor after a row whose sort keys are ``keys``."""
    payload = msgspec.json.encode([listing, keys])
    sig = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(sig)}"


def decode(secret: str, listing: str, token: str) -> list[Any]:
    """The keys of ``token``; a 400 unless this server signed it for ``listing``."""
    body, _, sig = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        raise BadRequest(_INVALID) from None
    if not hmac.compare_digest(given, hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16]):
        raise BadRequest(_INVALID)
    made_for, keys = msgspec.json.decode(payload)
    if made_for != listing:
        raise BadRequest(_INVALID)
    return list(keys)


def after(keys: list[SortKey], values: list[Any]) -> SQL:
    """Rows that come after the row with ``values`` in the order of ``keys`` (whose last key is
    unique): ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR …``, with NULLs where both databases sort them
    here: first when ascending, last when descending."""
    if len(values) != len(keys):
        raise BadRequest(_INVALID)
    ors: list[SQL | str] = []
    equal: list[SQL | str] = []
    for key, value in zip(keys, values, strict=True):
        step = _beyond(key, value)
        if step is not None:
            ors.extend([" OR " if ors else "", "(", *equal, step, ")"])
        equal.extend([_same(key, value), " AND "])
    return cat("(", *ors, ")") if ors else frag("(1 = 0)")


def _beyond(key: SortKey, value: Any) -> SQL | None:
    """``key`` strictly past ``value`` in its direction (None: nothing can be)."""
    e = key.expr
    if value is None:
        # Ascending, NULLs come first: every non-NULL is past; descending, they come last: none is.
        return None if key.desc else cat(e, " IS NOT NULL")
    if not key.desc:
        return cat(e, frag(" > ?", value))
    if not key.nullable:
        return cat(e, frag(" < ?", value))
    return cat("(", e, frag(" < ?", value), " OR ", e, " IS NULL)")


def _same(key: SortKey, value: Any) -> SQL:
    return cat(key.expr, " IS NULL") if value is None else cat(key.expr, frag(" = ?", value))
