"""Bad input refused before sending, no token in any log line, webhook verification, and the
generated sync client kept in step with the async source."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from baas_client import AsyncClient, Client, ClientError, WebhookVerificationError, sign_webhook, verify_webhook
from standardwebhooks import Webhook

from tests.harness import eventually
from tests.sdk_python.kit import (
    Backend,
)

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python"
SECRET = "whsec_bm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm4="
OLD_SECRET = "whsec_b29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb28="


class Sent(httpx.BaseTransport):
    """Counts the requests that reached the network layer (it forwards them for real)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self.inner.handle_request(request)


def test_bad_input_is_refused_before_sending(srv: Backend) -> None:
    sent = Sent()
    pb = Client(srv.url, http_client=httpx.Client(transport=sent))
    posts = pb.collection("posts")
    cases: list[tuple[type[Exception], str, Any]] = [
        (TypeError, "unsupported type set", lambda: pb.filter("id = {:v}", {"v": {1, 2}})),
        (TypeError, "unsupported type bytes", lambda: pb.filter("id = {:v}", {"v": b"raw"})),
        (TypeError, "unsupported type Decimal", lambda: pb.filter("n = {:v}", {"v": Decimal("1.5")})),
        (ValueError, "not a number", lambda: pb.filter("n = {:v}", {"v": float("nan")})),
        (ValueError, "timezone", lambda: pb.filter("d > {:v}", {"v": dt.datetime(2026, 1, 1)})),
        (TypeError, "filter must be a string", lambda: posts.get_list(filter=1)),
        (ValueError, "page must be", lambda: posts.get_list(0)),
        (ValueError, "per_page must be", lambda: posts.get_list(1, -5)),
        (TypeError, "body must be a mapping", lambda: posts.create(["title"])),
        (TypeError, "keys must be strings", lambda: posts.create({1: "x"})),
        (TypeError, "cannot be sent as JSON", lambda: posts.create({"title": object()})),
        (TypeError, "files", lambda: posts.create({"title": "x"}, files={"image": 42})),
        (TypeError, "binary mode", lambda: posts.create({"title": "x"}, files={"image": open(__file__)})),  # noqa: SIM115
        (ValueError, "non-empty string for a URL path segment", lambda: posts.get_one("")),
        (ValueError, "non-empty string", lambda: pb.collection("")),
        (TypeError, "identity must be a string", lambda: pb.collection("users").auth_with_password(None, "x")),
        (ValueError, "exactly one", lambda: pb.collection("users").totp_disable()),
        (ValueError, "topic", lambda: posts.subscribe("", print)),
        (ValueError, "API key", lambda: pb.use_api_key(" ")),
        (ValueError, "http", lambda: Client("127.0.0.1:8090")),
    ]
    for exc, match, call in cases:
        with pytest.raises(exc, match=match):
            call()
    assert sent.count == 0
    # and what is allowed binds as the filter language reads it
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    assert pb.filter(
        "a={:a} && b={:b} && c={:c} && d={:d} && e={:e} && f={:f} && g={:g}",
        {"a": None, "b": True, "c": 7, "d": 1e-7, "e": when, "f": {"k": "it's"}, "g": "o'k\\"},
    ) == (
        "a=null && b=true && c=7 && d=0.0000001 && e='2026-01-02 03:04:05.678Z' && f='{\"k\":\"it\\'s\"}'"
        " && g='o\\'k\\\\'"
    )
    with pytest.raises(ClientError) as err:
        Client("http://127.0.0.1:9").collection("posts").get_list()
    assert err.value.status == 0
    pb.close()


async def test_no_token_is_ever_logged(srv: Backend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: baas_client, httpx, httpcore
    pb = srv.user(f"logged-{srv.kind}@example.com")
    token = pb.auth_store.token
    pb.refresh_margin = 10 * 365 * 86400  # force the automatic refresh path too
    got: list[str] = []
    pb.collection("vault").subscribe("*", lambda e: got.append(e.record["id"]))
    rec = pb.collection("vault").create({"name": "x"}, files={"doc": ("a.txt", b"a")})
    file_token = pb.files.get_token()
    pb.collection("vault").get_one(rec["id"])
    await eventually(lambda: got == [rec["id"]], "the realtime event")
    pb.close()
    async with AsyncClient(srv.url) as apb:
        signed = await apb.collection("_superusers").auth_with_password(*srv.su)
        await apb.collection("posts").get_list()
    secrets = {token, file_token, signed.token, pb.auth_store.token}
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in text and "/api/realtime" in text  # httpx's lines were captured
    for secret in secrets:
        assert secret not in text
    assert token not in repr(pb.auth_store)


def test_webhook_signatures() -> None:
    body = b'{"type":"posts.create","data":{"id":"abc"}}'
    now = int(time.time())
    theirs = Webhook(SECRET).sign("msg_1", dt.datetime.fromtimestamp(now, dt.UTC), body.decode())
    assert theirs == sign_webhook(SECRET, "msg_1", now, body)  # the reference library agrees
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(now), "Webhook-Signature": theirs}
    assert verify_webhook(SECRET, headers, body) == {"type": "posts.create", "data": {"id": "abc"}}
    # rotation: the sender signs with both secrets; a receiver that knows either accepts
    both = {**headers, "Webhook-Signature": f"{sign_webhook(OLD_SECRET, 'msg_1', now, body)} {theirs}"}
    assert verify_webhook(OLD_SECRET, both, body)["data"]["id"] == "abc"
    assert verify_webhook([OLD_SECRET, SECRET], headers, body)["type"] == "posts.create"
    refused = [
        (SECRET, {**headers, "Webhook-Signature": sign_webhook(OLD_SECRET, "msg_1", now, body)}, body),
        (SECRET, headers, body.replace(b"abc", b"abd")),
        (SECRET, {**headers, "Webhook-Id": "msg_2"}, body),
        (SECRET, {**headers, "Webhook-Timestamp": str(now - 301)}, body),
        (SECRET, {**headers, "Webhook-Timestamp": "soon"}, body),
        (SECRET, {k: v for k, v in headers.items() if k != "Webhook-Signature"}, body),
        (SECRET, {**headers, "Webhook-Signature": "v1,!!!"}, body),
    ]
    for secret, hdrs, payload in refused:
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, hdrs, payload)
    old = {**headers, "Webhook-Timestamp": str(now - 600)}
    old["Webhook-Signature"] = sign_webhook(SECRET, "msg_1", now - 600, body)
    assert verify_webhook(SECRET, old, body, tolerance=900)["data"]["id"] == "abc"
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook("whsec_not base64!", headers, body)


def test_sync_client_is_generated_from_the_async_one() -> None:
    run = subprocess.run([sys.executable, str(SDK / "tools" / "unasync.py"), "--check"], check=False)
    assert run.returncode == 0, "run `python sdk/python/tools/unasync.py` after editing _async_client.py"
