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

from baas.api.auth import auth_collection, finish_auth, mfa_id_of
from baas.api.deps import engine, read_body, request_info
from baas.auth import accounts, oauth2, oauth2_signin
from baas.auth.oauth2 import OAuth2Error, Provider
from baas.errors import ApiError, BadRequest, FieldError, Forbidden
from baas.schema.model import Collection

log = logging.getLogger("baas.oauth2")
BASE = "/api/collections/{collection_name:str}"
FORM_ERROR = "An error occurred while loading the submitted data."


def _form(coll: Collection, body: dict[str, Any]) -> tuple[Provider, str, str, str, dict[str, Any]]:
    """The request's provider, code, codeVerifier, redirectURL and createData, or a 400."""
    name, code = body.get("provider"), body.get("code")
    errors: dict[str, FieldError | dict[str, Any]] = {}
    provider = oauth2.find_provider(coll.oauth2, name) if isinstance(name, str) and name else None
    if not isinstance(name, str) or not name:
        errors["provider"] = FieldError("validation_required", "Cannot be blank.")
    elif provider is None:
        errors["provider"] = FieldError(
            "validation_invalid_provider", f"Provider with name {name} is missing or is not enabled.", {"name": name}
        )
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
            "validation_invalid_value", "Must be a string."
        )
    if errors or provider is None:
        raise BadRequest(FORM_ERROR, errors)
    return provider, str(code), verifier, redirect, dict(create_data or {})


@post(BASE + "/auth-with-oauth2")
async def auth_with_oauth2(request: Request[Any, Any, Any], collection_name: str) -> Response[bytes]:
    eng = engine(request)
    coll = auth_collection(eng, collection_name)
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
        record_id, is_new = await oauth2_signin.submit(
            eng, coll, provider, user, create_data, caller, dict(request.query_params.items())
        )
    except ApiError:
        raise
    except Exception:  # a constraint raced us (same account or email signing in twice at once)
        log.warning("oauth2 %s/%s: sign-in failed", coll.name, provider.name, exc_info=True)
        raise BadRequest(oauth2_signin.FAILED) from None
    account = await accounts.load(eng.db, coll, record_id)
    if account is None:
        raise BadRequest(oauth2_signin.FAILED)
    response = await finish_auth(request, eng, coll, account.record(), account.token_key, "oauth2", mfa_id_of(body))
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


def _page(status: int, title: str, text: str) -> Response[bytes]:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    # The URL holds an authorization code: keep it out of caches and Referer headers.
    return Response(
        content=body.encode(),
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@route("/api/oauth2-redirect", http_method=["GET", "POST"])
async def oauth2_redirect(request: Request[Any, Any, Any]) -> Response[bytes]:
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
