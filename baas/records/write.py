"""Writing records: create, update and delete inside one transaction each, with the event row.

Every function takes the transaction's connection, so the API wraps one call in
``db.write(...)`` and batch wraps many in one. Order for a create or update: read the body
(modifiers, unknown keys) → prepare and validate every field → check relations → write the row
→ check the rule against the written row → append the event. Any error rolls it all back.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from baas.auth.passwords import hash_password_async, verify_password_async
from baas.db.tables import q
from baas.errors import BadRequest, FieldError, NotFound, ValidationFailed
from baas.ids import new_id, now_str
from baas.records.query import Reader, fetch_one, load_row
from baas.records.serialize import raw_record, select_list
from baas.schema.fields import AutodateField, Field, PasswordField, RelationField, as_list
from baas.schema.model import Collection

IGNORED_KEYS = {"collectionId", "collectionName", "expand", "@jsonPayload"}
AUTH_EXTRA_KEYS = {"passwordConfirm", "oldPassword"}
_UNIQUE_SQLITE = re.compile(r"UNIQUE constraint failed: (.+)$")
_UNIQUE_PG = re.compile(r"Key \(([^)]+)\)=")


def _split_key(key: str) -> tuple[str, str | None]:
    if key.endswith("+"):
        return key[:-1], "+"
    if key.startswith("+"):
        return key[1:], "^"
    if key.endswith("-"):
        return key[:-1], "-"
    return key, None


def _token_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))


def apply_body(coll: Collection, current: dict[str, Any], body: dict[str, Any], *, creating: bool,
               superuser: bool) -> tuple[dict[str, Any], dict[str, FieldError], set[str]]:
    """New stored values from ``current`` and a request body; field errors; changed field names."""
    values = dict(current)
    errors: dict[str, FieldError] = {}
    touched: set[str] = set()
    modifiers: list[tuple[Field, str, Any]] = []
    for key, value in body.items():
        if key in IGNORED_KEYS:
            continue
        name, op = _split_key(key)
        if coll.type == "auth" and key in AUTH_EXTRA_KEYS:
            continue
        field = coll.field(name)
        if field is None or coll.type == "view":
            errors[key] = FieldError("validation_unknown_field", "Unknown field.")
            continue
        if isinstance(field, AutodateField):
            continue  # set by the server, never by the client (as PocketBase)
        if name == "id" and not creating:
            if value != current.get("id"):
                errors["id"] = FieldError("validation_id_change", "The record id cannot be changed.")
            continue
        if not superuser and (field.hidden and not isinstance(field, PasswordField)
                              or coll.type == "auth" and name in ("tokenKey", "verified")):
            # Hidden fields (and an auth record's verification state) are the superusers' to set.
            errors[name] = FieldError("validation_forbidden", "Only superusers can change this field.")
            continue
        touched.add(name)
        if op is not None:
            modifiers.append((field, op, value))
            continue
        if isinstance(field, PasswordField):
            if not isinstance(value, str):
                errors[name] = FieldError("validation_invalid_value", "Must be a string.")
            else:
                values[name] = value
            continue
        try:
            values[name] = field.prepare(value)
        except FieldError as exc:
            errors[name] = exc
    for field, op, value in modifiers:
        if field.name in errors:
            continue
        try:
            values[field.name] = field.modify(values.get(field.name), op, value)
        except FieldError as exc:
            errors[field.name] = exc
    return values, errors, touched


def validate_values(coll: Collection, values: dict[str, Any], touched: set[str], creating: bool,
                    errors: dict[str, FieldError]) -> None:
    for f in coll.fields:
        if f.name in errors or isinstance(f, AutodateField):
            continue
        if isinstance(f, PasswordField) and not creating and f.name not in touched:
            continue
        if f.name == "tokenKey" and coll.type == "auth":
            continue
        try:
            f.validate(values.get(f.name, f.default()))
        except FieldError as exc:
            errors[f.name] = exc


async def _check_relations(conn: Any, reader: Reader, coll: Collection, values: dict[str, Any],
                           touched: set[str], errors: dict[str, FieldError]) -> None:
    for f in coll.relations():
        if f.name not in touched or f.name in errors:
            continue
        ids = as_list(values.get(f.name))
        if not ids:
            continue
        target = reader.registry.get(f.collectionId)
        marks = ", ".join("?" * len(ids))
        found = {r[0] for r in await conn.fetch(
            f'SELECT "id" FROM {q(target.name)} WHERE "id" IN ({marks})', ids)} if target else set()
        if set(ids) - found:
            errors[f.name] = FieldError("validation_missing_rel_records",
                                        "Failed to find all relation records with the provided ids.")


def _unique_fields(exc: Exception) -> list[str] | None:
    msg = str(exc)
    m = _UNIQUE_SQLITE.search(msg)
    if m:
        return [part.strip().split(".")[-1] for part in m.group(1).split(",")]
    if type(exc).__name__ == "UniqueViolationError":
        m = _UNIQUE_PG.search(getattr(exc, "detail", "") or "")
        return [c.strip().strip('"') for c in m.group(1).split(",")] if m else ["id"]
    return None


async def _store(conn: Any, sql: str, params: list, message: str) -> None:
    try:
        await conn.execute(sql, params)
    except Exception as exc:  # map constraint violations to field errors; re-raise anything else
        names = _unique_fields(exc)
        if names is None:
            raise
        raise ValidationFailed({n: FieldError("validation_not_unique", "Value must be unique.") for n in names},
                               message) from None


async def append_event(conn: Any, coll: Collection, action: str, record: dict[str, Any]) -> None:
    """The durable event of a write, in the write's own transaction."""
    data = {k: v for k, v in record.items() if not (k == "tokenKey" or isinstance(coll.field(k), PasswordField))}
    data.update(collectionId=coll.id, collectionName=coll.name)
    await conn.execute(
        'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
        "VALUES (?, ?, ?, ?, ?, ?)",
        (coll.id, coll.name, record["id"], action, json.dumps(data, default=str), now_str()),
    )


