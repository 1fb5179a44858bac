"""Writing records: create, update and delete inside one transaction each, with the event row.

Every function takes the transaction's connection, so the API wraps one call in
``db.write(...)`` and batch wraps many in one. Order for a create or update: read the body
(modifiers, unknown keys) → prepare and validate every field → check relations → write the row
→ check the rule against the written row → append the event. Any error rolls it all back.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
from typing import TYPE_CHECKING, Any

import msgspec

from baas.auth.passwords import hash_password_async, verify_password_async
from baas.db.tables import q
from baas.errors import BadRequest, FieldError, NotFound, ValidationFailed
from baas.ids import new_id, now_str
from baas.records.files import file_fields
from baas.records.hooked import Prepared, around_delete, around_write
from baas.records.query import Reader, fetch_one, load_row
from baas.records.serialize import raw_record, select_list
from baas.schema.fields import AutodateField, Field, PasswordField, RelationField, as_list
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.hooks import Hooks
    from baas.records.files import RecordFiles

IGNORED_KEYS = {"collectionId", "collectionName", "expand", "@jsonPayload"}
AUTH_EXTRA_KEYS = {"passwordConfirm", "oldPassword"}
_UNIQUE_SQLITE = re.compile(r"UNIQUE constraint failed: (.+)$")
_UNIQUE_PG = re.compile(r"Key \(([^)]+)\)=")


def split_key(key: str) -> tuple[str, str | None]:
    """(field name, modifier) of a body key: ``f+`` -> (f, "+"), ``+f`` -> (f, "^"), ``f-`` -> (f, "-")."""
    if key.endswith("+"):
        return key[:-1], "+"
    if key.startswith("+"):
        return key[1:], "^"
    if key.endswith("-"):
        return key[:-1], "-"
    return key, None


def _token_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))


_ESCALATIONS = {"validation_forbidden", "validation_id_change", "validation_invalid_old_password"}
security = logging.getLogger("baas.security")


def _log_escalation(reader: Reader, coll: Collection, record_id: str, body: dict[str, Any],
                    errors: dict[str, FieldError]) -> None:
    """One security-log line when a body tried to set what its sender may not (verified, tokenKey,
    id, another's email, a password without the old one) or named another collection."""
    if not errors and "collectionId" not in body and "collectionName" not in body:
        return  # the common case, kept cheap
    refused = sorted(k for k, e in errors.items() if e.code in _ESCALATIONS)
    moved = [k for k in ("collectionId", "collectionName") if k in body and body[k] not in (coll.id, coll.name)]
    if refused or moved:
        auth = reader.req.auth or {}
        security.warning("privilege escalation %s: %s record %r on %s/%s: %s", "refused" if refused else "ignored",
                         auth.get("collectionName", "guest"), auth.get("id", ""), coll.name, record_id,
                         ", ".join(refused + [f"{k} (ignored)" for k in moved]))


def apply_body(coll: Collection, current: dict[str, Any], body: dict[str, Any], *, creating: bool,
               superuser: bool, manager: bool = False) -> tuple[dict[str, Any], dict[str, FieldError], set[str]]:
    """New stored values from ``current`` and a request body; field errors; changed field names.
    ``manager``: the requester matches the auth collection's manageRule (may set ``verified``)."""
    values = dict(current)
    errors: dict[str, FieldError] = {}
    touched: set[str] = set()
    modifiers: list[tuple[Field, str, Any]] = []
    for key, value in body.items():
        if key in IGNORED_KEYS:
            continue
        name, op = split_key(key)
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
                              or coll.type == "auth" and (name == "tokenKey" or name == "verified" and not manager)):
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


def _check_files(coll: Collection, values: dict[str, Any], old: dict[str, Any] | None, touched: set[str],
                 errors: dict[str, FieldError], files: RecordFiles | None) -> None:
    """A file field may hold only the names the record had and this request's uploads (as
    PocketBase: a client cannot point a record at a blob it did not upload)."""
    for f in file_fields(coll):
        if f.name not in touched or f.name in errors:
            continue
        uploaded = files.uploaded(coll.id, values["id"]) if files is not None else ()
        bad = f.invalid_names(values.get(f.name), (old or {}).get(f.name), uploaded)
        if bad:
            errors[f.name] = FieldError("validation_invalid_file", f"Invalid new files: [{' '.join(bad)}].",
                                        {"invalidFiles": bad})


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
    secret = _secret_names(coll)
    data = {k: v for k, v in record.items() if k not in secret}
    data.update(collectionId=coll.id, collectionName=coll.name)
    await conn.execute(
        'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
        "VALUES (?, ?, ?, ?, ?, ?)",
        (coll.id, coll.name, record["id"], action, _event_json(data), now_str()),
    )


