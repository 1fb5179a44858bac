"""Normalising and checking a collection before it is planned: ids, system fields, names,
relation targets, options. Errors come back in PocketBase's ``data`` shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeAlias

import msgspec

from baas.errors import FieldError, SchemaError
from baas.schema import defaults
from baas.schema.fields import FIELD_TYPES, AnyField, AutodateField, MultiValueField, RelationField, SelectField
from baas.schema.fields.text import TextField, generator
from baas.schema.model import NAME_RE, SYSTEM_FIELD_NAMES, Collection, Index, Search, index_sql, parse_index

Lookup = Callable[[str], "Collection | None"]
# PocketBase's ``data`` error shape: {"code", "message"} leaves (some with "params"), keyed by
# option, field position or collection name.
ErrorTree: TypeAlias = dict[str, "str | int | ErrorTree"]
_RESERVED_COLLECTIONS = {"_collections", "_schema_history", "_params", "_events", "_data_versions", "sqlite_master"}


def _err(code: str, message: str) -> ErrorTree:
    return {"code": code, "message": message}


def normalize(coll: Collection, lookup: Lookup, old: Collection | None = None) -> Collection:
    """Return ``coll`` with ids filled in, system fields present and every option checked.

    ``lookup`` finds the other collections of the target schema (by name or id); ``old`` is the
    applied version of this collection, whose ids are kept for fields matched by name.
    """
    errors: ErrorTree = {}
    name = coll.name
    name_error = _check_name(coll, old)
    if name_error:
        errors["name"] = name_error
    cid = coll.id or (old.id if old else "") or defaults.stable_id("pbc_", name)
    out_fields, field_errors = _normalize_fields(coll, _with_system_fields(coll, old), lookup, old)
    if field_errors:
        errors["fields"] = field_errors
    index_error = _check_indexes(coll, {f.name for f in out_fields})
    if index_error:
        errors["indexes"] = index_error
    if coll.type == "view" and not coll.viewQuery.strip():
        errors["viewQuery"] = _err("validation_required", "A view collection needs a viewQuery.")
    if coll.gdpr is not None and (gdpr_error := _check_gdpr(coll, {f.name: f for f in out_fields})):
        errors["gdpr"] = gdpr_error
    if coll.search is not None and old is not None:
        coll = msgspec.structs.replace(coll, search=_renamed_search(coll.search, old, out_fields))
    if coll.search is not None and (search_error := _check_search(coll, {f.name: f for f in out_fields})):
        errors["search"] = search_error
    if errors:
        raise SchemaError(f"Invalid collection {name!r}.", errors=errors)
    # Indexes are kept as PocketBase-style SQL text, one canonical spelling each. An auth
    # collection always has its system indexes, whatever the file or the request says.
    parsed_indexes = [parse_index(i, name) for i in coll.indexes]
    if coll.type == "auth":
        parsed_indexes = defaults.with_auth_indexes(name, parsed_indexes)
    indexes: list[str | Index] = [index_sql(name, i) for i in parsed_indexes]
    return msgspec.structs.replace(coll, id=cid, fields=out_fields, indexes=indexes)


def _check_gdpr(coll: Collection, fields: dict[str, AnyField]) -> ErrorTree | None:
    """The erase policy names fields the collection has, that an erase may clear."""
    policy = coll.gdpr
    assert policy is not None
    if coll.type == "view":
        return _err("validation_invalid_value", "A view collection holds no records to erase.")
    if policy.fields and policy.erase != "anonymize":
        return _err("validation_invalid_value", "fields are cleared only by erase: anonymize.")
    for name in policy.fields:
        f = fields.get(name)
        if f is None:
            return _err("validation_unknown_field", f"Unknown field {name!r}.")
        if f.system or name in SYSTEM_FIELD_NAMES or isinstance(f, AutodateField):
            return _err("validation_invalid_value", f"The system field {name!r} can't be cleared.")
    return None


MAX_SEARCH_FIELDS = 16


def _renamed_search(config: Search, old: Collection, fields: list[AnyField]) -> Search:
    """``config`` with the searched fields renamed by this change renamed in it too (a field is
    the same field by its id), so renaming a field never needs the search options rewritten."""
    old_names = {f.id: f.name for f in old.fields}
    renames = {old_names[f.id]: f.name for f in fields if f.id in old_names and old_names[f.id] != f.name}
    if not renames or any(n in config.fields for n in renames.values()):
        return config
    return msgspec.structs.replace(
        config,
        fields=[renames.get(n, n) for n in config.fields],
        weights={renames.get(n, n): w for n, w in config.weights.items()},
    )


def _check_search(coll: Collection, fields: dict[str, AnyField]) -> ErrorTree | None:
    """Search covers text and editor fields everybody who may list a record may read."""
    config = coll.search
    assert config is not None
    if coll.type == "view":
        return _err("validation_invalid_value", "Full-text search needs a base or auth collection.")
    if not config.fields:
        return _err("validation_required", "Name the fields to search (search.fields).")
    if len(config.fields) > MAX_SEARCH_FIELDS or len(set(config.fields)) != len(config.fields):
        return _err("validation_invalid_value", f"At most {MAX_SEARCH_FIELDS} fields, each once.")
    for name in config.fields:
        f = fields.get(name)
        if f is None:
            return _err("validation_unknown_field", f"Unknown field {name!r}.")
        if f.type not in ("text", "editor"):
            return _err("validation_invalid_value", f"{name!r} is a {f.type} field: only text and editor fields.")
        if f.hidden or f.type == "password" or (coll.type == "auth" and name == "tokenKey"):
            # a hidden field's words would answer searches for clients who can't read it
            return _err("validation_invalid_value", f"The hidden field {name!r} can't be searched.")
    for name, weight in config.weights.items():
        if name not in config.fields:
            return _err("validation_invalid_value", f"A weight for {name!r}, which is not searched.")
        if not 0 < weight <= 100:
            return _err("validation_invalid_value", f"The weight of {name!r} must be over 0 and at most 100.")
    return None


def _check_name(coll: Collection, old: Collection | None) -> ErrorTree | None:
    name = coll.name
    if not NAME_RE.match(name) or len(name) > 100:
        return _err("validation_match_invalid", "Invalid collection name: use letters, digits and _.")
    if name.lower() in _RESERVED_COLLECTIONS or (name.startswith("_") and not coll.system and not (old and old.system)):
        return _err("validation_reserved_name", "The name is reserved.")
    return None


def _with_system_fields(coll: Collection, old: Collection | None) -> list[AnyField]:
    """The declared fields plus the missing system fields: id always, auth fields on auth
    collections (the applied ones when ``old`` has them)."""
    fields = list(coll.fields)
    old_by_name = {f.name: f for f in old.fields} if old else {}
    names = [f.name for f in fields]
    if "id" not in names:
        fields.insert(0, old_by_name.get("id") or defaults.id_field(coll.name))
    if coll.type == "auth":  # after id, in PocketBase's order
        missing = [old_by_name.get(sf.name) or sf for sf in defaults.auth_fields(coll.name) if sf.name not in names]
        fields[1:1] = missing
    return fields


def _normalize_fields(
    coll: Collection, fields: list[AnyField], lookup: Lookup, old: Collection | None
) -> tuple[list[AnyField], ErrorTree]:
    """``fields`` with their ids settled and relation targets as ids, and the errors by position."""
    old_by_name = {f.name: f for f in old.fields} if old else {}
    old_ids = {f.id for f in old.fields} if old else set()
    field_errors: ErrorTree = {}
    seen: set[str] = set()
    out_fields: list[AnyField] = []
    # Positions count the system fields too (id is field 0), as PocketBase reports them.
    for i, f in enumerate(fields):
        fe = _check_field(f, coll, lookup)
        if f.name in seen:
            fe = fe or _err("validation_duplicated_field_name", f"Duplicated field name {f.name!r}.")
        seen.add(f.name)
        if fe:
            field_errors[str(i)] = {"name": fe} if "code" in fe else fe
        # Keep a known id (renames follow it); a new or foreign id on a same-named field is the same field.
        fid = (
            f.id
            if f.id and f.id in old_ids
            else (
                old_by_name[f.name].id
                if f.name in old_by_name
                else f.id or defaults.stable_id(f.type, coll.name, f.name)
            )
        )
        updates: dict[str, str] = {"id": fid}
        if isinstance(f, RelationField) and f.collectionId:
            target = lookup(f.collectionId)
            if target is not None:
                updates["collectionId"] = target.id
        out_fields.append(msgspec.structs.replace(f, **updates))
    return out_fields, field_errors


def _check_indexes(coll: Collection, field_names: set[str]) -> ErrorTree | None:
    """The last problem found in the indexes (each index may replace an earlier one's)."""
    error: ErrorTree | None = None
    for idx in coll.indexes:
        try:
            parsed = parse_index(idx, coll.name)
        except ValueError as exc:
            error = _err("validation_invalid_index_expression", str(exc))
            continue
        missing = [c.lstrip("-") for c in parsed.columns if c.lstrip("-") not in field_names]
        stray = [c for c in parsed.nocase if c not in [x.lstrip("-") for x in parsed.columns]]
        if stray:
            error = _err(
                "validation_invalid_index_expression",
                f"nocase names {', '.join(stray)}, which the index does not cover.",
            )
        if missing:
            error = _err(
                "validation_invalid_index_expression",
                f"Index column(s) {', '.join(missing)} are not fields of {coll.name}.",
            )
    return error


def _check_field(f: AnyField, coll: Collection, lookup: Lookup) -> ErrorTree | None:
    """The first problem of one field: a bare {code, message} for its name, else keyed by option."""
    if not NAME_RE.match(f.name) or len(f.name) > 100:
        return _err("validation_match_invalid", f"Invalid field name {f.name!r}: use letters, digits and _.")
    if (
        f.name in SYSTEM_FIELD_NAMES
        and not (f.name == "id" and isinstance(f, TextField))
        and not (f.name in ("created", "updated") and isinstance(f, AutodateField))
    ):
        return _err("validation_reserved_name", f"The field name {f.name!r} is reserved.")
    if type(f) not in FIELD_TYPES.values():
        return {"type": _err("validation_invalid_type", "Unknown field type.")}
    problem = _check_relation(f, lookup) or _check_select(f) or _check_text(f)
    if problem:
        return problem
    if coll.type != "auth" and f.type == "password":
        return {"type": _err("validation_invalid_type", "Password fields belong to auth collections only.")}
    return None


def _check_relation(f: AnyField, lookup: Lookup) -> ErrorTree | None:
    if not isinstance(f, RelationField):
        return None
    if not f.collectionId:
        return {"collectionId": _err("validation_required", "Cannot be blank.")}
    if lookup(f.collectionId) is None:
        return {
            "collectionId": _err(
                "validation_missing_rel_collection",
                f"Relation field {f.name!r}: collection {f.collectionId!r} does not exist.",
            )
        }
    if f.minSelect and f.maxSelect and f.minSelect > f.maxSelect:
        return {"minSelect": _err("validation_invalid_value", "minSelect must not exceed maxSelect.")}
    return None


def _check_select(f: AnyField) -> ErrorTree | None:
    """A select field's values, and ``maxSelect`` of every multi-value field."""
    if isinstance(f, SelectField) and not f.values:
        return {"values": _err("validation_required", f"Select field {f.name!r} needs at least one value.")}
    if isinstance(f, SelectField) and f.maxSelect > len(f.values):
        # Keyed under the option, as PocketBase reports it (fields.N.maxSelect).
        n = len(f.values)
        return {
            "maxSelect": {
                **_err("validation_max_less_equal_than_required", f"Must be no greater than {n}."),
                "params": {"threshold": n},
            }
        }
    if isinstance(f, MultiValueField) and f.maxSelect < 1:
        return {"maxSelect": _err("validation_invalid_value", "maxSelect must be at least 1.")}
    return None


def _check_text(f: AnyField) -> ErrorTree | None:
    if not isinstance(f, TextField):
        return None
    if f.pattern:
        try:
            re.compile(f.pattern)
        except re.error as exc:
            return {"pattern": _err("validation_invalid_pattern", f"Invalid pattern: {exc}.")}
    if f.autogeneratePattern:
        try:
            generator(f.autogeneratePattern)
        except ValueError as exc:
            return {
                "autogeneratePattern": _err(
                    "validation_invalid_pattern", f"Cannot generate values from this pattern: {exc}."
                )
            }
    return None


def field_error_message(errors: dict[str, Any]) -> str:
    """Flatten a PocketBase ``data`` error tree into one readable line (for the CLI)."""
    parts: list[str] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, FieldError):
            parts.append(f"{prefix}: {node.message}")
        elif isinstance(node, dict) and "message" in node and "code" in node:
            parts.append(f"{prefix}: {node['message']}")
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)

    walk("", errors)
    return "; ".join(parts)
