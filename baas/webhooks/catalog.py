"""The webhooks this process knows: the ``_webhooks`` rows as `Webhook` objects, reloaded about
every second (another process or node may have changed them), with what the dispatcher needs —
which webhooks an event matches, and their filters compiled against the current schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from baas.db.tables import q
from baas.events import Event
from baas.events.emit import AUTH_EVENTS, JOB_EVENTS, RECORD_ACTIONS
from baas.ids import parse_dt
from baas.rules import SQL, RuleError, compile_filter
from baas.rules.context import SUPERUSER
from baas.schema.ddl import DIALECTS, column
from baas.schema.model import Collection
from baas.schema.webhooks import Webhook, decode_secret, is_special, secret_value
from baas.webhooks import store

if TYPE_CHECKING:
    from baas.core import Engine

_decode = msgspec.json.Decoder(Webhook).decode


@dataclass
class Entry:
    """One webhook as loaded: its options and its shared state."""

    hook: Webhook
    source: str
    enabled: bool
    failures: int
    disabled_reason: str
    created: str
    updated: str
    _filters: dict[tuple[str, int], tuple[SQL, str]] = field(default_factory=dict)

    def matches(self, event: Event) -> bool:
        """Whether one of the webhook's event types covers ``event``."""
        record = event.action in RECORD_ACTIONS
        for e in self.hook.events:
            if is_special(e):
                if not record and (e == event.action or (e.endswith(".*") and event.action.startswith(e[:-1]))):
                    return True
                continue
            coll, _, act = e.rpartition(".")
            if record and coll == event.collection and act in (event.action, "*"):
                return True
        return False

    def keys(self) -> list[bytes]:
        """The signing keys: the secret, and the previous one until its end (newest first)."""
        keys = [decode_secret(secret_value(self.hook.secret))]
        if self.hook.previousSecret:
            until = parse_dt(self.hook.previousSecretUntil)
            if until is not None and store.now() < until:
                keys.append(decode_secret(secret_value(self.hook.previousSecret)))
        return keys


def compile_for(hook: Webhook, coll: Collection, lookup: Any, dialect: str) -> tuple[SQL, str]:
    """``hook``'s filter as SQL over a one-row table ``"m"`` built from a record, and the SELECT
    list that builds that row from one bound value per field (RuleError if the filter does not fit
    the collection)."""
    sql = compile_filter(
        hook.filter, collection=coll, lookup=lookup, request=SUPERUSER, dialect=dialect, alias="m", stored=False
    )
    cols = []
    for f in coll.fields:
        if dialect == "postgresql":  # typed like the real column, so operators resolve as in a list rule
            kind = column(f, "postgresql").type.compile(dialect=DIALECTS["postgresql"])
            cols.append(f"CAST(? AS {kind}) AS {q(f.name)}")
        else:
            cols.append(f"? AS {q(f.name)}")
    return sql, ", ".join(cols)


async def record_matches(eng: Engine, entry: Entry, coll: Collection, record: dict[str, Any]) -> bool:
    """Whether ``record`` (as the API shows it) passes ``entry``'s filter: the filter runs in the
    database over a one-row derived table holding the record's stored values, so relations and
    every operator behave exactly as in a list rule."""
    if not entry.hook.filter.strip():
        return True
    db = eng.db
    key = (coll.id, eng.registry.version)
    if key not in entry._filters:
        entry._filters = {key: compile_for(entry.hook, coll, eng.registry.get, db.dialect)}
    sql, select = entry._filters[key]
    params = [f.to_db(record.get(f.name, f.default()), db.dialect) for f in coll.fields]
    row = await db.fetchone(f'SELECT 1 FROM (SELECT {select}) AS "m" WHERE {sql.sql}', [*params, *sql.params])
    return row is not None


class Catalog:
    """Webhooks by name, as last loaded."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._stamp: tuple[Any, ...] = ()

    async def reload(self, eng: Engine) -> None:
        rows = await store.webhooks(eng.db)
        stamp = tuple((r["name"], r["updated"], r["enabled"], r["failures"]) for r in rows)
        if stamp == self._stamp:
            return
        entries: dict[str, Entry] = {}
        for r in rows:
            try:
                hook = _decode(r["config"])
            except msgspec.ValidationError:
                continue  # written by a newer version: leave it to that one
            old = self.entries.get(r["name"])
            e = Entry(
                hook,
                r["source"],
                bool(r["enabled"]),
                int(r["failures"]),
                r["disabled_reason"],
                r["created"],
                r["updated"],
            )
            if old is not None and old.hook == hook:
                e._filters = old._filters
            entries[r["name"]] = e
        self.entries = entries
        self._stamp = stamp

    def matching(self, event: Event) -> list[Entry]:
        return [e for e in self.entries.values() if e.matches(event)]


def check_against_schema(hook: Webhook, eng: Engine) -> str | None:
    """What is wrong with ``hook`` given the applied schema: an unknown collection, a filter that
    names a field the collection lacks. None if it fits."""
    problem = special_problem(hook)
    if problem:
        return problem
    for name in sorted(hook.collections()):
        coll = eng.registry.get(name)
        if coll is None or coll.name != name:
            return f"unknown collection {name!r} in events"
        if hook.filter.strip():
            try:
                compile_for(hook, coll, eng.registry.get, eng.db.dialect)
            except RuleError as exc:
                return f"filter does not fit collection {name!r}: {exc}"
    return None


def special_problem(hook: Webhook) -> str | None:
    """An ``auth.``/``job.`` event type that does not exist, or None."""
    known = (*AUTH_EVENTS, *JOB_EVENTS, "auth.*", "job.*")
    for e in hook.events:
        if is_special(e) and e not in known:
            return f"unknown event type {e!r} (known: {', '.join(known)})"
    return None
