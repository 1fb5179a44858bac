"""One schema -> type model step shared by the Python and TypeScript emitters.

The input is PocketBase's collection JSON (what ``GET /api/collections`` answers and what
`baas.schema.model.Collection.to_api` gives), so a schema file, a baas server and a PocketBase
server all give the same model. The model says, per collection and field, the value's kind and
where the field appears: in the record the API answers, in a create body, in an update body
(with its modifier keys). The emitters only spell it.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["string", "number", "int", "bool", "true", "select", "relation", "file", "json", "geoPoint"]
Use = Literal["names", "upload"]  # a file field's values: names it holds, or new uploads

# Field types whose value is a plain string (dates are PocketBase's "2024-01-01 10:00:00.000Z").
_STRING_TYPES = {"text", "editor", "email", "url", "date", "autodate", "password"}


@dataclass(frozen=True)
class Value:
    """The type of one value: its kind, select values, a relation's target record type, and
    whether it is a list (multi-value select, relation and file fields)."""

    kind: Kind
    many: bool = False
    values: tuple[str, ...] = ()  # select: its values ("" added where an unset single select reads "")
    target: str = ""  # relation: the target collection's record type name ("" if not in the schema)
    use: Use = "names"
    or_one: bool = False  # a modifier's value: one item, or a list of them


@dataclass(frozen=True)
class Key:
    """A key of a generated type: its name, value, and whether it must be present."""

    name: str
    value: Value
    required: bool


@dataclass
class CollectionModel:
    """One collection's generated types: ``record`` keys (system fields first), ``expand``
    (relation fields), ``create`` and ``update`` keys (None for a view: it takes no writes)."""

    name: str
    type: str  # base, auth or view
    type_name: str  # ``posts`` -> ``Posts``; the other types add Create, Update, Expand
    record: list[Key] = field(default_factory=list)
    expand: list[Key] = field(default_factory=list)
    create: list[Key] | None = None
    update: list[Key] | None = None
    unknown_types: list[str] = field(default_factory=list)  # field types this version does not know

    @property
    def read_only(self) -> bool:
        return self.create is None


@dataclass
class TypeModel:
    """Every collection, sorted by name, and whether any uses a geo point (the emitters then
    declare the ``GeoPoint`` type once)."""

    collections: list[CollectionModel]

    def uses(self, kind: Kind) -> bool:
        """Whether any record has a value of ``kind`` (views have no bodies, so records decide)."""
        return any(k.value.kind == kind for c in self.collections for k in c.record)


def type_names(names: list[str]) -> dict[str, str]:
    """A distinct PascalCase type name per collection name: ``blog_posts`` -> ``BlogPosts``,
    ``_superusers`` -> ``Superusers``. A clash (``_users`` and ``users``) or a name that would
    collide with a generated suffix type gets a number, in sorted-name order, so output is stable."""
    taken: set[str] = {"Client", "AsyncClient", "Collections", "GeoPoint", "Any", "Literal"}
    out: dict[str, str] = {}
    for name in sorted(names):
        parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
        base = "".join(p[:1].upper() + p[1:] for p in parts) or "Collection"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "C" + base
        candidate, n = base, 2
        while candidate in taken or any(candidate + s in taken for s in ("Create", "Update", "Expand")):
            candidate, n = f"{base}{n}", n + 1
        taken.update({candidate, candidate + "Create", candidate + "Update", candidate + "Expand"})
        out[name] = candidate
    return out


def build_model(collections: list[dict[str, Any]]) -> TypeModel:
    """The type model of ``collections`` (PocketBase's collection JSON)."""
    names = type_names([str(c["name"]) for c in collections])
    by_id = {str(c.get("id") or c["name"]): names[str(c["name"])] for c in collections}
    by_id.update(names)  # a schema file's relation may name its target instead of giving its id
    models = [_collection(c, names[str(c["name"])], by_id) for c in sorted(collections, key=lambda c: str(c["name"]))]
    return TypeModel(collections=models)


def _collection(c: dict[str, Any], type_name: str, targets: dict[str, str]) -> CollectionModel:
    ctype = str(c.get("type") or "base")
    auth = ctype == "auth"
    m = CollectionModel(name=str(c["name"]), type=ctype, type_name=type_name)
    m.record = [Key("id", Value("string"), True), Key("collectionId", Value("string"), True)]
    m.record.append(Key("collectionName", Value("select", values=(m.name,)), True))
    create: list[Key] = []
    update: list[Key] = []
    for f in c.get("fields") or []:
        name, ftype = str(f["name"]), str(f.get("type"))
        value = _value(f, targets)
        if value is None:
            m.unknown_types.append(ftype)
            value = Value("json")
        if name == "id":
            create.append(Key("id", Value("string"), False))  # a client may choose the id of a new record
            continue
        secret = ftype == "password" or (auth and name == "tokenKey")
        if not secret:  # passwords and token keys never appear in a record, not even to superusers
            visible_to_all = not f.get("hidden") and not (auth and name == "email")
            m.record.append(Key(name, _as_read(value, f), visible_to_all))
            if value.kind == "relation":
                m.expand.append(Key(name, value, False))
        if ftype == "autodate" or (auth and name == "tokenKey"):
            continue  # set by the server
        required = bool(f.get("required")) and not f.get("autogeneratePattern")
        write = _as_write(value, f)
        if value.kind != "file":  # uploads have their own argument (Python) or Blob values (TS)
            create.append(Key(name, write, required))
        else:
            create.append(Key(name, Value("file", value.many, use="upload"), required))
        update.append(Key(name, write if value.kind != "file" else _file_update(value), False))
        update.extend(_modifiers(name, value))
    if auth:
        create.append(Key("passwordConfirm", Value("string"), True))
        update.append(Key("passwordConfirm", Value("string"), False))
        update.append(Key("oldPassword", Value("string"), False))
    if ctype != "view":
        m.create, m.update = create, update
    return m


def _value(f: dict[str, Any], targets: dict[str, str]) -> Value | None:
    """The value type of a field as the API shows it; None for a field type not known here."""
    ftype = str(f.get("type"))
    many = int(f.get("maxSelect") or 1) > 1
    if ftype in _STRING_TYPES:
        return Value("string")
    if ftype == "number":
        return Value("int" if f.get("onlyInt") else "number")
    if ftype == "bool":
        return Value("bool")
    if ftype == "select":
        return Value("select", many, tuple(str(v) for v in f.get("values") or []))
    if ftype == "relation":
        return Value("relation", many, target=targets.get(str(f.get("collectionId") or f.get("collection") or ""), ""))
    if ftype == "file":
        return Value("file", many)
    if ftype == "json":
        return Value("json")
    if ftype == "geoPoint":
        return Value("geoPoint")
    return None


def _as_read(value: Value, f: dict[str, Any]) -> Value:
    """A record's value: an unset single select reads ``""`` (a required one is never unset)."""
    if value.kind == "select" and not value.many and not f.get("required"):
        return Value("select", False, (*value.values, ""))
    return value


def _as_write(value: Value, f: dict[str, Any]) -> Value:
    """A body's value: a required bool must be true; an optional single select may be cleared with ``""``."""
    if value.kind == "bool" and f.get("required"):
        return Value("true")
    if value.kind == "select" and not value.many and not f.get("required"):
        return Value("select", False, (*value.values, ""))
    return value


def _file_update(value: Value) -> Value:
    """In an update a file field takes the names it keeps (uploads go with their own ``+`` key)."""
    return Value("file", value.many, use="names")


def _modifiers(name: str, value: Value) -> list[Key]:
    """PocketBase's update modifiers: ``n+``/``n-`` on numbers; ``f+``/``+f``/``f-`` on multi-value
    selects and relations; on files ``f+`` appends uploads and ``f-`` removes names."""
    if value.kind in ("number", "int"):
        return [Key(f"{name}+", value, False), Key(f"{name}-", value, False)]
    if value.kind in ("select", "relation") and value.many:
        some = replace(value, or_one=True)
        return [Key(f"{name}+", some, False), Key(f"+{name}", some, False), Key(f"{name}-", some, False)]
    if value.kind == "file":
        return [
            Key(f"{name}+", Value("file", value.many, use="upload", or_one=value.many), False),
            Key(f"{name}-", Value("file", value.many, use="names", or_one=value.many), False),
        ]
    return []
