"""OAuth2 sign-in: ``POST /api/collections/{c}/auth-with-oauth2`` and ``/api/oauth2-redirect``.

The story of a sign-in, as PocketBase tells it: exchange the code (with the PKCE verifier) for a
token, read the provider's user, then find the record — an account linked before (in
``_externalAuths``), else the signed-in record of this collection, else the record with the
provider-vouched email — or create one (createData + mapped fields, under the createRule), link
the account, and answer like every sign-in (``finish_auth``) plus ``meta``.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import msgspec
from litestar import Request, Response, post, route

from baas.api.auth import finish_auth
from baas.api.deps import collection, engine, read_body, request_info
from baas.auth import oauth2
from baas.auth.oauth2 import AuthUser, OAuth2Error, Provider
from baas.auth.passwords import hash_password_async
from baas.core import SUPERUSER, Engine
from baas.db.tables import email_equals, q
from baas.errors import ApiError, BadRequest, FieldError, Forbidden
from baas.ids import new_id, now_str
from baas.records.query import Reader, load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.records.write import create_record, update_record
from baas.rules.context import RequestInfo
from baas.schema.fields import FileField, TextField
from baas.schema.model import Collection, parse_index

log = logging.getLogger("baas.oauth2")
BASE = "/api/collections/{collection_name:str}"
FORM_ERROR = "An error occurred while loading the submitted data."


def _form(coll: Collection, body: dict[str, Any]) -> tuple[Provider, str, str, str, dict[str, Any]]:
    """The request's provider, code, codeVerifier, redirectURL and createData, or a 400."""
    name, code = body.get("provider"), body.get("code")
    errors: dict[str, FieldError] = {}
    provider = oauth2.find_provider(coll.oauth2, name) if isinstance(name, str) and name else None
    if not isinstance(name, str) or not name:
        errors["provider"] = FieldError("validation_required", "Cannot be blank.")
    elif provider is None:
        errors["provider"] = FieldError("validation_invalid_provider",
                                        f"Provider with name {name} is missing or is not enabled.", {"name": name})
    if not isinstance(code, str) or not code:
        errors["code"] = FieldError("validation_required", "Cannot be blank.")
    create_data = body.get("createData")
    if create_data is not None and not isinstance(create_data, dict):
        errors["createData"] = FieldError("validation_invalid_value", "Must be an object.")
    verifier = body.get("codeVerifier") or ""
    # redirectUrl: the pre-0.23 spelling PocketBase still reads
    redirect = body.get("redirectURL") or body.get("redirectUrl") or ""
    if not isinstance(verifier, str) or not isinstance(redirect, str):
        errors["codeVerifier" if not isinstance(verifier, str) else "redirectURL"] = FieldError(
            "validation_invalid_value", "Must be a string.")
    if errors or provider is None:
        raise BadRequest(FORM_ERROR, errors)
    return provider, str(code), verifier, redirect, dict(create_data or {})


