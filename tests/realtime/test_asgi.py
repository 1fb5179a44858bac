"""The one raw-ASGI response helper (baas/api/asgi.py) that the fast path, the rate limiter and
realtime answer with: the API's error shape, the CORS headers the app's CORS config would add."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baas.api import fast
from baas.api.asgi import CORS, Message, has_origin, send_error, send_response
from baas.errors import FieldError, NotFound, TooManyRequests, ValidationFailed
from tests.harness import Api

ORIGIN = {"Origin": "https://app.example.com"}


class Sent:
    """A recording ASGI ``send``."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0]["headers"])

    @property
    def body(self) -> bytes:
        return bytes(self.messages[1]["body"])


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": list(headers)}


# (name, request headers, error, extra headers, expected response headers)
ERRORS: list[tuple[str, list[tuple[bytes, bytes]], Any, list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]] = [
    (
        "same origin: no CORS headers",
        [],
        NotFound(),
        [],
        [(b"content-type", b"application/json"), (b"content-length", b"73")],
    ),
    (
        "cross-origin: CORS headers",
        [(b"origin", b"https://x.example.com")],
        NotFound(),
        [],
        [(b"content-type", b"application/json"), (b"content-length", b"73"), *CORS],
    ),
    (
        "extra headers come last",
        [(b"origin", b"https://x.example.com")],
        TooManyRequests(),
        [(b"retry-after", b"3")],
        [(b"content-type", b"application/json"), (b"content-length", b"55"), *CORS, (b"retry-after", b"3")],
    ),
]


@pytest.mark.parametrize(
    ("request_headers", "error", "extra", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
async def test_send_error(
    request_headers: list[tuple[bytes, bytes]],
    error: Any,
    extra: list[tuple[bytes, bytes]],
    expected: list[tuple[bytes, bytes]],
) -> None:
    sent = Sent()
    await send_error(sent, scope(*request_headers), error, headers=extra)
    assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.body"]
    assert sent.status == error.status
    assert sent.headers == expected
    assert json.loads(sent.body) == {"status": error.status, "message": error.message, "data": {}}
    assert int(dict(sent.headers)[b"content-length"]) == len(sent.body)


async def test_send_error_field_errors_in_the_api_shape() -> None:
    sent = Sent()
    error = ValidationFailed({"clientId": FieldError("validation_required", "Cannot be blank.")})
    await send_error(sent, scope(), error)
    assert sent.status == 400
    assert json.loads(sent.body) == {
        "status": 400,
        "message": "Failed to validate.",
        "data": {"clientId": {"code": "validation_required", "message": "Cannot be blank."}},
    }


async def test_send_response_without_a_body_has_no_content_headers() -> None:
    sent = Sent()
    await send_response(sent, 204, cors=True)
    assert sent.status == 204 and sent.body == b""
    assert sent.headers == list(CORS)
    sent = Sent()
    await send_response(sent, 204, cors=False)
    assert sent.headers == []


def test_has_origin() -> None:
    assert has_origin(scope((b"origin", b"null")))
    assert not has_origin(scope((b"x-origin", b"a"), (b"referer", b"https://a.example.com")))


# -- the same shape from every raw-ASGI answerer ------------------------------------------------------
def _cors(r: Any) -> tuple[str | None, str | None]:
    return r.headers.get("access-control-allow-origin"), r.headers.get("vary")


async def test_fast_path_error_and_success(api: Api) -> None:
    r = await api.client.get("/api/collections/nope/records", headers=ORIGIN)
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "Missing collection context.", "data": {}}
    assert _cors(r) == ("*", "Origin")
    r = await api.client.get("/api/collections/nope/records")
    assert r.status_code == 404 and _cors(r) == (None, None)
    r = await api.client.get("/api/collections/posts/records", headers=ORIGIN)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json" and _cors(r) == ("*", "Origin")


async def test_fast_path_unexpected_error(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(request: Any, collection_name: str) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setitem(fast._ON_RECORDS, "GET", broken)
    r = await api.client.get("/api/collections/posts/records", headers=ORIGIN)
    assert r.status_code == 500
    assert r.json() == {"status": 500, "message": "Something went wrong while processing your request.", "data": {}}
    assert _cors(r) == ("*", "Origin")


async def test_non_canonical_record_paths_are_served_by_litestar(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trailing slash is not the fast path's: Litestar serves it, with the same handler."""

    async def never(request: Any, collection_name: str) -> bytes:
        raise AssertionError("the fast path served a non-canonical path")

    monkeypatch.setitem(fast._ON_RECORDS, "GET", never)
    r = await api.client.get("/api/collections/posts/records/", headers=ORIGIN)
    assert r.status_code == 200 and "items" in r.json()
    assert r.headers["access-control-allow-origin"] == "*"


async def test_realtime_method_not_allowed(api: Api) -> None:
    r = await api.client.put("/api/realtime", headers=ORIGIN)
    assert r.status_code == 405
    assert r.json() == {"status": 405, "message": "Method not allowed.", "data": {}}
    assert _cors(r) == ("*", "Origin")
    r = await api.client.delete("/api/realtime")
    assert r.status_code == 405 and _cors(r) == (None, None)


async def test_realtime_subscribe_errors(api: Api) -> None:
    r = await api.client.post("/api/realtime", json={"clientId": "nope", "subscriptions": []}, headers=ORIGIN)
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "Missing or invalid client id.", "data": {}}
    assert _cors(r) == ("*", "Origin")


async def test_realtime_subscribe_reads_a_multipart_form(api: Api) -> None:
    """``POST /api/realtime`` reads the body the way every route does, multipart included (it used
    to fail with a server error there)."""
    r = await api.client.post("/api/realtime", files={"clientId": (None, "nope")})
    assert r.status_code == 404, r.text
    assert r.json()["message"] == "Missing or invalid client id."


async def test_realtime_preflight(api: Api) -> None:
    r = await api.client.options(
        "/api/realtime",
        headers={**ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == "authorization"
    assert r.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
