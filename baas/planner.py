"""The schema planner: diff the applied collections against a wanted set, then apply the
difference in one transaction. The YAML file, the collections API and PocketBase imports all
go through here.

Collections and fields are matched by their stable ids, so renaming keeps the data. Changes
that lose data (dropping a field or collection that holds any, narrowing a multi-value field)
are refused unless ``accept_data_loss`` is set. Type changes convert values through the new
field's own ``prepare``; a value that does not convert refuses the plan with the record id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from baas import search
from baas.db import Conn, Database
from baas.db.tables import q
from baas.errors import FieldError, SchemaError
from baas.ids import now_str
from baas.rules import RequestInfo, RuleError, compile_filter
from baas.schema import defaults
from baas.schema.ddl import bump_version_sql, column_type, create_index_sql, create_table_sql, versions_table_sql
from baas.schema.fields import Field, RelationField
from baas.schema.jobs import Job
from baas.schema.model import Collection, Index, parse_index
from baas.schema.validate import ErrorTree, normalize
from baas.schema.views import infer_views, view_order, view_query

_encoder = msgspec.json.Encoder()


@dataclass
class Change:
    """One step of a plan, readable by a person (``str``) and applied by `apply_plan`.

    ``old``/``new`` are the collections of create, drop, rename and alter (view query) steps, and
    the fields of the field steps (add, drop, rename, convert, alter options)."""

    action: str  # create | drop | rename | add_field | drop_field | rename_field | convert_field | alter | indexes
    collection: str
    detail: str = ""
    destructive: bool = False
    old: Collection | Field | None = None
    new: Collection | Field | None = None

    def __str__(self) -> str:
        sign = {"create": "+", "drop": "-", "add_field": "+", "drop_field": "-"}.get(self.action, "~")
        warn = "  [DATA LOSS]" if self.destructive else ""
        return f"{sign} {self.collection}: {self.action.replace('_', ' ')} {self.detail}".rstrip() + warn


@dataclass
class Plan:
    """The changes that turn the applied schema into ``target``."""

    changes: list[Change] = field(default_factory=list)
    target: list[Collection] = field(default_factory=list)
    previous: list[Collection] = field(default_factory=list)
    base: int | None = None  # the schema history mark the plan was made against
    # Scheduled jobs (baas.yaml ``jobs:``): the file's jobs (None: this plan leaves them alone, as
    # the collections API does) and the changes against the jobs last applied, readable lines.
    jobs: list[Job] | None = None
    job_changes: list[str] = field(default_factory=list)

    @property
    def destructive(self) -> bool:
        return any(c.destructive for c in self.changes)

    def describe(self) -> str:
        return "\n".join([*(str(c) for c in self.changes), *self.job_changes]) or "No changes."


# -- jobs ------------------------------------------------------------------------------------------
# Jobs live in baas.yaml and are read at each server start; what was last applied (``baas schema
# apply``, or a server start with the file) is kept in ``_params`` so that a plan can show
# what the file would change.
JOBS_PARAM = "jobs"


async def applied_jobs(db: Database | Conn) -> dict[str, dict[str, Any]] | None:
    """The jobs last applied, by name (None: never recorded)."""
    raw = await db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', [JOBS_PARAM])
    if raw is None:
        return None
    value = json.loads(raw)
    return {j["name"]: j for j in value} if isinstance(value, list) else None


def diff_jobs(applied: dict[str, dict[str, Any]] | None, wanted: list[Job]) -> list[str]:
    """Readable changes from ``applied`` to ``wanted``: ``+ job x: add …``, ``- job x: remove``,
    ``~ job x: change schedule '…' -> '…', …``."""
    old = applied or {}
    out: list[str] = []
    for job in wanted:
        new = msgspec.to_builtins(job)
        before = old.get(job.name)
        if before is None:
            out.append(f"+ job {job.name}: add ({job.schedule!r} -> {job.target})")
            continue
        keys = sorted(set(before) | set(new))
        diffs = [f"{k} {before.get(k)!r} -> {new.get(k)!r}" for k in keys if before.get(k) != new.get(k)]
        if diffs:
            out.append(f"~ job {job.name}: change {', '.join(diffs)}")
    names = {j.name for j in wanted}
    out += [f"- job {name}: remove" for name in sorted(old) if name not in names]
    return out


async def plan_jobs(db: Database, plan: Plan, wanted: list[Job]) -> None:
    """Add the job part to ``plan``: ``wanted`` becomes the applied jobs when it is applied."""
    plan.jobs = list(wanted)
    plan.job_changes = diff_jobs(await applied_jobs(db), wanted)


async def record_jobs(conn: Conn, jobs: list[Job]) -> None:
    """Remember ``jobs`` as the applied ones (in ``conn``'s transaction)."""
    value = _encoder.encode([msgspec.to_builtins(j) for j in jobs]).decode()
    await conn.execute(
        'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?) '
        'ON CONFLICT ("id") DO UPDATE SET "value" = excluded."value", "updated" = excluded."updated"',
        [JOBS_PARAM, value, now_str()],
    )


Pair = tuple[Collection | None, Collection]  # (applied, wanted): applied is None for a new collection
Lookup = Callable[[str], Collection | None]


def _collection_of(x: Collection | Field | None) -> Collection:
    """The collection a collection step carries (a field or nothing there is a planner bug)."""
    if not isinstance(x, Collection):
        raise TypeError(f"expected a collection in this plan step, got {x!r}")
    return x


def _field_of(x: Collection | Field | None) -> Field:
    """The field a field step carries."""
    if not isinstance(x, Field):
        raise TypeError(f"expected a field in this plan step, got {x!r}")
    return x


def _field_sig(f: Field) -> bytes:
    return _encoder.encode(f)


async def _has_data(db: Database, table: str, f: Field | None = None) -> bool:
    if f is None:
        return await db.fetchone(f"SELECT 1 FROM {q(table)} LIMIT 1") is not None
    kind = f.kind()
    col = q(f.name)
    if kind == "json":
        cond = f"{col} IS NOT NULL AND CAST({col} AS TEXT) NOT IN ('[]', 'null', '\"\"', '')"
    elif kind == "number":
        cond = f"{col} != 0"
    elif kind == "bool":
        cond = f"{col} = TRUE"
    else:
        cond = f"{col} != ''"
    return await db.fetchone(f"SELECT 1 FROM {q(table)} WHERE {cond} LIMIT 1") is not None


async def schema_mark(db: Database | Conn) -> int | None:
    """The newest schema history id: a plan only applies over the schema it was made from."""
    mark: int | None = await db.fetchval('SELECT max("id") FROM "_schema_history"')
    return mark


async def make_plan(db: Database, applied: list[Collection], wanted: list[Collection], *, prune: bool = False) -> Plan:
    """Diff ``applied`` against ``wanted``. Collections missing from ``wanted`` are dropped only
    with ``prune`` (system collections never). Raises `SchemaError` for an invalid target."""
    matched, kept = _match(applied, wanted)
    # Normalise against the target schema (relations may point at new collections).
    target_raw = [w for _, w in matched] + ([] if prune else kept)
    target_raw += [c for c in kept if c.system and prune]
    normalized = _normalize_all(matched, target_raw)
    others = [c for c in kept if not prune or c.system]
    tables = [(o, n) for o, n in normalized if n.type != "view"]
    plan = Plan(target=[n for _, n in tables] + others, previous=list(applied), base=await schema_mark(db))
    await _diff_pairs(db, plan, tables)
    if prune:
        await _drop_missing(db, plan, kept)
    # Views last: their fields come from the database as it will be once the tables changed.
    views = await infer_views(
        db,
        plan.target,
        [(o, n) for o, n in normalized if n.type == "view"],
        tables_change=any(ch.action not in ("alter", "indexes") for ch in plan.changes),
        shape=lambda conn: _apply(conn, plan, structure_only=True),
    )
    await _diff_pairs(db, plan, views)
    final = {n.name: n for _, n in tables + views}
    plan.target = [final[n.name] for _, n in normalized] + others
    _check_target_rules(plan.target, db.dialect)
    return plan


def _match(applied: list[Collection], wanted: list[Collection]) -> tuple[list[Pair], list[Collection]]:
    """Pair each wanted collection with the applied one it changes (by id, else by name; new ones
    get their stable id), and list the applied collections ``wanted`` does not name."""
    old_by_id = {c.id: c for c in applied}
    old_by_name = {c.name: c for c in applied}
    wanted_ids = {x.id for x in wanted}
    matched: list[Pair] = []
    aliases: dict[str, str] = {}  # an imported id -> the applied id of the same-named collection
    for w in wanted:
        old = old_by_id.get(w.id) if w.id else None
        if old is None and w.name in old_by_name and old_by_name[w.name].id not in wanted_ids:
            old = old_by_name[w.name]
            if w.id:
                aliases[w.id] = old.id
            w = msgspec.structs.replace(w, id=old.id)
        if not w.id:  # ids first, so relations between new collections resolve to them
            w = msgspec.structs.replace(w, id=defaults.stable_id("pbc_", w.name))
        matched.append((old, w))
    if aliases:
        matched = [(o, _realias(w, aliases)) for o, w in matched]
    matched_ids = {w.id for _, w in matched if w.id}
    kept = [c for c in applied if c.id not in matched_ids and c.name not in {w.name for w in wanted}]
    return matched, kept


def _normalize_all(matched: list[Pair], target_raw: list[Collection]) -> list[Pair]:
    """``matched`` with each wanted collection normalised against ``target_raw``; every problem
    of every collection (and names used twice) in one `SchemaError`."""

    def lookup(key: str) -> Collection | None:
        for c in target_raw:
            if c.id == key or c.name == key:
                return c
        return None

    errors: ErrorTree = {}
    normalized: list[Pair] = []
    for old, w in matched:
        try:
            normalized.append((old, normalize(w, lookup, old)))
        except SchemaError as exc:
            errors[w.name] = exc.errors
    names = [c.name for c in target_raw]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        errors["name"] = {
            "code": "validation_collection_name_exists",
            "message": f"Collection name(s) already in use: {', '.join(sorted(dupes))}.",
        }
    if errors:
        raise SchemaError("The schema has errors.", errors=errors)
    return normalized


async def _diff_pairs(db: Database, plan: Plan, pairs: list[Pair]) -> None:
    """The changes of each (applied, wanted) pair: a create, or the differences."""
    for old, new in pairs:
        if old is None:
            plan.changes.append(Change("create", new.name, f"({new.type}, {len(new.fields)} fields)", new=new))
        else:
            await _diff_collection(db, plan, old, new)


async def _drop_missing(db: Database, plan: Plan, kept: list[Collection]) -> None:
    """With ``prune``: drop the applied collections the wanted schema leaves out (not system ones)."""
    for c in kept:
        if c.system:
            continue
        lossy = c.type != "view" and await _has_data(db, c.name)
        plan.changes.append(Change("drop", c.name, "", destructive=lossy, old=c))


def _check_target_rules(target: list[Collection], dialect: str) -> None:
    """Every rule of the target schema compiles against it, or one `SchemaError` lists them."""

    def target_lookup(key: str) -> Collection | None:
        return next((c for c in target if c.id == key or c.name == key), None)

    errors: ErrorTree = {}
    for n in target:
        rule_errors = _check_rules(n, target_lookup, dialect)
        if rule_errors:
            errors[n.name] = rule_errors  # names are unique in the target (checked above)
    if errors:
        raise SchemaError("The schema has errors.", errors=errors)


def _realias(c: Collection, aliases: dict[str, str]) -> Collection:
    fields = [
        msgspec.structs.replace(f, collectionId=aliases[f.collectionId])
        if isinstance(f, RelationField) and f.collectionId in aliases
        else f
        for f in c.fields
    ]
    return msgspec.structs.replace(c, fields=fields)


RULES = ("listRule", "viewRule", "createRule", "updateRule", "deleteRule", "manageRule", "authRule")


def _check_rules(coll: Collection, lookup: Lookup, dialect: str) -> ErrorTree:
    """Compile each rule once so a broken rule is refused now, not on every request later."""
    errors: ErrorTree = {}
    probe = RequestInfo(auth={"id": "probe", "collectionName": "", "collectionId": ""})
    for rule in RULES:
        expr: str | None = getattr(coll, rule)
        if not expr:
            continue
        try:
            compile_filter(expr, collection=coll, lookup=lookup, request=probe, dialect=dialect, alias="m")
        except RuleError as exc:
            errors[rule] = {"code": "validation_invalid_rule", "message": f"Invalid rule: {exc}"}
    return errors


# Collection keys compared as "options" (everything but identity, fields, indexes, rules, stamps).
_NOT_OPTIONS = {"id", "name", "type", "system", "fields", "indexes", "viewQuery", "created", "updated"}


def _options(c: Collection) -> dict[str, Any]:
    options: dict[str, Any] = msgspec.to_builtins(c)
    return {k: v for k, v in options.items() if k not in _NOT_OPTIONS and k not in RULES}


IndexKey = tuple[bool, tuple[str, ...], tuple[str, ...], str]  # unique, columns, nocase columns, where


def _index_key(c: Collection, raw: str | Index) -> IndexKey:
    """What an index means, independent of its name and of field renames (columns by field id)."""
    idx = parse_index(raw, c.name)
    ids = {f.name: f.id for f in c.fields}
    cols = tuple(
        ("-" if col.startswith("-") else "") + ids.get(col.lstrip("-"), col.lstrip("-")) for col in idx.columns
    )
    return idx.unique, cols, tuple(sorted(ids.get(n, n) for n in idx.nocase)), idx.where


async def _diff_collection(db: Database, plan: Plan, old: Collection, new: Collection) -> None:
    if old.type != new.type:
        raise SchemaError(f"Collection {old.name!r}: changing the type ({old.type} -> {new.type}) is not supported.")
    table = old.name
    if old.name != new.name:
        plan.changes.append(Change("rename", new.name, f"(was {old.name})", old=old, new=new))
    if new.type == "view":
        if old.viewQuery != new.viewQuery or _encoder.encode(old.fields) != _encoder.encode(new.fields):
            plan.changes.append(Change("alter", new.name, "view query", old=old, new=new))
    else:
        await _diff_fields(db, plan, old, new)
        if [str(i) for i in old.indexes] != [str(i) for i in new.indexes]:
            # Dropping an index (not recreating it under a new name) on a table with rows loses a
            # guarantee the data may rely on (a unique index above all): it needs the flag.
            kept = {_index_key(new, i) for i in new.indexes}
            lost = [parse_index(i, old.name).name for i in old.indexes if _index_key(old, i) not in kept]
            lossy = bool(lost) and await _has_data(db, table)
            detail = f"{len(old.indexes)} -> {len(new.indexes)}" + (f" (drops {', '.join(lost)})" if lost else "")
            plan.changes.append(Change("indexes", new.name, detail, destructive=lossy, old=old, new=new))
    for rule in RULES:
        if getattr(old, rule) != getattr(new, rule):
            plan.changes.append(Change("alter", new.name, f"{rule}: {getattr(old, rule)!r} -> {getattr(new, rule)!r}"))
    before, after = _options(old), _options(new)
    changed = sorted(k for k in after if before.get(k) != after[k])
    if changed:
        plan.changes.append(Change("alter", new.name, f"options {', '.join(changed)}"))


async def _diff_fields(db: Database, plan: Plan, old: Collection, new: Collection) -> None:
    table = old.name
    old_fields = {f.id: f for f in old.fields}
    new_ids = {f.id for f in new.fields}
    for f in old.fields:
        if f.id not in new_ids:
            lossy = await _has_data(db, table, f)
            plan.changes.append(Change("drop_field", new.name, f.name, destructive=lossy, old=f))
    for f in new.fields:
        of = old_fields.get(f.id)
        if of is None:
            plan.changes.append(Change("add_field", new.name, f"{f.name} ({f.type})", new=f))
            continue
        if of.name != f.name:
            plan.changes.append(Change("rename_field", new.name, f"{of.name} -> {f.name}", old=of, new=f))
        if of.type != f.type or of.kind() != f.kind():
            lossy = of.is_multi() and not f.is_multi() and f.kind() != "json"
            plan.changes.append(
                Change(
                    "convert_field",
                    new.name,
                    f"{f.name}: {of.type} -> {f.type}"
                    + (" (multiple -> single)" if of.is_multi() and not f.is_multi() else ""),
                    destructive=lossy and await _has_data(db, table, of),
                    old=of,
                    new=f,
                )
            )
        elif _field_sig(of) != _field_sig(msgspec.structs.replace(f, name=of.name)):
            plan.changes.append(Change("alter", new.name, f"field {f.name} options", old=of, new=f))


async def apply_plan(
    db: Database,
    plan: Plan,
    *,
    accept_data_loss: bool = False,
    source: str = "api",
    progress: search.Progress | None = None,
) -> None:
    """Apply ``plan`` in one transaction and record it in ``_schema_history``. ``progress`` hears
    how far the long steps got (building a search index over the rows a collection holds)."""
    if plan.destructive and not accept_data_loss:
        lossy = "; ".join(str(c) for c in plan.changes if c.destructive)
        raise SchemaError(
            f"Refusing a change that would lose data ({lossy}). "
            "Re-run with --accept-data-loss (API: acceptDataLoss) to apply it."
        )

    async def run(conn: Conn) -> None:
        if conn.dialect == "postgresql":  # one schema change at a time across every node
            await conn.execute("SELECT pg_advisory_xact_lock(724312)")
        if plan.base is not None and await schema_mark(conn) != plan.base:
            raise SchemaError("The schema was changed by someone else meanwhile; plan again and retry.")
        if plan.changes:
            await _apply(conn, plan, progress=progress)
            # What every server process has cached of a changed collection goes stale with it (its
            # triggers count row writes; a changed rule or field type is not one).
            for cid in sorted({c.id for c in [*plan.previous, *plan.target] if c.id and _changed(plan, c)}):
                await conn.execute(bump_version_sql(conn.dialect), [cid])
        now = now_str()
        await conn.execute('DELETE FROM "_collections"')
        for c in plan.target:
            c = msgspec.structs.replace(
                c, created=c.created or now, updated=now if _changed(plan, c) else c.updated or now
            )
            await conn.execute(
                'INSERT INTO "_collections" ("id", "name", "type", "system", "data", "created", "updated") '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.name, c.type, c.system, _encoder.encode(c).decode(), c.created, c.updated),
            )
        if plan.jobs is not None and plan.job_changes:
            await record_jobs(conn, plan.jobs)
        if plan.changes:
            await conn.execute(
                'INSERT INTO "_schema_history" ("applied", "source", "changes", "schema") VALUES (?, ?, ?, ?)',
                (now, source, json.dumps([str(c) for c in plan.changes]), _encoder.encode(plan.target).decode()),
            )

    try:
        await db.write(run, heavy=True)
    except SchemaError:
        raise
    except Exception as exc:  # the database refused a statement: nothing was applied
        raise SchemaError(f"The database refused the change: {exc}") from None
    finally:
        await db.schema_changed()


