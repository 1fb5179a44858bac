"""JSON Schemas of one collection's records, as the OpenAPI document shows them.

Three shapes per collection: the record the API answers (``…Record``), the body a create takes
(``…Create``) and the body an update takes (``…Update``), each as JSON and as multipart (where
file fields are uploads). They follow the field options the validator enforces (required,
min/max, patterns, select values, maxSelect), so a client generated from the document sends
what the server accepts, and a fuzzer generates realistic bodies.
"""

from __future__ import annotations

from typing import Any

from baas.schema.fields import (
    Field,
    FileField,
    MultiValueField,
    NumberField,
    PasswordField,
    RelationField,
    SelectField,
    TextField,
)
from baas.schema.model import Collection

ID_PATTERN = "^[a-z0-9]+$"
Schema = dict[str, Any]


def schema_name(coll: Collection, suffix: str) -> str:
    """A component name for a collection's schema: ``posts`` + ``Record`` -> ``posts_Record``."""
    return f"{coll.name}_{suffix}"


def _or_empty(schema: Schema, required: bool) -> Schema:
    """An optional text-like field also takes ``""`` (unset), whatever its other constraints."""
    return schema if required else {"anyOf": [{"const": ""}, schema]}


def _multi(f: Field) -> bool:
    return f.is_multi()


def response_value(f: Field) -> Schema:
    """The JSON value of a field in a record the API answers."""
    t = f.type
    if t == "number":
        return {"type": "number"}
    if t == "bool":
        return {"type": "boolean"}
    if t == "json":
        return {}
    if isinstance(f, SelectField):
        values: list[Any] = [*f.values, ""]
        return (
            {"type": "array", "items": {"type": "string", "enum": f.values}}
            if _multi(f)
            else {"type": "string", "enum": values}
        )
    if t in ("relation", "file"):
        return {"type": "array", "items": {"type": "string"}} if _multi(f) else {"type": "string"}
    return {"type": "string"}


def record_schema(coll: Collection) -> Schema:
    """A record as the API answers it. No property is required: ``?fields=`` picks which appear;
    hidden fields appear for superusers only and an auth record's email where it is visible.
    Passwords and an auth record's tokenKey never appear, not even to superusers: with
    ``additionalProperties: false`` a leak of either is a contract violation."""
    props: Schema = {
        "collectionId": {"type": "string", "const": coll.id},
        "collectionName": {"type": "string", "const": coll.name},
    }
    for f in coll.fields:
        if f.type == "password" or (f.name == "tokenKey" and coll.type == "auth"):
            continue
        props[f.name] = response_value(f)
    props["expand"] = {"type": "object", "description": "Expanded relations (`?expand=`), by field name."}
    return {"type": "object", "properties": props, "additionalProperties": False}


def input_value(f: Field, *, upload: bool = False) -> Schema | None:
    """The schema of a field's value in a create or update body (None: not writable).
    ``upload``: a multipart body, where file fields take uploads."""
    t = f.type
    if t == "autodate":
        return None
    if isinstance(f, TextField):
        return _text_input(f)
    if isinstance(f, PasswordField):
        return {"type": "string", "minLength": max(f.min, 1), "maxLength": f.max or 71}
    formatted = _formatted_text_input(t, f.required)
    if formatted is not None:
        return formatted
    if isinstance(f, NumberField):
        return _number_input(f)
    if t == "bool":
        return {"const": True} if f.required else {"type": "boolean"}
    if t == "json":
        return {}
    if isinstance(f, FileField):
        return _file_input(f, upload)
    if isinstance(f, SelectField):
        return _many(f, {"type": "string", "enum": list(f.values)})
    if isinstance(f, RelationField):
        return _many(f, {"type": "string", "pattern": ID_PATTERN, "minLength": 15, "maxLength": 15})
    return {"type": "string"}


def _text_input(f: TextField) -> Schema:
    s: Schema = {"type": "string", "maxLength": f.max or 5000}
    if f.min or f.required:
        s["minLength"] = max(f.min, 1)
    if f.pattern:
        s["pattern"] = f.pattern
    return _or_empty(s, f.required)