async def prehash(coll: Collection, body: dict[str, Any]) -> str | None:
    """Hash a valid new password before the write transaction, so argon2's ~0.3 s is not spent
    holding the database's write lock (``create_record``/``update_record`` take it as ``hashed``)."""
    field = coll.field("password") if coll.type == "auth" else None
    value = body.get("password")
    if not isinstance(field, PasswordField) or not isinstance(value, str) or not value:
        return None
    try:
        field.validate(value)
    except FieldError:
        return None  # the write reports the problem
    return await hash_password_async(value)


async def _handle_password(coll: Collection, values: dict, current: dict, body: dict, touched: set[str],
                           creating: bool, superuser: bool, errors: dict[str, FieldError],
                           hashed: str | None = None) -> None:
    if coll.type != "auth":
        return
    if "password" in touched and "password" not in errors:
        if body.get("passwordConfirm") is not None and body.get("passwordConfirm") != body.get("password"):
            errors["passwordConfirm"] = FieldError("validation_values_mismatch", "Values don't match.")
        # argon2 runs on a thread so the event loop keeps serving meanwhile.
        if not creating and not superuser and not await verify_password_async(
                current.get("password", ""), str(body.get("oldPassword") or "")):
            errors["oldPassword"] = FieldError("validation_invalid_old_password",
                                               "Missing or invalid old password.")
        if not errors:
            values["password"] = hashed or await hash_password_async(str(values["password"]))
            values["tokenKey"] = _token_key()  # a new password signs the record out everywhere


async def create_record(conn: Any, reader: Reader, coll: Collection, body: dict[str, Any], *,
                        hashed: str | None = None) -> str:
    """Insert one record; return its id. Raises `ValidationFailed`, `Forbidden` or `BadRequest`."""
    su = reader.req.is_superuser
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.createRule)
    defaults = {f.name: f.default() for f in coll.fields}
    values, errors, touched = apply_body(coll, defaults, body, creating=True, superuser=su)
    if not values.get("id"):
        values["id"] = new_id()
        touched.add("id")
    if coll.type == "auth":
        values["tokenKey"] = _token_key()
    validate_values(coll, values, touched, True, errors)
    if coll.type == "auth" and "password" in values and not errors:
        await _handle_password(coll, values, {}, body, touched, True, su, errors, hashed)
    await _check_relations(conn, reader, coll, values, touched, errors)
    if errors:
        raise ValidationFailed(errors, "Failed to create record.")
    now = now_str()
    for f in coll.fields:
        if isinstance(f, AutodateField):
            values[f.name] = now
    names = [f.name for f in coll.fields]
    params = [f.to_db(values.get(f.name, f.default()), conn.dialect) for f in coll.fields]
    cols = ", ".join(q(n) for n in names)
    await _store(conn, f"INSERT INTO {q(coll.name)} ({cols}) VALUES ({', '.join('?' * len(names))})", params,
                 "Failed to create record.")
    if coll.createRule and not su:
        if await fetch_one(Reader(conn, reader.registry, reader.req), coll, values["id"], coll.createRule) is None:
            raise BadRequest("Failed to create record.")
    await append_event(conn, coll, "create", _api_values(coll, values))
    return values["id"]