def _changed(plan: Plan, c: Collection) -> bool:
    return any(ch.collection == c.name for ch in plan.changes)


async def _apply(
    conn: Conn, plan: Plan, *, structure_only: bool = False, progress: search.Progress | None = None
) -> None:
    """Run the plan's DDL. ``structure_only`` (a scratch run, see `views.infer_views`) shapes the
    tables and stops there: no conversions, no new indexes, no views."""
    # Every view out first (they may read tables about to change, or each other: dependents
    # first), all back in last in dependency order.
    for v in reversed(view_order([c for c in plan.previous if c.type == "view"])):
        await conn.execute(f"DROP VIEW IF EXISTS {q(v.name)}")
    rebuild = _search_rebuilds(plan)
    for old, _ in rebuild:  # out before any column it reads changes (SQLite triggers name them)
        if old is not None:
            for stmt in search.drop_sql(old, conn.dialect):
                await conn.execute(stmt)
    await _apply_tables(conn, plan, structure_only=structure_only)
    reindex = {
        ch.collection for ch in plan.changes if ch.action in ("indexes", "drop_field", "rename_field", "convert_field")
    }
    await _drop_indexes(conn, plan, reindex)
    await _apply_columns(conn, plan)
    if structure_only:
        return
    for ch in plan.changes:
        if ch.action == "convert_field":
            await _convert(conn, ch.collection, _field_of(ch.old), _field_of(ch.new))
    by_name = {c.name: c for c in plan.target}
    for name in reindex:
        for idx in by_name[name].indexes:
            await conn.execute(create_index_sql(name, parse_index(idx, name), conn.dialect))
    for _, new in rebuild:
        if new is not None:
            for stmt in search.create_sql(new, conn.dialect):
                await conn.execute(stmt)
            await search.fill(conn, new, progress)
    for v in view_order([c for c in plan.target if c.type == "view"]):
        await conn.execute(f"CREATE VIEW {q(v.name)} AS {view_query(v)}")


