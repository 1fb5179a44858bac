"""The orphan sweep: blobs whose record, or whose name in the record, no longer exists.

Record writes store new blobs before their transaction and delete replaced ones after it, so a
crash in between can leave blobs that nothing names (and, on local disk, temporary files of
interrupted uploads). ``baas files sweep`` finds and removes them. Only blobs older than a grace
period are considered, so uploads still on their way to a commit are never touched; keys that do
not follow the record layout (``<collectionId>/<recordId>/<name>`` and its ``thumbs_<name>/``
folder) and blobs under collections this server does not know as base or auth collections are
left alone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from baas.db.tables import q
from baas.files.local import LocalStorage
from baas.files.storage import Storage
from baas.schema.model import Collection

if TYPE_CHECKING:  # the engine creates this service; here only its type is named
    from baas.core import Engine

DEFAULT_GRACE = 3600.0  # seconds
_BATCH = 200  # records looked up per query


def parse_key(key: str) -> tuple[str, str, str] | None:
    """(collectionId, recordId, filename) of a record file or thumbnail key; None otherwise."""
    parts = key.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 4 and parts[2].startswith("thumbs_"):
        name = parts[2][len("thumbs_") :]
        if name and parts[3].endswith("_" + name):
            return parts[0], parts[1], name
    return None


async def sweep_orphans(
    eng: Engine, storage: Storage, older_than: float = DEFAULT_GRACE, *, dry_run: bool = False, now: float | None = None
) -> list[str]:
    """Remove (unless ``dry_run``) orphan blobs last modified more than ``older_than`` seconds ago;
    return their keys (local temporary files as ``.tmp/<name>``), sorted."""
    cutoff = (time.time() if now is None else now) - older_than
    found: list[str] = []
    pending: dict[tuple[str, str], list[tuple[str, str]]] = {}
    async for info in storage.list(""):
        if info.modified > cutoff:
            continue
        parsed = parse_key(info.key)
        if parsed is None:
            continue
        coll_id, rec_id, name = parsed
        pending.setdefault((coll_id, rec_id), []).append((info.key, name))
        if len(pending) >= _BATCH:
            found += await _orphans(eng, pending)
            pending = {}
    if pending:
        found += await _orphans(eng, pending)
    if not dry_run:
        for key in found:
            await storage.delete(key)

    if isinstance(storage, LocalStorage):  # local disk: uploads a crash interrupted
        for path in await storage.stale_temp_files(cutoff):
            found.append(".tmp/" + path.rsplit("/", 1)[-1])
            if not dry_run:
                await storage.remove_temp_file(path)
    return sorted(found)


async def _orphans(eng: Engine, pending: dict[tuple[str, str], list[tuple[str, str]]]) -> list[str]:
    """The keys in ``pending`` whose record is gone or no longer names the file."""
    by_coll: dict[str, list[str]] = {}
    for coll_id, rec_id in pending:
        by_coll.setdefault(coll_id, []).append(rec_id)
    out: list[str] = []
    for coll_id, rec_ids in by_coll.items():
        coll = eng.registry.get(coll_id)
        if coll is None:
            # No such collection (deleted): every blob under it is an orphan, but only if the id
            # looks like one of ours, not a stranger's folder sharing the bucket.
            if not await _was_collection(eng, coll_id):
                continue
            names: dict[str, set[str]] = {}
        elif coll.id != coll_id or coll.type == "view":
            continue
        else:
            names = await _file_names(eng, coll, rec_ids)
        for rec_id in rec_ids:
            held = names.get(rec_id)
            for key, name in pending[(coll_id, rec_id)]:
                if held is None or name not in held:
                    out.append(key)
    return out


async def _was_collection(eng: Engine, coll_id: str) -> bool:
    """Whether the schema history ever knew a collection with this id."""
    pattern = '%"' + coll_id.replace("\\", "").replace("%", "").replace("_", "\\_") + '"%'
    hits = await eng.db.fetchval(
        f"SELECT count(*) FROM {q('_schema_history')} WHERE {q('schema')} LIKE ? ESCAPE '\\'", [pattern]
    )
    return bool(hits)


async def _file_names(eng: Engine, coll: Collection, rec_ids: list[str]) -> dict[str, set[str]]:
    """Record id -> the file names its file fields hold, for the records that exist."""
    file_fields = [f for f in coll.fields if f.type == "file"]
    cols = ", ".join([q("id"), *(q(f.name) for f in file_fields)])
    marks = ", ".join("?" for _ in rec_ids)
    rows = await eng.db.fetch(f"SELECT {cols} FROM {q(coll.name)} WHERE {q('id')} IN ({marks})", list(rec_ids))
    out: dict[str, set[str]] = {}
    for row in rows:
        held: set[str] = set()
        for f, raw in zip(file_fields, row[1:]):
            value = f.from_db(raw)
            held.update(v for v in (value if isinstance(value, list) else [value]) if v)
        out[row[0]] = held
    return out