_encode = msgspec.json.Encoder(enc_hook=str).encode


def _event_json(data: dict[str, Any]) -> str:
    return _encode(data).decode()


def _secret_names(coll: Collection) -> frozenset[str]:
    """Fields never written to the event stream: passwords and an auth record's tokenKey."""
    names = coll.__dict__.get("_secret_names")
    if names is None:
        names = coll.__dict__["_secret_names"] = frozenset(
            [f.name for f in coll.fields if isinstance(f, PasswordField)] + ["tokenKey"])
    return names


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


async def check_old_password(db: Any, coll: Collection, record_id: str, body: dict[str, Any]) -> str | None:
    """Verify ``oldPassword`` before the write transaction (argon2 must not run while the writer is
    held); pass the result to `update_record` as ``old_hash``. Returns the stored hash it matched,
    ``""`` when it is missing or wrong, None when the body changes no password."""
    if coll.type != "auth" or "password" not in body:
        return None
    old = body.get("oldPassword")
    if not isinstance(old, str) or not old:
        return ""
    stored = await db.fetchval(f'SELECT "password" FROM {q(coll.name)} WHERE "id" = ?', [record_id])
    stored = stored if isinstance(stored, str) else ""
    # Verified even for a missing record, so timing does not tell whether it exists.
    return stored if await verify_password_async(stored, old) and stored else ""


async def _handle_password(coll: Collection, values: dict, current: dict, body: dict, touched: set[str],
                           creating: bool, superuser: bool, errors: dict[str, FieldError],
                           hashed: str | None = None, old_hash: str | None = None) -> None:
    if coll.type != "auth":
        return
    if "password" in touched and "password" not in errors:
        if body.get("passwordConfirm") is not None and body.get("passwordConfirm") != body.get("password"):
            errors["passwordConfirm"] = FieldError("validation_values_mismatch", "Values don't match.")
        if not creating and not superuser:
            if old_hash is None:  # the caller did not pre-check: verify here (argon2 on a thread)
                ok = await verify_password_async(current.get("password", ""), str(body.get("oldPassword") or ""))
            else:  # pre-checked: still the same stored hash (no password change in between)?
                ok = bool(old_hash) and old_hash == current.get("password")
            if not ok:
                errors["oldPassword"] = FieldError("validation_invalid_old_password",
                                                   "Missing or invalid old password.")
        if not errors:
            values["password"] = hashed or await hash_password_async(str(values["password"]))
            values["tokenKey"] = _token_key()  # a new password signs the record out everywhere


async def create_record(conn: Any, reader: Reader, coll: Collection, body: dict[str, Any], *,
                        hashed: str | None = None, row_out: list | None = None, files: RecordFiles | None = None,
                        record_id: str | None = None, hooks: Hooks | None = None,
                        prepared: Prepared | None = None) -> str:
    """Insert one record; return its id. Raises `ValidationFailed`, `Forbidden` or `BadRequest`.
    ``row_out`` receives the stored row (`select_list` order), so the answer needs no re-read.
    ``files``: the request's uploads (stored under ``record_id`` when the body names no id).
    ``hooks``: the engine's; a bound ``on_record_create`` chain runs around the write
    (`baas.records.hooked`), which comes back here with the ``prepared`` values."""
    su = reader.req.is_superuser
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.createRule)
    if prepared is None:
        values, errors, touched, manager = prepare_create(reader, coll, body, record_id)
        hook = hooks.on_record_create if hooks is not None else None
        if hook is not None and hook.bound and (chain := hook.chain_for(coll)):
            return await around_write(
                hook, chain, conn, reader.req, coll, "create", (values, errors, touched, manager), None,
                lambda p, changed: create_record(conn, reader, coll, body, hashed=None if "password" in changed
                                                 else hashed, row_out=row_out, files=files, record_id=record_id,
                                                 prepared=p), "Failed to create record.")
    else:
        values, errors, touched, manager = prepared
    if file_fields(coll):
        _check_files(coll, values, None, touched, errors, files)
    validate_values(coll, values, touched, True, errors)
    if coll.type == "auth" and "password" in values and not errors:
        await _handle_password(coll, values, {}, body, touched, True, su, errors, hashed)
    await _check_relations(conn, reader, coll, values, touched, errors)
    _log_escalation(reader, coll, values["id"], body, errors)
    if errors:
        raise ValidationFailed(errors, "Failed to create record.")
    now = now_str()
    for f in coll.fields:
        if isinstance(f, AutodateField):
            values[f.name] = now
    row = stored_row(coll, values, conn.dialect)
    await _store(conn, _insert_sql(coll), list(row), "Failed to create record.")
    if coll.createRule and not su:
        if await fetch_one(Reader(conn, reader.registry, reader.req), coll, values["id"], coll.createRule) is None:
            raise BadRequest("Failed to create record.")
    if manager and await fetch_one(Reader(conn, reader.registry, reader.req), coll, values["id"],
                                   coll.manageRule) is None:
        raise ValidationFailed({"verified": FieldError("validation_forbidden", "Only superusers can change this "
                                                       "field.")}, "Failed to create record.")
    await append_event(conn, coll, "create", _api_values(coll, values))
    if files is not None and file_fields(coll):
        files.written(coll, values["id"], None, values)
    if row_out is not None:
        row_out[:] = [row]
    return values["id"]