def _formatted_text_input(t: str, req: bool) -> Schema | None:
    """Email, URL, editor and date values (strings with a format); None for other field types."""
    if t in ("email", "url"):
        return _or_empty({"type": "string", "format": "email" if t == "email" else "uri", "maxLength": 255}, req)
    if t == "editor":
        return _or_empty({"type": "string", "minLength": 1}, req) if req else {"type": "string"}
    if t == "date":
        return _or_empty({"type": "string", "format": "date-time"}, req)
    return None


def _number_input(f: NumberField) -> Schema:
    n: Schema = {"type": "integer" if f.onlyInt else "number"}
    if f.min is not None:
        n["minimum"] = f.min
    if f.max is not None:
        n["maximum"] = f.max
    if f.required:
        n["not"] = {"const": 0}  # a required number is a non-zero one (as the validator says)
    return n


def _file_input(f: FileField, upload: bool) -> Schema:
    """Uploads in a multipart body; otherwise names the field already holds (to keep or reorder)."""
    if upload:
        one: Schema = {"type": "string", "format": "binary"}
        return {"type": "array", "items": one, "maxItems": f.max_files()} if _multi(f) else one
    names: Schema = {"type": "string", "description": "A name the field already holds."}
    return _many(f, names)


def _many(f: MultiValueField, item: Schema) -> Schema:
    """Select, relation and file values: one value, or an array of up to maxSelect."""
    if _multi(f):
        arr: Schema = {"type": "array", "items": item, "maxItems": f.maxSelect, "uniqueItems": True}
        if f.required:
            arr["minItems"] = 1
        return arr
    return _or_empty(item, f.required)


def _modifiers(f: Field, value: Schema, upload: bool) -> Schema:
    """PocketBase's update modifiers: ``n+``/``n-`` on numbers, ``f+``/``+f``/``f-`` on multi-value
    selects and relations; on files ``f-`` removes names and, in a form, ``f+`` appends uploads."""
    if f.type == "number":
        return {f"{f.name}+": {"type": "number"}, f"{f.name}-": {"type": "number"}}
    if f.type in ("select", "relation") and _multi(f):
        return {f"{f.name}+": value, f"+{f.name}": value, f"{f.name}-": value}
    if f.type == "file":
        names = input_value(f, upload=False) or {}
        return {f"{f.name}+": value, f"{f.name}-": names} if upload else {f"{f.name}-": names}
    return {}


def write_schema(coll: Collection, *, update: bool, upload: bool) -> Schema:
    """A create (``update=False``) or update body; ``upload``: its multipart form."""
    props: Schema = {}
    required: list[str] = []
    for f in coll.fields:
        if f.name == "tokenKey" and coll.type == "auth":
            continue  # the server's own
        if f.name == "id":
            if not update:
                props["id"] = {"type": "string", "pattern": ID_PATTERN, "minLength": 15, "maxLength": 15}
            continue
        value = input_value(f, upload=upload)
        if value is None:
            continue
        props[f.name] = value
        if update:
            props.update(_modifiers(f, value, upload))
        elif f.required and not getattr(f, "autogeneratePattern", ""):
            required.append(f.name)
    if coll.type == "auth":
        props["passwordConfirm"] = {"type": "string"}
        if update:
            props["oldPassword"] = {"type": "string", "description": "Needed by non-superusers to change the password."}
        else:
            required.append("passwordConfirm")
    if upload:
        props["@jsonPayload"] = {"type": "string", "description": "The non-file values as one JSON object."}
    out: Schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def collection_components(coll: Collection) -> Schema:
    """Every component schema of one collection, keyed by component name."""
    out = {schema_name(coll, "Record"): record_schema(coll)}
    if coll.type != "view":
        out[schema_name(coll, "Create")] = write_schema(coll, update=False, upload=False)
        out[schema_name(coll, "CreateForm")] = write_schema(coll, update=False, upload=True)
        out[schema_name(coll, "Update")] = write_schema(coll, update=True, upload=False)
        out[schema_name(coll, "UpdateForm")] = write_schema(coll, update=True, upload=True)
    return out