_FIELD_STEPS = ("add_field", "drop_field", "rename_field", "convert_field", "alter")


def _search_rebuilds(plan: Plan) -> list[tuple[Collection | None, Collection | None]]:
    """(applied, wanted) of each collection whose search index is dropped and built again: its
    search options changed, it was created, dropped or renamed with search on, or a searched
    field changed. A rebuild reads the whole table, so nothing else triggers one."""
    previous = {c.id: c for c in plan.previous}
    target = {c.id: c for c in plan.target}
    out: list[tuple[Collection | None, Collection | None]] = []
    for cid in [*previous, *(i for i in target if i not in previous)]:
        old, new = previous.get(cid), target.get(cid)
        searched = {n for c in (old, new) if c is not None and c.search is not None for n in c.search.fields}
        if not searched:
            continue
        if old is None or new is None or old.name != new.name or old.search != new.search:
            out.append((old, new))
            continue
        touched = {
            f.name
            for ch in plan.changes
            if ch.collection == new.name and ch.action in _FIELD_STEPS
            for f in (ch.old, ch.new)
            if isinstance(f, Field)
        }
        if touched & searched:
            out.append((old, new))
    return out


async def create_collections(conn: Conn, collections: list[Collection]) -> None:
    """The tables, indexes and views of ``collections`` in an empty database (a backup being
    restored: their ``_collections`` rows come with the backup's data)."""
    for stmt in versions_table_sql(conn.dialect):  # a backup's revision may predate them (0012)
        await conn.execute(stmt)
    for c in collections:
        if c.type != "view":
            for stmt in create_table_sql(c, conn.dialect):
                await conn.execute(stmt)
            for stmt in search.create_sql(c, conn.dialect):
                await conn.execute(stmt)
    for v in view_order([c for c in collections if c.type == "view"]):
        await conn.execute(f"CREATE VIEW {q(v.name)} AS {view_query(v)}")


