"""An auth collection's options in the console: the email preview and which OAuth2 secrets are set.

``POST /api/collections/{c}/email-preview`` renders one auth email (``kind``: verification,
passwordReset, emailChange, otp, authAlert) with the draft ``subject``/``body`` and sample values,
through the code that sends the real mails; ``GET /api/collections/{c}/oauth2-secrets`` answers
``{"providers": {"google": true}}``: a secret is stored, never what it is. Superusers only.
"""

from __future__ import annotations

from litestar import Response, get, post

from baas.admin import auth_options as service
from baas.api.deps import ApiRequest, json_response, read_body, superuser_engine

C = "/api/collections/{collection_name:str}"


@post(C + "/email-preview")
async def email_preview(request: ApiRequest, collection_name: str) -> Response[bytes]:
    """``{subject, html, text}`` of an auth email as it would be sent, with sample values."""
    eng = await superuser_engine(request)
    coll = service.auth_collection(eng, collection_name)
    body = await read_body(request)
    return json_response(await service.email_preview(eng, coll, body))


@get(C + "/oauth2-secrets")
async def oauth2_secrets(request: ApiRequest, collection_name: str) -> Response[bytes]:
    """Per OAuth2 provider: whether its client secret is set (shown as "set"/"not set")."""
    eng = await superuser_engine(request)
    return json_response({"providers": service.secret_status(service.auth_collection(eng, collection_name))})


ROUTES = [email_preview, oauth2_secrets]