def _api_values(coll: Collection, values: dict) -> dict:
    return {f.name: values.get(f.name, f.default()) for f in coll.fields}


async def _load_raw(conn: Any, coll: Collection, record_id: str) -> dict[str, Any] | None:
    row = await load_row(conn, coll, record_id)
    return None if row is None else raw_record(coll, select_list(coll)[1], row)


async def update_record(conn: Any, reader: Reader, coll: Collection, record_id: str, body: dict[str, Any], *,
                        hashed: str | None = None) -> str:
    """Update one record the update rule lets through; 404 otherwise."""
    su = reader.req.is_superuser
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.updateRule)
    r = Reader(conn, reader.registry, reader.req)
    if coll.updateRule and not su and await fetch_one(r, coll, record_id, coll.updateRule) is None:
        raise NotFound()
    current = await _load_raw(conn, coll, record_id)
    if current is None:
        raise NotFound()
    values, errors, touched = apply_body(coll, current, body, creating=False, superuser=su)
    if coll.type == "auth" and not su and "email" in touched and values.get("email") != current.get("email"):
        errors["email"] = FieldError("validation_forbidden", "Use the email change request to change the email.")
    validate_values(coll, values, touched, False, errors)
    await _handle_password(coll, values, current, body, touched, False, su, errors, hashed)
    await _check_relations(conn, reader, coll, values, touched, errors)
    if errors:
        raise ValidationFailed(errors, "Failed to update record.")
    now = now_str()
    for f in coll.fields:
        if isinstance(f, AutodateField) and f.onUpdate:
            values[f.name] = now
            touched.add(f.name)
    if "password" in touched:
        touched.add("tokenKey")
    changed = [f for f in coll.fields if f.name in touched and f.name != "id"]
    if changed:
        sets = ", ".join(f"{q(f.name)} = ?" for f in changed)
        params = [f.to_db(values.get(f.name, f.default()), conn.dialect) for f in changed]
        await _store(conn, f'UPDATE {q(coll.name)} SET {sets} WHERE "id" = ?', [*params, record_id],
                     "Failed to update record.")
    await append_event(conn, coll, "update", _api_values(coll, values))
    return record_id


async def delete_record(conn: Any, reader: Reader, coll: Collection, record_id: str) -> None:
    """Delete one record the delete rule lets through, honouring cascadeDelete and refusing to
    break required relations."""
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.deleteRule)
    r = Reader(conn, reader.registry, reader.req)
    if await fetch_one(r, coll, record_id, coll.deleteRule) is None:
        raise NotFound()
    await _delete(conn, reader, coll, record_id, set())


async def _delete(conn: Any, reader: Reader, coll: Collection, record_id: str, seen: set[tuple[str, str]]) -> None:
    # ``seen`` stops cycles (two collections cascading into each other) from recursing forever.
    if (coll.id, record_id) in seen:
        return
    seen.add((coll.id, record_id))
    current = await _load_raw(conn, coll, record_id)
    if current is None:
        return
    for src, fname in reader.registry.referencing(coll.id):
        field = src.field(fname)
        assert isinstance(field, RelationField)
        for ref_id, raw in await _referencing_rows(conn, src, field, record_id):
            if (src.id, ref_id) in seen:
                continue
            remaining = [v for v in as_list(field.from_db(raw)) if v != record_id]
            if not remaining and field.cascadeDelete:
                await _delete(conn, reader, src, ref_id, seen)
            elif not remaining and field.required:
                raise BadRequest("Failed to delete record. Make sure that the record is not part of a required "
                                 "relation reference.")
            else:
                new_value = remaining if field.is_multi() else ""
                await conn.execute(f'UPDATE {q(src.name)} SET {q(fname)} = ? WHERE "id" = ?',
                                   [field.to_db(new_value, conn.dialect), ref_id])
                ref = await _load_raw(conn, src, ref_id)
                if ref is not None:
                    await append_event(conn, src, "update", ref)
    await conn.execute(f'DELETE FROM {q(coll.name)} WHERE "id" = ?', [record_id])
    await append_event(conn, coll, "delete", current)


async def _referencing_rows(conn: Any, src: Collection, field: RelationField, record_id: str) -> list[tuple]:
    col = q(field.name)
    if not field.is_multi():
        cond, param = f"{col} = ?", record_id
    elif conn.dialect == "postgresql":
        cond, param = f"{col} @> CAST(? AS jsonb)", json.dumps([record_id])
    else:
        cond, param = f"EXISTS (SELECT 1 FROM json_each({col}) AS j WHERE j.value = ?)", record_id
    return await conn.fetch(f'SELECT "id", {col} FROM {q(src.name)} WHERE {cond}', [param])
