"""What a collection's records look like to the code: one `Layout` per collection version.

The write, read and realtime paths all need data derived from a collection's fields — the
INSERT statement, the fields' unset values, the secret names kept out of events, the SELECT
list, the row decoders, the file and relation fields, the realtime row source. It is derived
once per collection object and lives as long as that object: the registry replaces a
`Collection` object whenever the schema changes, so a new object gets a new layout, and the old
layout goes when the old object does.

    lay = layout(coll)
    lay.insert_sql, lay.defaults(), lay.file_fields, lay.select("m")
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from baas.db.tables import q
from baas.schema.fields import AutodateField, Field, FileField, PasswordField, RelationField
from baas.schema.model import Collection

Decoder = Callable[[tuple[Any, ...]], dict[str, Any]]
Fields = tuple[Field, ...]

# Collections are msgspec Structs: weak-referenceable (``weakref=True``) but not hashable, so no
# WeakKeyDictionary. The cache is keyed by id() and each layout holds its collection weakly; the
# weak reference's callback drops the entry when the collection is freed (replaced in the
# registry and no request holding it any more), before its id can be reused.
_cache: dict[int, Layout] = {}


def layout(coll: Collection) -> Layout:
    """The layout of ``coll`` (built on first use, then kept as long as ``coll`` lives)."""
    hit = _cache.get(id(coll))
    if hit is not None and hit._coll() is coll:
        return hit
    hit = _cache[id(coll)] = Layout(coll)
    return hit


def _forget(key: int, ref: weakref.ref[Collection]) -> None:
    """``ref``'s collection is being freed: drop its layout (unless the key was reused meanwhile)."""
    hit = _cache.get(key)
    if hit is not None and hit._coll is ref:
        _cache.pop(key, None)


class Layout:
    """Derived data of one collection version (see the module docstring). Cheap fields are
    computed up front; the SELECT lists, decoders and realtime shapes on first use."""

    __slots__ = (
        "__weakref__",
        "_coll",
        "auth",
        "fields",
        "insert_sql",
        "insert_select_sql",
        "autodates",
        "secret_names",
        "file_fields",
        "relations",
        "_defaults",
        "_selects",
        "_decoders",
        "_rt_sources",
        "_rt_visible",
    )

    def __init__(self, coll: Collection) -> None:
        # Weak: a strong reference from the module-level cache would keep every replaced collection.
        self._coll = weakref.ref(coll, partial(_forget, id(coll)))
        self.auth = coll.type == "auth"
        self.fields: Fields = tuple(coll.fields)
        cols = ", ".join(q(f.name) for f in self.fields)
        marks = ", ".join("?" * len(self.fields))
        self.insert_sql = f"INSERT INTO {q(coll.name)} ({cols}) VALUES ({marks})"
        self.insert_select_sql = f"INSERT INTO {q(coll.name)} ({cols}) SELECT {marks}"  # + WHERE: a guarded insert
        self.autodates = tuple(f for f in self.fields if isinstance(f, AutodateField))
        # Never written to the event stream: passwords and an auth record's tokenKey.
        self.secret_names = frozenset([f.name for f in self.fields if isinstance(f, PasswordField)] + ["tokenKey"])
        self.file_fields = tuple(f for f in self.fields if isinstance(f, FileField))
        self.relations = tuple(f for f in self.fields if isinstance(f, RelationField))
        self._defaults = {f.name: f.default() for f in self.fields}
        self._selects: dict[str, str] = {}
        self._decoders: tuple[Decoder, Decoder] | None = None
        self._rt_sources: dict[str, tuple[str, str]] = {}
        self._rt_visible: dict[bool, tuple[str, ...]] = {}

    def defaults(self) -> dict[str, Any]:
        """Every field's unset value (lists copied: modifiers may extend them)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._defaults.items()}

    def select(self, alias: str = "m") -> str:
        """The SELECT list of the collection's columns, in `fields` order, qualified by ``alias``."""
        hit = self._selects.get(alias)
        if hit is None:
            hit = self._selects[alias] = ", ".join(f"{q(alias)}.{q(f.name)}" for f in self.fields)
        return hit

    def decoders(
        self, coll: Collection, build: Callable[[Collection, Fields, bool], Decoder]
    ) -> tuple[Decoder, Decoder]:
        """(superuser decoder, everyone-else decoder) of a row in `fields` order, made by ``build``
        (`baas.records.serialize` owns how) on first use; ``coll``: this layout's collection."""
        hit = self._decoders
        if hit is None:
            hit = self._decoders = (build(coll, self.fields, True), build(coll, self.fields, False))
        return hit

    def rt_source(self, dialect: str, build: Callable[[Fields, str], tuple[str, str]]) -> tuple[str, str]:
        """The realtime inline row source's (first row, later rows) SELECTs, made by ``build``
        (`baas.realtime.access` owns how) once per dialect."""
        hit = self._rt_sources.get(dialect)
        if hit is None:
            hit = self._rt_sources[dialect] = build(self.fields, dialect)
        return hit

    def visible(self, superuser: bool) -> tuple[str, ...]:
        """Field names a record shows superusers / everyone else, in collection order (secrets never)."""
        hit = self._rt_visible.get(superuser)
        if hit is None:
            auth = self.auth
            hit = self._rt_visible[superuser] = tuple(
                f.name
                for f in self.fields
                if f.type != "password" and not (auth and f.name == "tokenKey") and (superuser or not f.hidden)
            )
        return hit
