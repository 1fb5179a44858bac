"""A user's personal data: export it, or erase it (docs/gdpr.md).

- `export_user`: a zip of the user's record, every record that refers to them (a relation field
  holding their id, in any collection), the files of all those records, their sign-in links and
  push devices and preferences, with a manifest.
- `erase_user`: in one transaction, the records that refer to the user are deleted or anonymized
  as each collection's ``gdpr`` policy says (unset: what deleting the user does — cascadeDelete,
  else the reference removed), the user's record is deleted (cascades honoured, sign-in state and
  push devices with it), and every stored event, webhook and push delivery that mentions the user's id or email is
  removed; after the commit the files of deleted records go, and the request log and the dev
  mailbox are scrubbed. The erase is silent: the events that would announce it carry the data
  being erased, so they are removed with the rest (realtime subscribers and webhooks hear nothing
  of the deleted records; anonymized records are announced as updates, without the user).

Both are recorded in ``_audit`` (migration 0010) under an HMAC of the user's id, never the id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from baas.db import Conn, Reads
from baas.db.tables import contains_pattern, q
from baas.errors import BadRequest, NotFound
from baas.files.storage import BlobNotFound, file_key
from baas.ids import new_id, now_str
from baas.logs import FLUSH_SECONDS
from baas.records.files import RecordFiles
from baas.records.layout import layout
from baas.records.query import Reader, fetch_one
from baas.records.write import append_event, delete_record, load_raw, referencing_rows
from baas.rules.context import SUPERUSER, RequestInfo
from baas.schema.fields import RelationField
from baas.schema.fields.base import as_list
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

security = logging.getLogger("baas.security")

EXPORT_FORMAT = 1


def subject_of(secret: str, coll: Collection, record_id: str) -> str:
    """The audit trail's name for a user: an HMAC of ``<collection>:<id>`` under the install secret."""
    return hmac.new(secret.encode(), f"{coll.name}:{record_id}".encode(), hashlib.sha256).hexdigest()[:32]


async def _referrers(db: Reads, eng: Engine, coll: Collection, user_id: str) -> list[tuple[Collection, str, str, Any]]:
    """(collection, relation field, record id, stored relation value) of every record referring to the user."""
    out = []
    for src, fname in eng.registry.referencing(coll.id):
        field = src.field(fname)
        if src.type == "view" or not isinstance(field, RelationField):
            continue
        for ref_id, raw in await referencing_rows(db, src, field, user_id):  # type: ignore[arg-type]  # reads only
            if (src.name, ref_id) != (coll.name, user_id):
                out.append((src, fname, ref_id, raw))
    return out


async def _audit(conn: Conn, eng: Engine, action: str, coll: Collection, user_id: str, actor: str, data: Any) -> None:
    await conn.execute(
        'INSERT INTO "_audit" ("id", "created", "action", "collection", "subject", "actor", "data") '
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [new_id(), now_str(), action, coll.name, subject_of(eng.secret, coll, user_id), actor, json.dumps(data)],
    )


# -- export ------------------------------------------------------------------------------------


