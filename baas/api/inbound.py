"""``POST /api/webhooks/in/{name}``: an inbound webhook of ``baas.yaml`` (docs/recipes.md).

The raw body is read within the webhook's ``maxBodySize`` and handed, unparsed, to
`baas.functions.inbound` (the signature covers the exact bytes sent). 200 with the function's
answer; a message id already handled answers 200 ``{"duplicate": true, "id": …}`` without running
it; one still being handled by another call answers 409 (the sender retries later).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from baas.api.deps import engine, to_json
from baas.errors import NotFound
from baas.files.multipart import receive_chunks, too_large
from baas.functions.inbound import InboundFailed

JSON = "application/json"


@post("/api/webhooks/in/{name:str}", media_type=JSON, status_code=200, request_max_body_size=None)
async def inbound_receive(request: Request[Any, Any, Any], name: str) -> bytes:
    eng = engine(request)
    hook = eng.inbound.get(name)
    if hook is None:  # before reading a body nobody will use
        raise NotFound("The requested inbound webhook wasn't found.")
    limit = hook.maxBodySize
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(limit)
    body = b"".join([chunk async for chunk in receive_chunks(request.receive, limit)])  # type: ignore[arg-type]  # Litestar types ASGI messages as TypedDicts
    headers = {k.lower(): v for k, v in request.headers.items()}
    got, duplicate, result = await eng.inbound.receive(name, headers, body)
    if duplicate:
        return to_json({"duplicate": True, "id": got.id})
    try:
        return to_json({} if result is None else result)
    except (TypeError, ValueError, OverflowError):  # handled already (the id stays recorded): say so
        raise InboundFailed("The webhook was handled, but the function's answer is not JSON.") from None


ROUTES = [inbound_receive]
