"""NUL (U+0000) in a path id, a sign-in identity or a flow's address: PostgreSQL cannot hold it in
text, and each of these was a 500 there. Every way in answers a 4xx in the API's error shape, on
both backends, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import PG_URL

CASES = [
    ("record id in the path (view)", "GET", "/api/collections/posts/records/ab%00c", None),
    ("record id in the path (update)", "PATCH", "/api/collections/posts/records/ab%00c", {"title": "x"}),
    ("record id in the path (delete)", "DELETE", "/api/collections/posts/records/ab%00c", None),
    ("record id of a file", "GET", "/api/files/posts/ab%00c/x.png", None),
    (
        "sign-in identity",
        "POST",
        "/api/collections/users/auth-with-password",
        {"identity": "al\x00ice@example.com", "password": "password-123"},
    ),
    ("impersonated record id", "POST", "/api/collections/users/impersonate/ab%00c", {}),
]


@pytest.mark.parametrize(("what", "method", "url", "body"), CASES, ids=[c[0] for c in CASES])
async def test_nul_is_a_client_error(api: Any, what: str, method: str, url: str, body: Any) -> None:
    kw = {"json": body} if body is not None else {}
    r = await api.call(method, url, "su", **kw)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"status", "message", "data"}
    if PG_URL and r.status_code == 400:
        assert "NUL" in r.json()["message"] or r.json()["data"], r.text
    alive = await api.call("GET", "/api/collections/posts/records", "su")
    assert alive.status_code == 200
