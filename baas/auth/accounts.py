"""Auth records as the sign-in and email flows use them: found by id, identity or email, and
changed as the server itself (through the record write path: validation, event row).

    account = await accounts.by_identity(db, coll, ["email", "username"], "alice@example.com")
    account.token_key, account.password_hash    # stored values, never in an API answer
    account.record()                             # the API record (internal view)
    await accounts.save_as_server(db, registry, coll, account.id, {"verified": True}, "Failed to …")

Every SQL statement the auth HTTP handlers need lives here or in the other `baas.auth` services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baas.db import Database
from baas.db.base import Conn
from baas.db.tables import email_equals, q
from baas.errors import BadRequest, FieldError, ValidationFailed
from baas.events import emit
from baas.hooks import Hooks
from baas.records.draft import Draft
from baas.records.hooked import after_write
from baas.records.layout import layout
from baas.records.query import load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.records.service import after_hook, stored_record
from baas.records.write import prehash, save
from baas.rules.context import SUPERUSER, RequestInfo
from baas.schema.fields.text import TextField
from baas.schema.model import Collection, parse_index
from baas.schema.registry import Registry


@dataclass(frozen=True)
class Account:
    """One stored auth record: its collection, its row and its stored values (``raw``: the
    password hash and ``tokenKey`` included)."""

    coll: Collection
    row: tuple[Any, ...]
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def token_key(self) -> str:
        return str(self.raw.get("tokenKey") or "")

    @property
    def password_hash(self) -> str:
        return str(self.raw.get("password") or "")

    @property
    def email(self) -> str:
        return str(self.raw.get("email") or "")

    @property
    def verified(self) -> bool:
        return bool(self.raw.get("verified"))

    def record(self) -> dict[str, Any]:
        """The API record for internal use (hidden fields included; never a secret)."""
        rec = row_to_record(self.coll, select_list(self.coll)[1], self.row, None)
        rec.pop("tokenKey", None)
        return rec

    def own_view(self) -> dict[str, Any]:
        """The API record as its owner sees it (as every auth response shows it)."""
        me = RequestInfo(auth={"id": self.id, "collectionId": self.coll.id, "collectionName": self.coll.name})
        return row_to_record(self.coll, select_list(self.coll)[1], self.row, me)


def _account(coll: Collection, row: tuple[Any, ...] | None) -> Account | None:
    return None if row is None else Account(coll, row, raw_record(coll, select_list(coll)[1], row))


async def load(db: Database | Conn, coll: Collection, record_id: str) -> Account | None:
    """The record ``record_id`` of ``coll``, or None."""
    return _account(coll, await load_row(db, coll, record_id))


async def by_identity(db: Database, coll: Collection, fields: list[str], identity: str) -> Account | None:
    """The first record whose identity field (in ``fields`` order) equals ``identity``; ``email``
    is compared as its unique index is built (case-insensitive)."""
    cols, _ = select_list(coll)
    for name in fields:
        cmp = email_equals(db.dialect, "m") if name == "email" else f"{q('m')}.{q(name)} = ?"
        row = await db.fetchone(f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {cmp}", [identity])
        if row is not None:
            return _account(coll, row)
    return None


async def by_email(db: Database, coll: Collection, email: str) -> Account | None:
    """The record with ``email`` (case-insensitive), or None (also when ``coll`` has no email field)."""
    if coll.field("email") is None:
        return None
    return await by_identity(db, coll, ["email"], email)


async def email_taken(db: Database, coll: Collection, email: str, except_id: str) -> bool:
    """Whether a record other than ``except_id`` has ``email`` (case-insensitive)."""
    sql = f"SELECT {q('id')} FROM {q(coll.name)} WHERE {email_equals(db.dialect)} AND {q('id')} != ?"
    return await db.fetchone(sql, [email, except_id]) is not None


async def exists(db: Database, coll: Collection, record_id: str) -> bool:
    """Whether ``coll`` (any collection) has a record ``record_id``; no rule applies."""
    return await db.fetchval(f'SELECT 1 FROM {q(coll.name)} WHERE "id" = ?', [record_id]) is not None


async def value_free(db: Database, coll: Collection, name: str, value: str) -> bool:
    """Whether a text field ``name`` may take ``value``: valid for the field and, when a unique
    index covers that field alone, not yet used by any record (PocketBase's rule for mapping an
    OAuth2 username)."""
    field = coll.field(name)
    if not isinstance(field, TextField) or not value:
        return False
    try:
        field.validate(value)
    except FieldError:
        return False
    for raw in coll.indexes:
        try:
            idx = parse_index(raw, coll.name)
        except ValueError:
            continue
        if idx.unique and [c.lstrip("-") for c in idx.columns] == [name]:
            taken = await db.fetchval(f"SELECT 1 FROM {q(coll.name)} WHERE {q(name)} = ? LIMIT 1", [value])
            return taken is None
    return True


async def save_as_server(
    db: Database,
    registry: Registry,
    coll: Collection,
    record_id: str,
    changes: dict[str, Any],
    message: str,
    *,
    hooks: Hooks | None = None,
    event: str = "",
) -> None:
    """Write ``changes`` through the record write path as the server itself (validation, hashing,
    the event row); a refused change is a 400 ``message`` with the field errors.

    ``hooks``: the engine's — the record update hooks fire as for an API write (before and
    in-transaction around the write, after-success once committed). ``event``: an ``auth.*``
    event type appended in the same transaction (`baas.events.emit`)."""
    hashed = await prehash(coll, changes)
    draft = Draft(coll, SUPERUSER, "update", changes, record_id, hashed=hashed)

    async def tx(conn: Conn) -> None:
        await save(conn, registry, draft, hooks)
        if event:
            await append_auth_event(conn, draft, event)

    try:
        await db.write(tx)
    except ValidationFailed as exc:
        raise BadRequest(message, exc.data) from None
    if hooks is not None:
        await after_commit(hooks, db, [draft])


def event_record(draft: Draft, dialect: str) -> dict[str, Any]:
    """A written draft's record as events carry it: the superuser view, without secrets."""
    record = stored_record(draft, dialect)
    for name in layout(draft.coll).secret_names:
        record.pop(name, None)
    record.pop("tokenKey", None)
    record.update(collectionId=draft.coll.id, collectionName=draft.coll.name)
    return record


async def append_auth_event(conn: Conn, draft: Draft, event: str) -> None:
    """The ``auth.*`` event of a write just saved in ``conn``'s transaction."""
    await emit.append(
        conn,
        event,
        collection_id=draft.coll.id,
        collection=draft.coll.name,
        subject_id=draft.record_id,
        data=event_record(draft, conn.dialect),
    )


async def after_commit(hooks: Hooks, db: Database, drafts: list[Draft]) -> None:
    """The after-success record hooks of writes an auth flow committed (as `baas.records.service.after`)."""
    for draft in drafts:
        hook = after_hook(hooks, draft)
        if hook.bound and draft.row is not None:
            await after_write(hook, db, draft.coll, draft.req, draft.action, stored_record(draft, db.dialect))