async def _load(eng: Engine, coll: Collection, record_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(API record, stored values) of a record, or None."""
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        return None
    fields = select_list(coll)[1]
    return row_to_record(coll, fields, row, None), raw_record(coll, fields, row)


async def _find_by_email(eng: Engine, coll: Collection, email: str) -> str | None:
    if coll.field("email") is None:
        return None
    found = await eng.db.fetchval(f'SELECT "id" FROM {q(coll.name)} WHERE {email_equals(eng.db.dialect)} LIMIT 1', [email])
    return str(found) if found is not None else None


async def _username_free(eng: Engine, coll: Collection, fname: str, value: str) -> bool:
    """PocketBase maps the provider's username only into a text field it is valid for and, when a
    unique index covers that field alone, only when no record has it yet."""
    field = coll.field(fname)
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
        if idx.unique and [c.lstrip("-") for c in idx.columns] == [fname]:
            taken = await eng.db.fetchval(f"SELECT 1 FROM {q(coll.name)} WHERE {q(fname)} = ? LIMIT 1", [value])
            return taken is None
    return True


async def _create_payload(eng: Engine, coll: Collection, user: AuthUser, create_data: dict[str, Any]) -> dict[str, Any]:
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
    if target("username") and await _username_free(eng, coll, target("username"), user.username):
        payload[target("username")] = user.username
    avatar = target("avatarURL")
    if avatar and user.avatarURL:
        if isinstance(coll.field(avatar), FileField):
            # TODO(files): download the avatar into the file field once uploads exist.
            log.debug("oauth2: avatar not stored, %s is a file field", avatar)
        else:
            payload[avatar] = user.avatarURL
    return payload


async def _submit(eng: Engine, request: Request, coll: Collection, provider: Provider, user: AuthUser,
                  create_data: dict[str, Any], caller: dict[str, Any] | None) -> tuple[str, bool]:
    """Find, create or update the record and link the account; returns (record id, is new)."""
    link = await eng.db.fetchone(
        'SELECT "id", "recordRef" FROM "_externalAuths" WHERE "collectionRef" = ? AND "provider" = ? '
        'AND "providerId" = ?', [coll.id, provider.name, user.id])
    stale_link = ""
    record_id: str | None = None
    if link is not None:
        if await load_row(eng.db, coll, link[1]) is not None:
            record_id = link[1]
        else:
            stale_link = link[0]  # its record was deleted: relink below
    linked = record_id is not None
    if record_id is None and caller is not None and caller.get("collectionId") == coll.id:
        record_id = caller["id"]  # a signed-in user links one more account to their record
    if record_id is None and user.email:
        record_id = await _find_by_email(eng, coll, user.email)
    reader = Reader(eng.db, eng.registry, SUPERUSER)

    if record_id is None:
        if coll.name == "_superusers":
            raise BadRequest("Failed to authenticate.")  # superusers never sign up through OAuth2
        payload = await _create_payload(eng, coll, user, create_data)
        hashed = await hash_password_async(payload["password"])
        req = RequestInfo(auth=caller, body=payload, query=dict(request.query_params.items()),
                          method="POST", context="oauth2")
        creator = Reader(eng.db, eng.registry, req)

        async def create(conn: Any) -> str:
            rid = await create_record(conn, creator, coll, payload, hashed=hashed)
            stored = await load_row(conn, coll, rid)
            fields = select_list(coll)[1]
            values = raw_record(coll, fields, stored) if stored is not None else {}
            # Verified as long as the record's email is the one the provider vouched for.
            if not values.get("verified") and str(values.get("email") or "").lower() == user.email.lower():
                await update_record(conn, reader, coll, rid, {"verified": True})
            await _link(conn, coll, provider, user, rid, stale_link)
            return rid

        return await eng.db.write(create), True

    found = await _load(eng, coll, record_id)
    if found is None:
        raise BadRequest("Failed to authenticate.")
    _, raw = found
    changes: dict[str, Any] = {}
    email, verified = str(raw.get("email") or ""), bool(raw.get("verified"))
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

    async def update(conn: Any) -> str:
        if changes:
            await update_record(conn, reader, coll, record_id, changes, hashed=hashed)
        if not linked:
            await _link(conn, coll, provider, user, record_id, stale_link)
        return record_id

    return await eng.db.write(update), False


async def _link(conn: Any, coll: Collection, provider: Provider, user: AuthUser, record_id: str, stale: str) -> None:
    if stale:
        await conn.execute('DELETE FROM "_externalAuths" WHERE "id" = ?', [stale])
    now = now_str()
    await conn.execute(
        'INSERT INTO "_externalAuths" ("id", "collectionRef", "recordRef", "provider", "providerId", "created", '
        '"updated") VALUES (?, ?, ?, ?, ?, ?, ?)', [new_id(), coll.id, record_id, provider.name, user.id, now, now])


@post(BASE + "/auth-with-oauth2")
async def auth_with_oauth2(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = collection(eng, collection_name)
    if coll.type != "auth":
        raise BadRequest(f"The collection {coll.name!r} is not an auth collection.")
    if not coll.oauth2.get("enabled"):
        raise Forbidden("The collection is not configured to allow OAuth2 authentication.")
    body = await read_body(request)
    provider, code, verifier, redirect, create_data = _form(coll, body)
    try:
        token = await oauth2.exchange_code(provider, code, verifier, redirect)
    except OAuth2Error as exc:
        log.info("oauth2 %s/%s: token exchange failed: %s", coll.name, provider.name, exc.detail)
        raise BadRequest("Failed to fetch OAuth2 token.") from None
    try:
        user = await oauth2.fetch_user(provider, token)
    except OAuth2Error as exc:
        log.info("oauth2 %s/%s: user fetch failed: %s", coll.name, provider.name, exc.detail)
        raise BadRequest("Failed to fetch OAuth2 user.") from None
    caller = (await request_info(request)).auth
    try:
        record_id, is_new = await _submit(eng, request, coll, provider, user, create_data, caller)
    except ApiError:
        raise
    except Exception:  # a constraint raced us (same account or email signing in twice at once)
        log.warning("oauth2 %s/%s: sign-in failed", coll.name, provider.name, exc_info=True)
        raise BadRequest("Failed to authenticate.") from None
    found = await _load(eng, coll, record_id)
    if found is None:
        raise BadRequest("Failed to authenticate.")
    record, raw = found
    record.pop("tokenKey", None)
    response = await finish_auth(request, eng, coll, record, raw["tokenKey"], "oauth2", body.get("mfaId") or None)
    if response.status_code == 200 and isinstance(response.content, bytes):
        # PocketBase adds the provider's account as ``meta`` to the usual {token, record}.
        data = msgspec.json.decode(response.content)
        data["meta"] = user.meta(is_new)
        response.content = msgspec.json.encode(data)
    return response


# -- /api/oauth2-redirect -------------------------------------------------------------------------

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>"""


def _page(status: int, title: str, text: str) -> Response:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    # The URL holds an authorization code: keep it out of caches and Referer headers.
    return Response(content=body.encode(), status_code=status, media_type="text/html; charset=utf-8", headers={
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@route("/api/oauth2-redirect", http_method=["GET", "POST"])
async def oauth2_redirect(request: Request) -> Response:
    """Where the provider sends the browser back in the SDK's popup flow (``authWithOAuth2()``)."""
    if request.method == "POST":  # Apple's response_mode=form_post
        form = await request.form()
        data = {k: form.get(k) for k in ("state", "code", "error")}
    else:
        data = {k: request.query_params.get(k) for k in ("state", "code", "error")}
    fields = {k: v for k, v in data.items() if isinstance(v, str) and v}
    failed = "Failed to authenticate. You can close this window and go back to the app to try again."
    if not fields.get("state"):
        return _page(400, "Sign-in failed", failed)
    # The state is the id of the realtime client waiting for the code (subscribed to @oauth2).
    forwarded = await engine(request).realtime.forward_oauth2(fields["state"], fields)
    if not forwarded or fields.get("error") or not fields.get("code"):
        return _page(400, "Sign-in failed", failed)
    return _page(200, "Sign-in complete", "Auth completed. You can close this window and go back to the app.")


ROUTES = [auth_with_oauth2, oauth2_redirect]