async def _apply_tables(conn: Conn, plan: Plan, *, structure_only: bool) -> None:
    """Tables dropped, then renamed, then created (only the table itself when ``structure_only``)."""
    for ch in plan.changes:
        if ch.action == "drop" and (old := _collection_of(ch.old)).type != "view":
            await conn.execute(f"DROP TABLE {q(old.name)}")
    for ch in plan.changes:
        if ch.action == "rename" and (new := _collection_of(ch.new)).type != "view":
            await conn.execute(f"ALTER TABLE {q(_collection_of(ch.old).name)} RENAME TO {q(new.name)}")
    for ch in plan.changes:
        if ch.action == "create" and (new := _collection_of(ch.new)).type != "view":
            for stmt in create_table_sql(new, conn.dialect)[: 1 if structure_only else None]:
                await conn.execute(stmt)


async def _drop_indexes(conn: Conn, plan: Plan, reindex: set[str]) -> None:
    """The applied indexes of the ``reindex`` collections (named as the target names them)."""
    by_name = {c.name: c for c in plan.target}
    for name in reindex:
        old = next((c for c in plan.previous if c.id == by_name[name].id), None)
        if old is None:
            continue
        for idx in old.indexes:
            await conn.execute(f"DROP INDEX IF EXISTS {q(_index_name(parse_index(idx, old.name), old.name))}")


