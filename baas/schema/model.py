"""Collections: the msgspec model shared by ``baas.yaml``, the collections API and the planner.

The JSON shape is PocketBase's collection export, so its import/export files load unchanged.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Literal

import msgspec

from baas.schema.fields import AnyField, Field, RelationField

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SYSTEM_FIELD_NAMES = {"id", "created", "updated", "collectionId", "collectionName", "expand"}


AUTH_OPTIONS = (
    "manageRule",
    "authRule",
    "authToken",
    "passwordAuth",
    "oauth2",
    "otp",
    "mfa",
    "authAlert",
    "verificationToken",
    "passwordResetToken",
    "emailChangeToken",
    "fileToken",
    "verificationTemplate",
    "resetPasswordTemplate",
    "confirmEmailChangeTemplate",
)


class Index(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A structured index: the columns (``-name`` for descending), whether it is unique, and the
    columns compared ignoring case (``nocase``: SQLite's ``COLLATE NOCASE``, ``lower(col)`` on
    PostgreSQL)."""

    name: str = ""
    columns: list[str] = []
    unique: bool = False
    where: str = ""
    nocase: list[str] = []


class Gdpr(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """What erasing a user (docs/gdpr.md) does to this collection's records that refer to them:
    ``delete`` them, or ``anonymize`` them (the reference to the user removed and the ``fields``
    listed cleared). Unset: what deleting the user does (each relation's cascadeDelete, else the
    reference removed)."""

    erase: Literal["delete", "anonymize"] | None = None
    fields: list[str] = []


class Search(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Full-text search over some text and editor fields (docs/search.md): their ``weights`` in
    the ranking (default 1 each) and the ``language`` that decides how words are matched
    (``simple``: as written, case-insensitive; ``english``: by stem, "running" finds "run")."""

    fields: list[str] = []
    weights: dict[str, float] = {}
    language: Literal["simple", "english"] = "simple"


class Collection(msgspec.Struct, kw_only=True, dict=True, weakref=True):
    """One collection: its fields, indexes, the five rules and type-specific options.

    Weak-referenceable so derived data (`baas.records.layout`) lives exactly as long as it does."""

    name: str
    type: Literal["base", "auth", "view"] = "base"
    id: str = ""
    system: bool = False
    fields: list[AnyField] = []
    indexes: list[str | Index] = []
    listRule: str | None = None
    viewRule: str | None = None
    createRule: str | None = None
    updateRule: str | None = None
    deleteRule: str | None = None
    viewQuery: str = ""
    # auth collections
    manageRule: str | None = None
    authRule: str | None = ""
    authToken: dict[str, Any] = {}
    passwordAuth: dict[str, Any] = {}
    # PocketBase's per-collection auth options, kept as its JSON shapes (see docs/auth.md).
    oauth2: dict[str, Any] = {}
    otp: dict[str, Any] = {}
    mfa: dict[str, Any] = {}
    authAlert: dict[str, Any] = {}
    verificationToken: dict[str, Any] = {}
    passwordResetToken: dict[str, Any] = {}
    emailChangeToken: dict[str, Any] = {}
    fileToken: dict[str, Any] = {}
    verificationTemplate: dict[str, Any] = {}
    resetPasswordTemplate: dict[str, Any] = {}
    confirmEmailChangeTemplate: dict[str, Any] = {}
    gdpr: Gdpr | None = None  # baas's own: the erase policy (docs/gdpr.md); left out of the JSON when unset
    search: Search | None = None  # baas's own: full-text search (docs/search.md); left out when unset
    # baas's own: False keeps this collection's reads out of the query cache (docs/cache.md); left out when unset.
    cache: bool | None = None
    created: str = ""
    updated: str = ""

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> Field | None:
        return self.field_map.get(name)

    def relations(self) -> list[RelationField]:
        return [f for f in self.fields if isinstance(f, RelationField)]

    def to_api(self) -> dict[str, Any]:
        """PocketBase's JSON for this collection (auth-only keys only on auth collections)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["indexes"] = [i if isinstance(i, str) else index_sql(self.name, i) for i in self.indexes]
        if self.type != "auth":
            for k in AUTH_OPTIONS:
                out.pop(k, None)
        if self.type != "view":
            out.pop("viewQuery", None)
        if self.gdpr is None:
            out.pop("gdpr", None)
        if self.search is None:
            out.pop("search", None)
        if self.cache is None:
            out.pop("cache", None)
        if self.type == "view":
            for k in ("createRule", "updateRule", "deleteRule"):
                out[k] = None
        return out


def index_sql(table: str, idx: Index) -> str:
    """A structured index as PocketBase-style SQL text."""
    name = idx.name or f"idx_{table}_{'_'.join(c.lstrip('-') for c in idx.columns)}"
    cols = ", ".join(_index_column(c, idx) for c in idx.columns)
    sql = f"CREATE {'UNIQUE ' if idx.unique else ''}INDEX `{name}` ON `{table}` ({cols})"
    return sql + (f" WHERE {idx.where}" if idx.where else "")


def _index_column(col: str, idx: Index) -> str:
    name = col.lstrip("-")
    out = f"`{name}`" + (" COLLATE NOCASE" if name in idx.nocase else "")
    return out + (" DESC" if col.startswith("-") else "")


_INDEX_RE = re.compile(
    r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"\[]?(\w+)[`\"\]]?\s+ON\s+[`\"\[]?(\w+)[`\"\]]?"
    r"\s*\((.*)\)\s*(?:WHERE\s+(.+))?;?\s*$",
    re.I | re.S,
)


def parse_index(sql: str | Index, table: str) -> Index:
    """Read a PocketBase index statement into a structured `Index` (columns only, no expressions)."""
    if isinstance(sql, Index):
        return sql
    m = _INDEX_RE.match(sql)
    if not m:
        raise ValueError(f"invalid index definition: {sql!r}")
    cols: list[str] = []
    nocase: list[str] = []
    for raw in m.group(4).split(","):
        parts = raw.strip().split()
        if not parts:
            raise ValueError(f"invalid index definition: {sql!r}")
        col = parts[0].strip('`"[]')
        if not NAME_RE.match(col):
            raise ValueError(f"index columns must be field names: {sql!r}")
        mods = [p.upper().strip('`"[]') for p in parts[1:]]
        desc = bool(mods) and mods[-1] == "DESC"
        if mods and mods[-1] in ("ASC", "DESC"):
            mods = mods[:-1]
        if mods == ["COLLATE", "NOCASE"]:
            nocase.append(col)
        elif mods not in ([], ["COLLATE", "BINARY"]):  # BINARY is the default comparison
            raise ValueError(f"index columns may only be followed by COLLATE NOCASE, ASC or DESC: {sql!r}")
        cols.append(("-" if desc else "") + col)
    return Index(
        name=m.group(2), columns=cols, unique=bool(m.group(1)), where=(m.group(5) or "").strip(), nocase=nocase
    )
