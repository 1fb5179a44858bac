"""Create the benchmark collections and seed the same deterministic data in a server.

Everything goes through the PocketBase REST API, so one code path drives both servers.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
USER_PASSWORD = "bench-user-password"
BATCH_SIZE = 500
PRIVATE_RULE = '@request.auth.id != ""'

BODY_TEXT = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
)


def make_id(kind: str, i: int) -> str:
    """A deterministic 15-char ``[a-z0-9]`` id for item `i` of `kind`."""
    digest = hashlib.sha256(f"{kind}:{i}".encode()).digest()
    return "".join(ID_ALPHABET[b % len(ID_ALPHABET)] for b in digest[:15])


def post_body(i: int, author: str) -> dict[str, Any]:
    """The seeded content of post `i`."""
    start = (i * 7) % 80
    return {
        "id": make_id("post", i),
        "title": f"Post number {i}",
        "body": BODY_TEXT[start:] + BODY_TEXT[:start],
        "views": i % 1000,
        "published": i % 2 == 0,
        "author": author,
    }


def user_body(i: int) -> dict[str, Any]:
    """The seeded content of user `i`."""
    return {
        "id": make_id("user", i),
        "email": f"user{i}@example.com",
        "emailVisibility": False,
        "verified": True,
        "name": f"User {i}",
        "password": USER_PASSWORD,
        "passwordConfirm": USER_PASSWORD,
    }


def posts_fields(users_id: str) -> list[dict[str, Any]]:
    """The field list of the `posts`-shaped collections."""
    return [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "text"},
        {"name": "views", "type": "number"},
        {"name": "published", "type": "bool"},
        {
            "name": "author",
            "type": "relation",
            "collectionId": users_id,
            "maxSelect": 1,
            "cascadeDelete": False,
        },
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]


@dataclass
class Seeded:
    """What the load generator needs from a seeded server."""

    post_ids: list[str]
    user_ids: list[str]
    user_token: str
    seed_seconds: float
    used_batch: bool


class SetupError(RuntimeError):
    """A setup request was refused."""


def _check(resp: httpx.Response, what: str) -> dict[str, Any]:
    if resp.status_code >= 300:
        raise SetupError(f"{what}: HTTP {resp.status_code} {resp.text[:500]}")
    return resp.json() if resp.content else {}


class Seeder:
    """Drives one server's REST API as a superuser."""

    def __init__(self, base_url: str, log: Any = print) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=120)
        self.log = log
        token = _check(
            self.client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            ),
            "superuser auth-with-password",
        )["token"]
        self.client.headers["Authorization"] = token

    def close(self) -> None:
        self.client.close()

    def enable_batch(self) -> bool:
        """Turn on the batch API (off by default in PocketBase); False if refused."""
        resp = self.client.patch("/api/settings", json={"batch": {"enabled": True, "maxRequests": 1000, "timeout": 60}})
        return resp.status_code < 300

    def upsert_users(self) -> str:
        """Ensure an auth collection `users` exists with public list/view; return its id."""
        resp = self.client.get("/api/collections/users")
        if resp.status_code == 404:
            data = _check(
                self.client.post(
                    "/api/collections",
                    json={
                        "name": "users",
                        "type": "auth",
                        "fields": [
                            {"name": "name", "type": "text"},
                            {"name": "created", "type": "autodate", "onCreate": True},
                            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
                        ],
                    },
                ),
                "create collection users",
            )
        else:
            data = _check(resp, "get collection users")
        # Public list/view so that `expand=author` actually expands for anonymous
        # clients (PocketBase only expands relations the client may view).
        _check(
            self.client.patch(f"/api/collections/{data['id']}", json={"listRule": "", "viewRule": ""}),
            "update users rules",
        )
        return str(data["id"])

    def create_posts_collection(self, name: str, users_id: str, rule: str) -> None:
        """Create a `posts`-shaped collection with list/view `rule`, public writes."""
        _check(
            self.client.post(
                "/api/collections",
                json={
                    "name": name,
                    "type": "base",
                    "listRule": rule,
                    "viewRule": rule,
                    "createRule": "",
                    "updateRule": "",
                    "deleteRule": None,
                    "fields": posts_fields(users_id),
                },
            ),
            f"create collection {name}",
        )

    def insert(self, collection: str, bodies: list[dict[str, Any]], use_batch: bool) -> bool:
        """Insert records via /api/batch, or concurrent single creates; returns use_batch."""
        if use_batch:
            for start in range(0, len(bodies), BATCH_SIZE):
                chunk = bodies[start : start + BATCH_SIZE]
                resp = self.client.post(
                    "/api/batch",
                    json={
                        "requests": [
                            {"method": "POST", "url": f"/api/collections/{collection}/records", "body": body}
                            for body in chunk
                        ]
                    },
                )
                if start == 0 and 400 <= resp.status_code < 500:
                    # Disabled or missing batch API; a real data error resurfaces below.
                    self.log(
                        f"  batch API refused (HTTP {resp.status_code} "
                        f"{resp.text[:200]}); falling back to single creates"
                    )
                    return self.insert(collection, bodies, use_batch=False)
                _check(resp, f"batch insert into {collection}")
            return True
        asyncio.run(self._insert_single(collection, bodies))
        return False

    async def _insert_single(self, collection: str, bodies: list[dict[str, Any]]) -> None:
        sem = asyncio.Semaphore(16)
        async with httpx.AsyncClient(
            base_url=str(self.client.base_url), headers=dict(self.client.headers), timeout=120
        ) as client:

            async def one(body: dict[str, Any]) -> None:
                async with sem:
                    resp = await client.post(f"/api/collections/{collection}/records", json=body)
                    _check(resp, f"create in {collection}")

            await asyncio.gather(*(one(b) for b in bodies))

    def count(self, collection: str) -> int:
        """totalItems of `collection`."""
        return int(
            _check(
                self.client.get(f"/api/collections/{collection}/records", params={"perPage": 1}),
                f"count {collection}",
            )["totalItems"]
        )