def prepare_create(reader: Reader, coll: Collection, body: dict[str, Any],
                   record_id: str | None = None) -> Prepared:
    """The new record's values from the body, with field errors: pure Python, no database.

    A caller may run it before `create_record` (passing the result as ``prepared``) so that the
    work happens outside the write lock, which every process of the server takes in turn; with
    hooks bound, `create_record` runs it itself, inside the transaction, around the hook chain."""
    su = reader.req.is_superuser
    # Setting ``verified`` is allowed to a manageRule match; checked against the written row later.
    manager = not su and "verified" in body and _may_manage(coll, reader)
    values, errors, touched = apply_body(coll, _defaults(coll), body, creating=True, superuser=su, manager=manager)
    if not values.get("id"):
        values["id"] = record_id or new_id()
        touched.add("id")
    if coll.type == "auth":
        values["tokenKey"] = _token_key()
    return values, errors, touched, manager


def _defaults(coll: Collection) -> dict[str, Any]:
    """Every field's unset value (lists copied: modifiers may extend them)."""
    cached = coll.__dict__.get("_defaults_cache")
    if cached is None:
        cached = coll.__dict__["_defaults_cache"] = {f.name: f.default() for f in coll.fields}
    return {k: list(v) if isinstance(v, list) else v for k, v in cached.items()}


def _insert_sql(coll: Collection) -> str:
    sql = coll.__dict__.get("_insert_sql")
    if sql is None:
        cols = ", ".join(q(f.name) for f in coll.fields)
        sql = coll.__dict__["_insert_sql"] = (f"INSERT INTO {q(coll.name)} ({cols}) "
                                              f"VALUES ({', '.join('?' * len(coll.fields))})")
    return sql


def stored_row(coll: Collection, values: dict[str, Any], dialect: str) -> tuple:
    """The column values of a record, in `select_list` order: what the database now holds."""
    return tuple(f.to_db(values.get(f.name, f.default()), dialect) for f in coll.fields)


def _api_values(coll: Collection, values: dict) -> dict:
    return {f.name: values.get(f.name, f.default()) for f in coll.fields}


async def _load_raw(conn: Any, coll: Collection, record_id: str) -> dict[str, Any] | None:
    row = await load_row(conn, coll, record_id)
    return None if row is None else raw_record(coll, select_list(coll)[1], row)


def _may_manage(coll: Collection, reader: Reader) -> bool:
    """Whether a manageRule could apply: an auth collection with a non-empty manageRule (null and
    "" leave management to superusers, as PocketBase) and an authenticated requester."""
    return coll.type == "auth" and bool(coll.manageRule) and bool(reader.req.auth)


_MANAGED = ("email", "verified", "password")