async def _apply_columns(conn: Conn, plan: Plan) -> None:
    """Columns dropped, renamed and added, in the plan's order."""
    for ch in plan.changes:
        t = q(ch.collection)
        if ch.action == "drop_field":
            await conn.execute(f"ALTER TABLE {t} DROP COLUMN {q(_field_of(ch.old).name)}")
        elif ch.action == "rename_field":
            old, new = _field_of(ch.old), _field_of(ch.new)
            await conn.execute(f"ALTER TABLE {t} RENAME COLUMN {q(old.name)} TO {q(new.name)}")
        elif ch.action == "add_field":
            added = _field_of(ch.new)
            await conn.execute(f"ALTER TABLE {t} ADD COLUMN {q(added.name)} {column_type(added, conn.dialect)}")


def _index_name(idx: Index, table: str) -> str:
    return idx.name or f"idx_{table}_{'_'.join(c.lstrip('-') for c in idx.columns)}"


async def _convert(conn: Conn, table: str, old: Field, new: Field) -> None:
    """Convert a column's values to a new field type through the new field's ``prepare``."""
    tmp = f"{new.name}__conv"
    await conn.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(tmp)} {column_type(new, conn.dialect)}")
    rows = await conn.fetch(f"SELECT {q('id')}, {q(new.name)} FROM {q(table)}")
    for rid, raw in rows:
        value = old.to_api(raw)
        if old.is_multi() and not new.is_multi() and new.kind() != "json":
            value = value[-1] if value else ""
        elif isinstance(value, list) and new.kind() not in ("json",):
            value = ",".join(str(v) for v in value)
        elif new.kind() == "text" and isinstance(value, dict):
            value = json.dumps(value)
        try:
            prepared = new.prepare(value)
        except FieldError as exc:
            raise SchemaError(
                f"Cannot convert {table}.{new.name} from {old.type} to {new.type}: record {rid} "
                f"has {value!r} ({exc.message})"
            ) from None
        await conn.execute(
            f"UPDATE {q(table)} SET {q(tmp)} = ? WHERE {q('id')} = ?", (new.to_db(prepared, conn.dialect), rid)
        )
    await conn.execute(f"ALTER TABLE {q(table)} DROP COLUMN {q(new.name)}")
    await conn.execute(f"ALTER TABLE {q(table)} RENAME COLUMN {q(tmp)} TO {q(new.name)}")
