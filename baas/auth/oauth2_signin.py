"""The record side of an OAuth2 sign-in, as PocketBase does it: find the record for a provider's
user — an account linked before (``_externalAuths``), else the signed-in caller's own record,
else the record with the provider-vouched email — or create one (createData + mapped fields,
under the createRule), then link the account.

    record_id, is_new = await oauth2_signin.submit(eng, coll, provider, user, create_data, caller, query)

The provider side (code exchange, the provider's user) is `baas.auth.oauth2`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from baas.auth import accounts, oauth2
from baas.auth.oauth2 import AuthUser, Provider
from baas.db.base import Conn
from baas.errors import BadRequest
from baas.events import emit
from baas.ids import new_id, now_str
from baas.records.draft import Draft
from baas.records.passwords import hash_password_async
from baas.records.write import save
from baas.rules.context import SUPERUSER, RequestInfo
from baas.schema.fields.file import FileField
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.oauth2")
FAILED = "Failed to authenticate."


async def create_payload(eng: Engine, coll: Collection, user: AuthUser, create_data: dict[str, Any]) -> dict[str, Any]:
    """The body of the record a new OAuth2 user gets: ``createData``, the provider's (vouched)
    email, a random password unless one is given, and the ``mappedFields``."""
    payload = dict(create_data)
    payload["email"] = user.email  # always the provider's (vouched-for) email, never the client's
    if not isinstance(payload.get("password"), str) or not payload["password"]:
        payload["password"] = payload["passwordConfirm"] = oauth2.random_string(30)
    mapped = coll.oauth2.get("mappedFields") or {}

    def target(key: str) -> str:
        name = mapped.get(key) if isinstance(mapped, dict) else ""
        return name if isinstance(name, str) and name and coll.field(name) is not None and name not in payload else ""

    if target("id"):
        payload[target("id")] = user.id
    if target("name"):
        payload[target("name")] = user.name
    if target("username") and await accounts.value_free(eng.db, coll, target("username"), user.username):
        payload[target("username")] = user.username
    avatar = target("avatarURL")
    if avatar and user.avatarURL:
        if isinstance(coll.field(avatar), FileField):
            # TODO(files): download the avatar into the file field once uploads exist.
            log.debug("oauth2: avatar not stored, %s is a file field", avatar)
        else:
            payload[avatar] = user.avatarURL
    return payload


async def _find_link(eng: Engine, coll: Collection, provider: Provider, user: AuthUser) -> tuple[str | None, str]:
    """(record id of a live link, id of a stale link whose record was deleted: "" if none)."""
    link = await eng.db.fetchone(
        'SELECT "id", "recordRef" FROM "_externalAuths" WHERE "collectionRef" = ? AND "provider" = ? '
        'AND "providerId" = ?',
        [coll.id, provider.name, user.id],
    )
    if link is None:
        return None, ""
    if await accounts.exists(eng.db, coll, link[1]):
        return str(link[1]), ""
    return None, str(link[0])  # its record was deleted: relink


async def submit(
    eng: Engine,
    coll: Collection,
    provider: Provider,
    user: AuthUser,
    create_data: dict[str, Any],
    caller: dict[str, Any] | None,
    query: dict[str, str],
) -> tuple[str, bool]:
    """Find, create or update the record and link the account; (record id, is new)."""
    record_id, stale_link = await _find_link(eng, coll, provider, user)
    linked = record_id is not None
    if record_id is None and caller is not None and caller.get("collectionId") == coll.id:
        record_id = str(caller["id"])  # a signed-in user links one more account to their record
    if record_id is None and user.email:
        found = await accounts.by_email(eng.db, coll, user.email)
        record_id = found.id if found is not None else None
    if record_id is None:
        return await _create(eng, coll, provider, user, create_data, caller, query, stale_link), True
    return await _update(eng, coll, provider, user, record_id, caller, linked, stale_link), False


async def _create(
    eng: Engine,
    coll: Collection,
    provider: Provider,
    user: AuthUser,
    create_data: dict[str, Any],
    caller: dict[str, Any] | None,
    query: dict[str, str],
    stale_link: str,
) -> str:
    if coll.name == "_superusers":
        raise BadRequest(FAILED)  # superusers never sign up through OAuth2
    payload = await create_payload(eng, coll, user, create_data)
    hashed = await hash_password_async(payload["password"])
    creator = RequestInfo(auth=caller, body=payload, query=query, method="POST", context="oauth2")
    # The record hooks fire for these writes as for the records API (PocketBase's app.Save does).
    drafts = [Draft(coll, creator, "create", payload, hashed=hashed)]

    async def create(conn: Conn) -> str:
        await save(conn, eng.registry, drafts[0], eng.hooks)
        rid = drafts[0].record_id
        stored = await accounts.load(conn, coll, rid)
        # Verified as long as the record's email is the one the provider vouched for.
        if stored is not None and not stored.verified and stored.email.lower() == user.email.lower():
            drafts.append(Draft(coll, SUPERUSER, "update", {"verified": True}, rid))
            await save(conn, eng.registry, drafts[1], eng.hooks)
        await _link(conn, coll, provider, user, rid, stale_link)
        await accounts.append_auth_event(conn, drafts[-1], emit.AUTH_SIGNUP)
        return rid

    rid = await eng.db.write(create)
    await accounts.after_commit(eng.hooks, eng.db, drafts)
    return rid


async def _update(
    eng: Engine,
    coll: Collection,
    provider: Provider,
    user: AuthUser,
    record_id: str,
    caller: dict[str, Any] | None,
    linked: bool,
    stale_link: str,
) -> str:
    found = await accounts.load(eng.db, coll, record_id)
    if found is None:
        raise BadRequest(FAILED)
    changes: dict[str, Any] = {}
    email, verified = found.email, found.verified
    is_caller = caller is not None and caller.get("id") == record_id and caller.get("collectionId") == coll.id
    hashed = None
    if not is_caller and email and not verified:
        # Someone may have registered this email first without owning it: lock their password out.
        changes["password"] = oauth2.random_string(30)
        hashed = await hash_password_async(changes["password"])
    if not email and user.email:
        changes["email"] = user.email
    if not verified and (not email or email.lower() == user.email.lower()):
        changes["verified"] = True
    draft = Draft(coll, SUPERUSER, "update", changes, record_id, hashed=hashed)

    async def update(conn: Conn) -> str:
        if changes:
            await save(conn, eng.registry, draft, eng.hooks)
        if not linked:
            await _link(conn, coll, provider, user, record_id, stale_link)
        return record_id

    await eng.db.write(update)
    if changes:
        await accounts.after_commit(eng.hooks, eng.db, [draft])
    return record_id


async def _link(conn: Conn, coll: Collection, provider: Provider, user: AuthUser, record_id: str, stale: str) -> None:
    if stale:
        await conn.execute('DELETE FROM "_externalAuths" WHERE "id" = ?', [stale])
    now = now_str()
    await conn.execute(
        'INSERT INTO "_externalAuths" ("id", "collectionRef", "recordRef", "provider", "providerId", "created", '
        '"updated") VALUES (?, ?, ?, ?, ?, ?, ?)',
        [new_id(), coll.id, record_id, provider.name, user.id, now, now],
    )
