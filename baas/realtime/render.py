"""An event's record as one subscriber may see it, encoded as the message's ``data``.

The event carries every stored value (secrets stripped). Each subscriber gets what the records
API would show it: hidden fields only for superusers, an auth record's email only when
``emailVisibility`` is on or the record is the subscriber's own, then its topic's ``expand``
(each related record under its own view rule for this subscriber) and ``fields``. Subscribers
that would see the same bytes share one rendering.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from baas.errors import ApiError
from baas.records.layout import layout
from baas.records.query import Reader
from baas.rules.context import RequestInfo
from baas.schema.model import Collection
from baas.schema.registry import Registry

log = logging.getLogger("baas.realtime")
_encode = msgspec.json.Encoder().encode


def shape(coll: Collection, record: dict[str, Any], req: RequestInfo) -> dict[str, Any]:
    """The API record for ``req`` (no expand, no fields picking)."""
    superuser = req.is_superuser
    out: dict[str, Any] = {"collectionId": coll.id, "collectionName": coll.name}
    for name in layout(coll).visible(superuser):  # in collection order, cached per schema version
        if name in record:
            out[name] = record[name]
    if coll.type == "auth" and not superuser and not out.get("emailVisibility"):
        auth = req.auth
        if not (auth and auth.get("collectionId") == coll.id and auth.get("id") == out.get("id")):
            out.pop("email", None)
    return out


def render_key(coll: Collection, req: RequestInfo, expand: str, fields: str) -> tuple[Any, str, str]:
    """Subscribers with equal keys get equal bytes for the same event."""
    auth = req.auth
    if expand or coll.type == "auth":  # expand rules and email visibility depend on who asks
        who: Any = (auth.get("collectionId"), auth.get("id")) if auth else None
    else:
        who = req.is_superuser
    return (who, expand, fields)


async def render(
    db: Any,
    registry: Registry,
    coll: Collection,
    action: str,
    record: dict[str, Any],
    req: RequestInfo,
    expand: str,
    fields: str,
) -> bytes:
    """``{"record": …, "action": …}`` as PocketBase sends it (that key order)."""
    rec = shape(coll, record, req)
    if expand or fields:
        reader = Reader(db, registry, req)
        try:
            rec = (await reader.finish(coll, [rec], expand, fields))[0]
        except ApiError as exc:  # a bad expand or fields option: send the record without it
            log.debug("realtime: options of a subscription failed: %s", exc.message)
            if fields:
                try:
                    rec = (await reader.finish(coll, [shape(coll, record, req)], "", fields))[0]
                except ApiError:
                    pass
    return b'{"record":' + _encode(rec) + b',"action":' + _encode(action) + b"}"
