"""Property tests of the schema planner on a real database, over generated schemas
(`schema_strategies`): applying a plan reaches the declared state, export -> plan is empty, and
nothing with data (column, collection, index) goes without ``accept_data_loss``."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings

from baas.core import Engine
from baas.errors import SchemaError
from baas.schema.loader import dump_schema, load_schema_text
from baas.schema.model import Collection, parse_index
from tests.schema.schema_strategies import schemas

PROPERTY = settings(
    max_examples=75,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def reset(engine: Engine) -> None:
    """Back to a fresh install: every generated collection dropped, data and all."""
    await engine.apply([engine.registry.get("users")], prune=True, accept_data_loss=True)


async def table_columns(engine: Engine, name: str) -> list[str]:
    if engine.db.dialect == "postgresql":
        rows = await engine.db.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND column_name != '_rowid' ORDER BY ordinal_position",
            [name],
        )
        return [r[0] for r in rows]
    return [r[1] for r in await engine.db.fetch(f'PRAGMA table_info("{name}")')]


async def db_indexes(engine: Engine, name: str) -> set[str]:
    if engine.db.dialect == "postgresql":
        rows = await engine.db.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = ? AND indexname NOT LIKE '%_pkey'", [name]
        )
    else:
        rows = await engine.db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [name]
        )
    return {r[0] for r in rows}


def _options(f: Any) -> dict[str, Any]:
    d = msgspec.to_builtins(f)
    d.pop("id", None)
    d.pop("collectionId", None)  # declared by name, applied by id
    return d


async def assert_reached(engine: Engine, declared: list[Collection]) -> None:
    """The applied schema and the database are what the file declares."""
    for want in declared:
        got = engine.registry.get(want.name)
        assert got is not None and got.type == want.type
        for f in want.fields:
            assert _options(got.field(f.name)) == _options(f), f"{want.name}.{f.name}"
        for rule in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule", "manageRule"):
            if want.type != "view" or rule in ("listRule", "viewRule"):
                assert getattr(got, rule) == getattr(want, rule), f"{want.name}.{rule}"
        assert got.authToken == want.authToken
        columns = await table_columns(engine, want.name)
        assert sorted(columns) == sorted(f.name for f in got.fields), want.name  # added columns come last
        if want.type != "view":
            names = {parse_index(i, got.name).name for i in got.indexes}
            assert names == await db_indexes(engine, want.name), want.name
            if want.type == "auth":
                assert {f"idx_email_{want.name}", f"idx_tokenKey_{want.name}"} <= names


@PROPERTY
@given(text=schemas())
async def test_apply_reaches_the_declared_state_and_export_replans_to_nothing(engine: Engine, text: str) -> None:
    await reset(engine)
    declared = load_schema_text(text).collections
    try:
        plan = await engine.plan(declared)
    except SchemaError as exc:  # every generated schema is valid: say why it was refused
        raise AssertionError(f"{exc.message} {exc.errors}\n--- schema:\n{text}") from None
    assert not plan.destructive  # a fresh database holds nothing to lose
    await engine.apply(declared)
    await assert_reached(engine, declared)
    again = await engine.plan(declared)
    assert again.changes == [], again.describe()
    exported = dump_schema(engine.registry.all())
    replan = await engine.plan(load_schema_text(exported).collections)
    assert replan.changes == [], f"{replan.describe()}\n--- export:\n{exported}"


_VALUES = {"text": "'x'", "number": "7", "bool": "TRUE", "json": "'[\"x\"]'"}


async def fill(engine: Engine) -> dict[str, set[str]]:
    """One row in every generated table, every column holding a non-empty value; returns what
    now holds data: table -> field ids (and index keys)."""
    held: dict[str, set[str]] = {}
    for c in engine.registry.all():
        if c.type == "view" or c.system or c.name == "users":
            continue
        cols = [f for f in c.fields if f.name != "id"]
        values = []
        for f in cols:
            if f.kind() == "json" and engine.db.dialect == "postgresql":
                values.append("'[\"x\"]'::jsonb")
            elif f.kind() == "bool" and engine.db.dialect == "sqlite":
                values.append("1")
            else:
                values.append(_VALUES[f.kind()])
        names = ", ".join(['"id"', *(f'"{f.name}"' for f in cols)])
        sql = f"INSERT INTO \"{c.name}\" ({names}) VALUES ('r1', {', '.join(values)})"
        await engine.db.write(lambda conn, sql=sql: conn.execute(sql))
        held[c.id] = {f.id for f in cols} | {_index_key(c, i) for i in c.indexes}
    return held


def _index_key(c: Collection, raw: str) -> str:
    idx = parse_index(raw, c.name)
    ids = {f.name: f.id for f in c.fields}
    return repr((idx.unique, [ids[x.lstrip("-")] for x in idx.columns], sorted(ids[n] for n in idx.nocase), idx.where))


def lost(before: dict[str, set[str]], after: list[Collection]) -> list[str]:
    """What of ``before`` (data-holding tables, columns, indexes) the schema ``after`` no longer has."""
    now = {c.id: {f.id for f in c.fields} | {_index_key(c, i) for i in c.indexes} for c in after}
    out = []
    for cid, parts in before.items():
        if cid not in now:
            out.append(f"collection {cid}")
        else:
            out += [f"{cid}: {p}" for p in parts - now[cid]]
    return out


@PROPERTY
@given(first=schemas(), second=schemas())
async def test_nothing_with_data_is_lost_without_the_flag(engine: Engine, first: str, second: str) -> None:
    await reset(engine)
    await engine.apply(load_schema_text(first).collections)
    held = await fill(engine)
    before = engine.registry.all()
    wanted = load_schema_text(second).collections + [engine.registry.get("users")]
    try:
        plan = await engine.plan(wanted, prune=True)
    except SchemaError:
        event("second schema refused")
        return  # e.g. a view over a field the second schema drops: refused before anything runs
    event("destructive" if plan.destructive else "lossless")
    if not plan.destructive:
        try:
            await engine.apply(wanted, prune=True)
        except SchemaError as exc:  # a value that does not convert: refused, nothing changed
            event("conversion refused")
            assert "Cannot convert" in exc.message or "refused" in exc.message, exc.message
            assert lost(held, engine.registry.all()) == []
            return
        assert lost(held, engine.registry.all()) == [], plan.describe()
        return
    with pytest.raises(SchemaError, match="lose data"):
        await engine.apply(wanted, prune=True)
    assert [c.name for c in engine.registry.all()] == [c.name for c in before]
    assert lost(held, engine.registry.all()) == []
    try:
        await engine.apply(wanted, prune=True, accept_data_loss=True)
    except SchemaError as exc:
        assert "Cannot convert" in exc.message or "refused" in exc.message, exc.message
        return
    await assert_reached(engine, load_schema_text(second).collections)