async def export_user(eng: Engine, coll: Collection, user_id: str, actor: str, req: RequestInfo | None = None) -> bytes:
    """The user's data as a zip (see the module docstring); NotFound when there is no such user.
    ``req``: the user asking for their own data — the records referring to them are then those
    their collections' view rules show the user, as the user may see them (hidden fields left out);
    without it (a superuser), all of them."""
    user = await fetch_one(eng.reader(SUPERUSER), coll, user_id, None)
    if user is None:
        raise NotFound()
    reader = eng.reader(req)
    records: dict[str, list[dict[str, Any]]] = {coll.name: [user]}
    seen = {(coll.name, user_id)}
    for src, _fname, ref_id, _raw in await _referrers(eng.db, eng, coll, user_id):
        if (src.name, ref_id) in seen:
            continue
        seen.add((src.name, ref_id))
        if req is not None and src.viewRule is None:  # superusers only
            continue
        rec = await fetch_one(reader, src, ref_id, src.viewRule)
        if rec is not None:
            records.setdefault(src.name, []).append(rec)
    links = await eng.db.fetch(
        'SELECT "provider", "providerId", "created" FROM "_externalAuths" WHERE "collectionRef" = ? AND "recordRef" = ?',
        [coll.id, user_id],
    )
    devices = await eng.db.fetch(
        'SELECT "provider", "endpoint", "label", "created", "lastSent" FROM "_push_subscriptions" '
        'WHERE "collectionRef" = ? AND "recordRef" = ? ORDER BY "created"',
        [coll.id, user_id],
    )
    push_prefs = await eng.db.fetchone(
        'SELECT "enabled", "muted" FROM "_push_preferences" WHERE "collectionRef" = ? AND "recordRef" = ?',
        [coll.id, user_id],
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        counts = {"records": 0, "files": 0}
        for name, items in records.items():
            zf.writestr(f"records/{name}.json", json.dumps(items, indent=2, ensure_ascii=False))
            counts["records"] += len(items)
            owner = eng.registry.get(name)
            assert owner is not None
            for rec in items:
                async for path, content in _files(eng, owner, rec):
                    await asyncio.to_thread(zf.writestr, path, content)
                    counts["files"] += 1
        push = {
            "devices": [dict(zip(("provider", "endpoint", "label", "created", "lastSent"), d)) for d in devices],
            "preferences": {"enabled": bool(push_prefs[0]), "mutedTopics": json.loads(push_prefs[1])}
            if push_prefs
            else {"enabled": True, "mutedTopics": []},
        }
        zf.writestr("push/devices.json", json.dumps(push, indent=2))
        zf.writestr(
            "auth/links.json",
            json.dumps([{"provider": p, "providerId": pid, "created": c} for p, pid, c in links], indent=2),
        )
        manifest = {
            "format": EXPORT_FORMAT,
            "exported": now_str(),
            "collection": coll.name,
            "id": user_id,
            "records": {name: len(items) for name, items in records.items()},
            "files": counts["files"],
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    await eng.db.write(lambda conn: _audit(conn, eng, "gdpr.export", coll, user_id, actor, counts))
    security.info("gdpr export of a %s record by %s", coll.name, actor)
    return buf.getvalue()


async def _files(eng: Engine, coll: Collection, rec: dict[str, Any]) -> AsyncIterator[tuple[str, bytes]]:
    """``files/<collection>/<record id>/<name>`` and the content of each file of ``rec``."""
    fields = layout(coll).file_fields
    if not fields:
        return
    storage = await eng.files.storage()
    for f in fields:
        for name in as_list(rec.get(f.name)):
            try:
                blob = await storage.open(file_key(coll.id, rec["id"], name))
            except BlobNotFound:  # listed but gone (a failed write's leftover): nothing to export
                continue
            content = b"".join([chunk async for chunk in blob])
            yield f"files/{coll.name}/{rec['id']}/{name}", content


# -- erase -------------------------------------------------------------------------------------


async def erase_user(eng: Engine, coll: Collection, user_id: str, actor: str) -> dict[str, Any]:
    """Erase the user (see the module docstring); what went, counted."""
    if coll.type != "auth":
        raise BadRequest("Only the records of auth collections are users that can be erased.")
    needles: list[str] = []  # the user's identifiers: id and email, read in the transaction
    counts: dict[str, Any] = {
        "deleted": {},
        "anonymized": {},
        "unlinked": {},
        "events": 0,
        "webhookDeliveries": 0,
        "pushDeliveries": 0,
    }

    def count(kind: str, coll_name: str) -> None:
        counts[kind][coll_name] = counts[kind].get(coll_name, 0) + 1

    async def run(conn: Conn) -> None:
        raw = await load_raw(conn, coll, user_id)
        if raw is None:
            raise NotFound()
        needles[:] = [user_id] + ([str(raw["email"])] if raw.get("email") else [])
        reader = Reader(conn, eng.registry, SUPERUSER)
        for src, fname, ref_id, stored in await _referrers(conn, eng, coll, user_id):
            policy = src.gdpr.erase if src.gdpr else None
            if policy == "delete":
                if await load_raw(conn, src, ref_id) is not None:  # not gone with an earlier cascade
                    await delete_record(conn, reader, src, ref_id, files, hooks=eng.hooks)
                    count("deleted", src.name)
            elif policy == "anonymize":
                if await _anonymize(conn, src, fname, ref_id, stored, user_id, files):
                    count("anonymized", src.name)
            else:  # what deleting the user does next, counted here
                field = src.field(fname)
                assert isinstance(field, RelationField)
                alone = not [v for v in as_list(field.from_db(stored)) if v != user_id]
                count("deleted" if alone and field.cascadeDelete else "unlinked", src.name)
        await delete_record(conn, reader, coll, user_id, files, hooks=eng.hooks)
        count("deleted", coll.name)
        counts["events"], counts["webhookDeliveries"], counts["pushDeliveries"] = await _scrub_tables(
            conn, coll, user_id, needles
        )
        await conn.execute(  # an API key keeps no name of who made it
            'UPDATE "_apikeys" SET "createdBy" = \'\' WHERE "createdBy" = ?', [user_id]
        )
        await _audit(conn, eng, "gdpr.erase", coll, user_id, actor, counts)

    async with RecordFiles(eng) as files:  # the deleted records' files go once committed
        await eng.db.write(run, heavy=True)
    log_needles = needles + [quote(n, safe="") for n in needles if quote(n, safe="") != n]  # as in URLs
    counts["logs"] = await eng.request_log.scrub(log_needles)
    # Entries of this user's last requests may still be queued in other processes (written within
    # about a second): scrub once more when they are in.
    eng.tasks.spawn(_scrub_later(eng, log_needles), "gdpr erase: the second scrub of the request log")
    counts["mails"] = await asyncio.to_thread(eng.mailer.forget, needles[1:])
    security.info("gdpr erase of a %s record by %s", coll.name, actor)
    return counts


async def _scrub_later(eng: Engine, needles: list[str]) -> None:
    await asyncio.sleep(3 * FLUSH_SECONDS)
    await eng.request_log.scrub(needles)


async def _anonymize(
    conn: Conn, src: Collection, fname: str, ref_id: str, stored: Any, user_id: str, files: RecordFiles
) -> bool:
    """Remove the user from the record's relation and clear the policy's fields; an update event
    (without the user) announces it."""
    current = await load_raw(conn, src, ref_id)
    if current is None:
        return False
    field = src.field(fname)
    assert isinstance(field, RelationField) and src.gdpr is not None
    remaining = [v for v in as_list(field.from_db(stored)) if v != user_id]
    values = dict(current)
    values[fname] = remaining if field.is_multi() else ""
    for name in src.gdpr.fields:
        f = src.field(name)
        if f is not None:
            values[name] = f.default()
    changed = [fname, *src.gdpr.fields]
    sets = ", ".join(f'"{n}" = ?' for n in changed)
    params = []
    for n in changed:
        f = src.field(n)
        assert f is not None
        params.append(f.to_db(values[n], conn.dialect))
    await conn.execute(f'UPDATE "{src.name}" SET {sets} WHERE "id" = ?', [*params, ref_id])
    files.written(src, ref_id, current, values)
    updated = await load_raw(conn, src, ref_id)
    if updated is not None:
        await append_event(conn, src, "update", updated)
    return True


async def _scrub_tables(conn: Conn, coll: Collection, user_id: str, needles: list[str]) -> tuple[int, int, int]:
    """Delete the stored events, webhook deliveries (with their attempts) and push deliveries to
    other users whose JSON holds one of the needles as a whole string value (``"ann@example.com"``,
    not ``"jann@example.com"``), or that are the user's record's own."""
    pg = conn.dialect == "postgresql"
    text, like = ("CAST({} AS TEXT)", "ILIKE") if pg else ("{}", "LIKE")  # emails: any case
    gone = []
    for table, body, key, own in (
        ("_events", "record", "record_id", user_id),
        ("_webhook_deliveries", "payload", "record_key", f"{coll.id}:{user_id}"),
        ("_push_deliveries", "payload", "recordRef", user_id),  # the user's own went with the record
    ):
        n = 0
        for needle in needles:
            quoted = json.dumps(needle)
            pattern = contains_pattern(quoted)
            where = f"{text.format(q(body))} {like} ? ESCAPE '\\' OR {q(key)} = ?"
            if table == "_webhook_deliveries":
                await conn.execute(
                    f'DELETE FROM "_webhook_attempts" WHERE "delivery" IN (SELECT "id" FROM "{table}" WHERE {where})',
                    [pattern, own],
                )
            n += await conn.execute(f'DELETE FROM "{table}" WHERE {where}', [pattern, own])
        gone.append(n)
    return gone[0], gone[1], gone[2]