def seed(base_url: str, rows: int, users: int, log: Any = print) -> Seeded:
    """Create the collections and insert `users` users and `rows` posts (twice: public and
    private). Returns the seeded ids and a user token."""
    t0 = time.monotonic()
    s = Seeder(base_url, log)
    try:
        use_batch = s.enable_batch()
        users_id = s.upsert_users()
        s.create_posts_collection("posts", users_id, "")
        s.create_posts_collection("posts_private", users_id, PRIVATE_RULE)
        # Creates go to their own collection so the read workloads always see `rows` rows.
        s.create_posts_collection("posts_new", users_id, "")
        user_bodies = [user_body(i) for i in range(users)]
        # Single concurrent creates: password hashing makes big user batches hit the
        # batch timeout, and parallel requests spread the hashing over the cores.
        s.insert("users", user_bodies, use_batch=False)
        user_ids = [u["id"] for u in user_bodies]
        post_bodies = [post_body(i, user_ids[i % users]) for i in range(rows)]
        for name in ("posts", "posts_private"):
            use_batch = s.insert(name, post_bodies, use_batch)
            got = s.count(name)
            if got != rows:
                raise SetupError(f"{name}: seeded {rows} rows but the server counts {got}")
        token = _check(
            httpx.post(
                base_url + "/api/collections/users/auth-with-password",
                json={"identity": user_bodies[0]["email"], "password": USER_PASSWORD},
                timeout=60,
            ),
            "user auth-with-password",
        )["token"]
    finally:
        s.close()
    return Seeded(
        post_ids=[p["id"] for p in post_bodies],
        user_ids=user_ids,
        user_token=str(token),
        seed_seconds=time.monotonic() - t0,
        used_batch=use_batch,
    )
