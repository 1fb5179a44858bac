"""Sign-in policy without HTTP, shared by every method (password, OTP, OAuth2, TOTP, refresh):
the password check with its throttle, the collection's ``authRule``, MFA, and the auth token.

    account = await signin.with_password(eng, coll, identity, password, wanted_field, ip)
    await signin.check_auth_rule(eng, coll, account.id, requester)   # 403 unless allowed
    mfa_id, first = await signin.mfa_step(eng, coll, account.id, "password", given_mfa_id, guest)
    token = signin.auth_token(eng, coll, record, account.token_key)  # when mfa_id is None
    await signin.signed_in(eng, coll, record, "password", first_factor=first)   # the auth.signin event

The HTTP handlers in ``baas/api/auth*.py`` parse the request, call these and shape the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from baas.auth import accounts, mfa, tokens
from baas.auth.accounts import Account
from baas.errors import BadRequest, Forbidden
from baas.events import emit
from baas.records.layout import layout
from baas.records.passwords import verify_password_async
from baas.records.query import Reader, fetch_one
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

FAILED = "Failed to authenticate."
# PocketBase's auth token durations (seconds) when a collection sets none.
DEFAULT_DURATION = 604800
DEFAULT_DURATIONS = {"_superusers": 86400}


def token_duration(coll: Collection) -> int:
    """Seconds an auth token of ``coll`` lives: its ``authToken.duration``, else PocketBase's default."""
    return int(coll.authToken.get("duration") or DEFAULT_DURATIONS.get(coll.name, DEFAULT_DURATION))


def identity_fields(coll: Collection) -> list[str]:
    """The fields a password sign-in may name the account by (``passwordAuth.identityFields``)."""
    fields = coll.passwordAuth.get("identityFields") or ["email"]
    return [f for f in fields if isinstance(f, str) and coll.field(f) is not None]


async def with_password(
    eng: Engine, coll: Collection, identity: str, password: str, wanted_field: Any = None, ip: str = ""
) -> Account:
    """The account ``identity`` names (in one of the identity fields, or only ``wanted_field``)
    if ``password`` is its password; else `BadRequest` — the same answer, and about the same
    time, whether or not the account exists. While the identity is locked after failures
    (``eng.throttle``), 429 before any lookup."""
    throttle = eng.throttle
    throttle.check(coll.id, identity)
    fields = identity_fields(coll)
    if isinstance(wanted_field, str) and wanted_field:
        fields = [f for f in fields if f == wanted_field]
    found = await accounts.by_identity(eng.db, coll, fields, identity)
    # Verify even when nothing matched, so timing does not tell whether the account exists.
    if not await verify_password_async(found.password_hash if found else "", password) or found is None:
        throttle.failed(coll.id, identity, ip)
        raise BadRequest(FAILED)
    throttle.succeeded(coll.id, identity)
    return found


async def check_auth_rule(
    eng: Engine, coll: Collection, record_id: str, requester: Callable[[], Awaitable[RequestInfo]]
) -> None:
    """PocketBase's ``authRule``, evaluated against the signing-in record for the requester
    (null: superusers only, "": anyone). ``requester`` is asked only when the rule needs it."""
    rule = coll.authRule
    if rule == "":
        return
    req = await requester()
    if rule is None:
        ok = req.is_superuser
    else:
        ok = await fetch_one(Reader(eng.db, eng.registry, req), coll, record_id, rule) is not None
    if not ok:
        raise Forbidden("The request doesn't satisfy the collection requirements to authenticate.")


async def mfa_step(
    eng: Engine, coll: Collection, record_id: str, method: str, mfa_id: str | None, guest: RequestInfo
) -> tuple[str | None, str]:
    """MFA for a sign-in by ``method`` (see `baas.auth.mfa`): ``(opened, first)``. ``opened`` is
    None when the sign-in may complete (no MFA needed, or ``mfa_id`` names a session this method
    completes), else the id of the session just opened, for the client to pass back with its
    second factor; ``first`` is the first factor's method when this call completed an MFA
    session ("" otherwise)."""
    if method in mfa.NOT_A_FACTOR:
        return None, ""
    needed, needs_totp = await mfa.requirement(eng.db, eng.registry, coll, record_id, guest)
    if not needed:
        return None, ""
    if not mfa_id:
        return await mfa.start(eng.db, coll, record_id, method), ""
    return None, await mfa.complete(eng.db, coll, record_id, mfa_id, method, needs_totp)


def auth_token(eng: Engine, coll: Collection, record: dict[str, Any], token_key: str) -> str:
    """A new auth token for ``record`` (refreshable, for the collection's duration)."""
    return tokens.issue(eng.secret, record, coll.id, token_key, token_duration(coll))


async def signed_in(
    eng: Engine,
    coll: Collection,
    record: dict[str, Any],
    method: str,
    *,
    first_factor: str = "",
    superuser: str = "",
) -> None:
    """Append the ``auth.signin`` event of a completed sign-in (a token issued by ``method``;
    token refreshes are not sign-ins and append nothing). Its data is the record without secrets
    plus `emit.SIGNIN_KEY`: ``{"method": …}`` — ``password``, ``otp``, ``oauth2``, ``totp``,
    ``impersonate`` (with ``superuser``: who), or ``mfa`` with ``factors`` [first, second] when
    ``first_factor`` says the sign-in completed an MFA session."""
    if method == "refresh":
        return
    secret = layout(coll).secret_names
    data = {k: v for k, v in record.items() if k not in secret and k != "tokenKey"}
    data.update(collectionId=coll.id, collectionName=coll.name)
    how: dict[str, Any] = {"method": "mfa", "factors": [first_factor, method]} if first_factor else {"method": method}
    if superuser:
        how["superuser"] = superuser
    data[emit.SIGNIN_KEY] = how
    await emit.publish(
        eng.db, emit.AUTH_SIGNIN, collection_id=coll.id, collection=coll.name, subject_id=str(record["id"]), data=data
    )


def impersonation_token(eng: Engine, account: Account, duration: int) -> str:
    """A token for a superuser acting as ``account``: not refreshable, ``duration`` seconds."""
    return tokens.issue(eng.secret, account.raw, account.coll.id, account.token_key, duration, refreshable=False)
