"""The JSON body of a delivery: ``{id, type, timestamp, collection, record, oldRecord}``.

``record`` is the record as the API shows it to a superuser (the event stream stores exactly
that, secrets already left out) minus the collection's hidden fields. ``oldRecord`` is the
record before an update — the previous event of the same record, while the stream retains it —
and null for creates and deletes (a delete's ``record`` is the record as it was). For ``auth.*`` and
``job.*`` events ``record`` is the event's data (an auth record, without hidden fields; a job run);
an ``auth.signin`` body also has ``signin``: how the record signed in (``{"method": "password"}``,
``{"method": "mfa", "factors": [...]}``, ``{"method": "impersonate", "superuser": id}``)."""

from __future__ import annotations

from typing import Any

import msgspec

from baas.events import Event
from baas.events.emit import AUTH_SIGNIN, RECORD_ACTIONS, SIGNIN_KEY
from baas.schema.model import Collection

_encode = msgspec.json.Encoder(enc_hook=str).encode


def visible(coll: Collection | None, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """``record`` without ``coll``'s hidden fields."""
    if record is None:
        return None
    hidden = {f.name for f in coll.fields if f.hidden} if coll is not None else set()
    return {k: v for k, v in record.items() if k not in hidden}


def iso(stamp: str) -> str:
    """``2024-01-02 03:04:05.678Z`` → ``2024-01-02T03:04:05.678Z``."""
    return stamp.replace(" ", "T", 1)


def event_type(event: Event) -> str:
    """``orders.create`` for a record event; the event's own type (``auth.signin``, ``job.failed``) else."""
    return f"{event.collection}.{event.action}" if event.action in RECORD_ACTIONS else event.action


def event_body(event: Event, coll: Collection | None, old: dict[str, Any] | None) -> bytes:
    record = visible(coll, event.record)
    body: dict[str, Any] = {
        "id": f"evt_{event.id}",
        "type": event_type(event),
        "timestamp": iso(event.created),
        "collection": event.collection,
        "record": record,
        "oldRecord": visible(coll, old) if event.action == "update" else None,
    }
    if event.action == AUTH_SIGNIN and record is not None:
        body["signin"] = record.pop(SIGNIN_KEY, None)  # how, beside the record rather than in it
    return _encode(body)


def test_body(webhook: str, stamp: str, msg: str) -> bytes:
    """The body of "send test event": type ``webhook.test``, no record."""
    return _encode(
        {
            "id": f"evt_test_{msg}",
            "type": "webhook.test",
            "timestamp": iso(stamp),
            "collection": "",
            "record": {"webhook": webhook, "message": "a test event sent from baas"},
            "oldRecord": None,
        }
    )