async def update_record(conn: Any, reader: Reader, coll: Collection, record_id: str, body: dict[str, Any], *,
                        hashed: str | None = None, old_hash: str | None = None, row_out: list | None = None,
                        files: RecordFiles | None = None, hooks: Hooks | None = None,
                        prepared: Prepared | None = None) -> str:
    """Update one record the update rule lets through; 404 otherwise. ``old_hash``: the result of
    `check_old_password`, run before the transaction; ``row_out`` receives the stored row;
    ``files`` the request's uploads and, after the commit, the files the update dropped.
    ``hooks``/``prepared``: as `create_record` (``on_record_update``)."""
    su = reader.req.is_superuser
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.updateRule)
    if prepared is None:
        r = Reader(conn, reader.registry, reader.req)
        if coll.updateRule and not su and await fetch_one(r, coll, record_id, coll.updateRule) is None:
            raise NotFound()
        current = await _load_raw(conn, coll, record_id)
        if current is None:
            raise NotFound()
        # A requester matching the manageRule changes email, verified and password (no oldPassword)
        # as a superuser would; asked only when the body touches one of them.
        manager = not su and any(k in body for k in _MANAGED) and _may_manage(coll, reader) and \
            await fetch_one(r, coll, record_id, coll.manageRule) is not None
        values, errors, touched = apply_body(coll, current, body, creating=False, superuser=su, manager=manager)
        if coll.type == "auth" and not (su or manager) and "email" in touched and \
                values.get("email") != current.get("email"):
            errors["email"] = FieldError("validation_forbidden", "Use the email change request to change the email.")
        hook = hooks.on_record_update if hooks is not None else None
        if hook is not None and hook.bound and (chain := hook.chain_for(coll)):
            return await around_write(
                hook, chain, conn, reader.req, coll, "update", (values, errors, touched, manager, current),
                current, lambda p, changed: update_record(
                    conn, reader, coll, record_id, body, hashed=None if "password" in changed else hashed,
                    old_hash=old_hash, row_out=row_out, files=files, prepared=p), "Failed to update record.")
    else:
        values, errors, touched, manager, current = prepared
    if file_fields(coll):
        _check_files(coll, values, current, touched, errors, files)
    validate_values(coll, values, touched, False, errors)
    await _handle_password(coll, values, current, body, touched, False, su or manager, errors, hashed, old_hash)
    await _check_relations(conn, reader, coll, values, touched, errors)
    _log_escalation(reader, coll, record_id, body, errors)
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
    if files is not None and file_fields(coll):
        files.written(coll, record_id, current, values)
    if row_out is not None:
        row_out[:] = [stored_row(coll, values, conn.dialect)]
    return record_id


async def delete_record(conn: Any, reader: Reader, coll: Collection, record_id: str,
                        files: RecordFiles | None = None, *, hooks: Hooks | None = None,
                        deleted_out: list | None = None) -> None:
    """Delete one record the delete rule lets through, honouring cascadeDelete and refusing to
    break required relations. ``files`` learns every deleted record, whose files go after the commit.
    ``hooks``: a bound ``on_record_delete`` chain runs around the delete; ``deleted_out`` receives
    the deleted record's stored values."""
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    reader.check_locked(coll.deleteRule)
    r = Reader(conn, reader.registry, reader.req)
    if await fetch_one(r, coll, record_id, coll.deleteRule) is None:
        raise NotFound()
    hook = hooks.on_record_delete if hooks is not None else None
    if hook is not None and hook.bound and (chain := hook.chain_for(coll)):
        current = await _load_raw(conn, coll, record_id)
        if current is None:
            raise NotFound()
        await around_delete(hook, chain, conn, reader.req, coll, current,
                            lambda: _delete(conn, reader, coll, record_id, set(), files, deleted_out))
        return
    await _delete(conn, reader, coll, record_id, set(), files, deleted_out)


AUTH_STATE_TABLES = ("_otps", "_mfas", "_externalAuths", "_totp")


async def _delete(conn: Any, reader: Reader, coll: Collection, record_id: str, seen: set[tuple[str, str]],
                  files: RecordFiles | None = None, out: list | None = None) -> None:
    # ``seen`` stops cycles (two collections cascading into each other) from recursing forever.
    if (coll.id, record_id) in seen:
        return
    seen.add((coll.id, record_id))
    current = await _load_raw(conn, coll, record_id)
    if current is None:
        return
    if out is not None:  # the top-level record only (cascades are in the event stream)
        out.append(current)
    for src, fname in reader.registry.referencing(coll.id):
        field = src.field(fname)
        assert isinstance(field, RelationField)
        for ref_id, raw in await _referencing_rows(conn, src, field, record_id):
            if (src.id, ref_id) in seen:
                continue
            remaining = [v for v in as_list(field.from_db(raw)) if v != record_id]
            if not remaining and field.cascadeDelete:
                await _delete(conn, reader, src, ref_id, seen, files)
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
    if coll.type == "auth":  # the record's sign-in state goes with it, as in PocketBase
        for table in AUTH_STATE_TABLES:
            await conn.execute(f'DELETE FROM {q(table)} WHERE "collectionRef" = ? AND "recordRef" = ?',
                               [coll.id, record_id])
    await append_event(conn, coll, "delete", current)
    if files is not None and file_fields(coll):
        files.deleted(coll, record_id)


async def _referencing_rows(conn: Any, src: Collection, field: RelationField, record_id: str) -> list[tuple]:
    col = q(field.name)
    if not field.is_multi():
        cond, param = f"{col} = ?", record_id
    elif conn.dialect == "postgresql":
        cond, param = f"{col} @> CAST(? AS jsonb)", json.dumps([record_id])
    else:
        cond, param = f"EXISTS (SELECT 1 FROM json_each({col}) AS j WHERE j.value = ?)", record_id
    return await conn.fetch(f'SELECT "id", {col} FROM {q(src.name)} WHERE {cond}', [param])
