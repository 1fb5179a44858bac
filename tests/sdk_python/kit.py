"""Shared helpers of the Python SDK tests: a live server (``baas serve`` or PocketBase 0.40.6) with
the tests' collections, a restart on the same port, TOTP codes and a logging capture."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from baas_client import Client

from tests.harness import png
from tests.servers import Server, baas_cmd, running_pocketbase, running_server, stop_server, wait_healthy

SU = ("root@example.com", "root-password-1")
PASSWORD = "password-123"
KINDS = ["baas", "pocketbase"]


@dataclass
class Backend:
    """One live server with the ``posts`` and ``vault`` collections."""

    kind: str
    url: str
    su: tuple[str, str]
    server: Any
    ids: dict[str, str] = field(default_factory=dict)

    def admin(self) -> Client:
        client = Client(self.url)
        client.collection("_superusers").auth_with_password(*self.su)
        return client

    def user(self, email: str) -> Client:
        """A client signed in as a new user ``email`` (created through the SDK)."""
        client = Client(self.url)
        users = client.collection("users")
        users.create({"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})
        users.auth_with_password(email, PASSWORD)
        return client


def _collections(admin: Client) -> dict[str, str]:
    users_id = admin.send("/api/collections/users")["id"]
    anyone = {k: "" for k in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule")}
    posts = admin.send(
        "/api/collections",
        method="POST",
        body={
            "name": "posts",
            "type": "base",
            **anyone,
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "views", "type": "number"},
                {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
                {"name": "image", "type": "file", "maxSelect": 1, "maxSize": 1048576, "thumbs": ["50x50"]},
                {"name": "photos", "type": "file", "maxSelect": 5, "maxSize": 1048576},
                {"name": "author", "type": "relation", "collectionId": users_id, "maxSelect": 1},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        },
    )
    signed_in = '@request.auth.id != ""'
    vault = admin.send(
        "/api/collections",
        method="POST",
        body={
            "name": "vault",
            "type": "base",
            **anyone,
            "listRule": signed_in,
            "viewRule": signed_in,
            "fields": [
                {"name": "name", "type": "text"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1048576, "protected": True},
            ],
        },
    )
    return {"users": users_id, "posts": posts["id"], "vault": vault["id"]}


@asynccontextmanager
async def backend(kind: str, tmp: Path, *serve_args: str) -> AsyncIterator[Backend]:
    """A live ``kind`` server (``baas`` on SQLite or, with BAAS_TEST_POSTGRES_URL, PostgreSQL)."""
    if kind == "pocketbase":
        async with running_pocketbase(tmp, *SU) as pb:
            b = Backend(kind, pb.url, SU, pb)
            admin = b.admin()
            # PocketBase serves batches only once a superuser turns them on (baas too: see below)
            admin.send("/api/settings", method="PATCH", body={"batch": {"enabled": True, "maxRequests": 50}})
            b.ids = _collections(admin)
            admin.close()
            yield b
        return
    async with running_server(tmp, *serve_args, superuser=SU) as srv:
        b = Backend(kind, srv.url, SU, srv)
        admin = b.admin()
        admin.send("/api/settings", method="PATCH", body={"batch": {"enabled": True, "maxRequests": 50}})
        b.ids = _collections(admin)
        admin.close()
        yield b


def restart(srv: Server) -> None:
    """Stop ``baas serve`` and start it again on the same port and data (what a deploy does)."""
    assert srv.proc is not None
    stop_server(srv.proc)
    host_port = srv.url.removeprefix("http://")
    with srv.log.open("ab") as out:
        srv.proc = subprocess.Popen(
            baas_cmd("serve", "--http", host_port, "--dir", str(srv.data_dir), *srv.db_args, "--workers", "1"),
            env=srv.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_healthy(srv)


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code (6 digits, 30 s, SHA-1) of a base32 ``secret`` — an authenticator app."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def png_bytes() -> bytes:
    return png((120, 80))


def raw_list(url: str, coll: str, token: str, **params: Any) -> dict[str, Any]:
    """A list call without the SDK (to check what the SDK wrote)."""
    r = httpx.get(f"{url}/api/collections/{coll}/records", params=params, headers={"Authorization": token})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out
