"""baas audit log: who created, updated or deleted which record, when, and which fields changed.

Installed (``pip install -e plugins/audit_log``), it loads through the ``baas.plugins`` entry
point. Settings, in ``baas.yaml``::

    plugins:
      - module: baas_audit_log
        settings:
          collections: [posts, comments]   # only these (names or ids); default: every collection
          exclude: [sessions]              # never these

What it adds, through the public plugin API only:

- a table ``_audit_log``, created at start if missing;
- a hook on every record create, update and delete that writes one row in the write's own
  transaction (a rolled-back write leaves no audit row; a committed one always has its row);
- ``GET /api/audit?collection=&record=&page=&perPage=`` for superusers, newest first;
- ``baas audit list [--collection] [--record] [--limit] [--dir] [--db]``.

Passwords are never stored (a change shows as ``"***"``); timestamps and token keys are left out.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import typer
from litestar import Request, get

from baas.errors import BadRequest
from baas.hooks import RecordEvent
from baas.plugins import PluginApp

TABLE = "_audit_log"
REDACTED = "***"
INNERMOST = 1_000_000  # bound last, so it runs next to the write and sees the values actually stored
MAX_PER_PAGE = 500
_COLUMNS = ('"id", "created", "action", "collection_id", "collection", "record_id", "auth_collection", '
            '"auth_id", "fields", "changes"')


def register(app: PluginApp) -> None:
    only = app.settings.get("collections") or None
    exclude = set(app.settings.get("exclude") or [])

    async def audit(e: RecordEvent) -> None:
        await e.next()  # the write itself; if it fails, nothing is logged
        if e.collection.name in exclude or e.collection.id in exclude:
            return
        await e.db.execute(f'INSERT INTO "{TABLE}" ("created", "action", "collection_id", "collection", "record_id", '
                           '"auth_collection", "auth_id", "fields", "changes") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                           entry(e))

    for hook in (app.hooks.on_record_create, app.hooks.on_record_update, app.hooks.on_record_delete):
        hook.bind(audit, priority=INNERMOST, id=f"audit_log.{hook.name}", tags=only)

    @app.on_start
    async def create_table() -> None:
        await ensure_table(app.db)

    @get("/api/audit", media_type="application/json")
    async def audit_list(request: Request) -> Any:
        await app.require_superuser(request)
        q = request.query_params
        page, per_page = _int(q.get("page"), "page", 1, 1), _int(q.get("perPage"), "perPage", 30, 1, MAX_PER_PAGE)
        collection = q.get("collection", "")
        coll = app.collection(collection) if collection else None
        items, total = await query(app.db, coll.id if coll else collection, q.get("record", ""), per_page,
                                   (page - 1) * per_page)
        return app.json({"page": page, "perPage": per_page, "totalItems": total,
                         "totalPages": (total + per_page - 1) // per_page, "items": items})

    app.route(audit_list)

    audit_cli = typer.Typer(help="The audit log of record changes (plugin audit_log).", no_args_is_help=True)

    @audit_cli.command("list")
    def audit_list_cmd(collection: str = typer.Option("", "--collection", help="A collection name or id."),
                       record: str = typer.Option("", "--record", help="A record id."),
                       limit: int = typer.Option(50, "--limit", min=1, max=10_000),
                       data_dir: str = typer.Option("baas_data", "--dir", help="Data directory."),
                       db: str = typer.Option("", "--db", help="Database URL (default: SQLite in --dir).")) -> None:
        """Print audit entries as JSON lines, newest first."""
        async def run(a: PluginApp) -> list[dict[str, Any]]:
            await ensure_table(a.db)
            coll = a.collection(collection) if collection else None
            return (await query(a.db, coll.id if coll else collection, record, limit, 0))[0]

        for item in app.run(run, data_dir=data_dir, db=db):
            typer.echo(json.dumps(item, sort_keys=True))

    app.cli.add_typer(audit_cli, name="audit")


def entry(e: RecordEvent) -> list[Any]:
    """The audit row of a write event (inside its transaction, after ``e.next()``)."""
    coll = e.collection
    secret = {f.name for f in coll.fields if f.type == "password"}
    # Set by the server: the timestamps, and an auth record's token key (changes with the password).
    skip = {f.name for f in coll.fields if f.type == "autodate"} | ({"tokenKey"} if coll.type == "auth" else set())
    old = e.record if e.action == "delete" else (e.original or {})
    new = {} if e.action == "delete" else e.record
    changes: dict[str, list[Any]] = {}
    for f in coll.fields:
        name = f.name
        if name in skip:
            continue
        before, after = old.get(name), new.get(name)
        if e.action == "update" and before == after:
            continue
        if e.action != "update" and _empty(before) and _empty(after):
            continue
        if name in secret:
            before, after = (REDACTED if before else None), (REDACTED if after else None)
        changes[name] = [before, after]
    auth = e.auth or {}
    return [_now(), e.action, coll.id, coll.name, e.record.get("id", ""), auth.get("collectionName", ""),
            auth.get("id", ""), json.dumps(sorted(changes)), json.dumps(changes, default=str)]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or value is False or value == 0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _int(raw: str | None, name: str, default: int, low: int, high: int | None = None) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name}: must be an integer.",
                         {name: {"code": "validation_invalid_int", "message": "Must be an integer."}}) from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"Invalid {name}: must be {limit}.",
                         {name: {"code": "validation_out_of_range", "message": f"Must be {limit}."}})
    return value


async def ensure_table(db: Any) -> None:
    """Create the table and its index if missing (idempotent; safe when several processes start)."""
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if db.dialect == "sqlite" else \
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    ddl = [f'CREATE TABLE IF NOT EXISTS "{TABLE}" ("id" {key}, "created" TEXT NOT NULL, "action" TEXT NOT NULL, '
           '"collection_id" TEXT NOT NULL, "collection" TEXT NOT NULL, "record_id" TEXT NOT NULL, '
           '"auth_collection" TEXT NOT NULL, "auth_id" TEXT NOT NULL, "fields" TEXT NOT NULL, '
           '"changes" TEXT NOT NULL)',
           f'CREATE INDEX IF NOT EXISTS "idx_{TABLE}_record" ON "{TABLE}" ("collection_id", "record_id")']

    async def create(conn: Any) -> None:
        for sql in ddl:
            await conn.execute(sql)

    try:
        await db.write(create, heavy=True)
    except Exception:
        # Two PostgreSQL servers creating it at the same moment: one wins, the other's IF NOT EXISTS
        # can still fail on the catalog. Fine if the table is there now.
        if not await _exists(db):
            raise


async def _exists(db: Any) -> bool:
    try:
        await db.fetchval(f'SELECT count(*) FROM "{TABLE}"')
    except Exception:
        return False
    return True


async def query(db: Any, collection_id: str, record_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
    """Entries, newest first, for a collection id (or name) and/or a record id; and their total."""
    conds, params = [], []
    if collection_id:
        conds.append('("collection_id" = ? OR "collection" = ?)')
        params += [collection_id, collection_id]
    if record_id:
        conds.append('"record_id" = ?')
        params.append(record_id)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    rows = await db.fetch(f'SELECT {_COLUMNS} FROM "{TABLE}"{where} ORDER BY "id" DESC LIMIT ? OFFSET ?',
                          [*params, limit, offset])
    total = await db.fetchval(f'SELECT count(*) FROM "{TABLE}"{where}', params)
    items = [{"id": r[0], "created": r[1], "action": r[2], "collectionId": r[3], "collectionName": r[4],
              "record": r[5], "auth": {"collectionName": r[6], "id": r[7]}, "fields": json.loads(r[8]),
              "changes": json.loads(r[9])} for r in rows]
    return items, int(total)
