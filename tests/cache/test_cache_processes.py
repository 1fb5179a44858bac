"""The query cache is never stale across processes (issue 16 item 5, docs/cache.md).

Three ``baas serve`` processes share one database: A and B cache every read (``BAAS_CACHE_MIN_US=0``:
the cheap ones too), C caches none (``BAAS_CACHE_MB=0``).
A property test (hypothesis) draws lists, counts and views of several requesters (guest, two users,
a superuser) under rules that read a relation and the requester, warms A's and B's caches with
them, then writes through any of the three processes — a record, the related record the rule
reads, a user — and reads again through A and B: every answer after the write's acknowledgement
must equal C's uncached one. Nothing waits between the write and the reads (no notification to
arrive): each read checks the data versions itself.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.servers import running_server, second_server

EMAIL, PASSWORD = "root@example.com", "root-password-1"
RULE = 'owner.active = true && (public = true || author = @request.auth.id || @request.auth.role = "boss")'

FILTERS = ["", "n > 2", 'title ~ "a"', "owner.name = 'o1'", "public = false", 'author.name != ""']
SORTS = ["", "-n", "title,-created", "owner.name,n", "-@rowid"]
WHO = ["guest", "ann", "bob", "su"]


def _json(r: httpx.Response) -> Any:
    return (r.status_code, r.json() if r.content else None)


class World:
    """The three servers, the requesters' headers and the ids written so far."""

    def __init__(self, a: str, b: str, c: str) -> None:
        self.http = httpx.Client(timeout=30)
        self.urls = {"A": a, "B": b, "C": c}
        self.headers: dict[str, dict[str, str]] = {"guest": {}}
        self.notes: list[str] = []
        self.owners: list[str] = []
        self.users: dict[str, str] = {}

    def call(self, where: str, method: str, path: str, who: str = "su", **kw: Any) -> httpx.Response:
        return self.http.request(method, self.urls[where] + path, headers=self.headers[who], **kw)

    def ok(self, where: str, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self.call(where, method, path, **kw)
        assert r.status_code in (200, 204), r.text
        return r.json() if r.content else {}


def _setup(w: World) -> None:
    r = w.http.post(
        w.urls["A"] + "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
    )
    w.headers["su"] = {"Authorization": r.json()["token"]}
    users = w.ok("A", "GET", "/api/collections/users")
    w.ok(
        "A",
        "PATCH",
        f"/api/collections/{users['id']}",
        json={"fields": [*users["fields"], {"name": "role", "type": "text"}], "listRule": "", "viewRule": ""},
    )
    owners = w.ok(
        "A",
        "POST",
        "/api/collections",
        json={
            "name": "owners",
            "listRule": "",
            "viewRule": "",
            "fields": [{"name": "name", "type": "text"}, {"name": "active", "type": "bool"}],
        },
    )
    w.ok(
        "A",
        "POST",
        "/api/collections",
        json={
            "name": "notes",
            "listRule": RULE,
            "viewRule": RULE,
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "public", "type": "bool"},
                {"name": "owner", "type": "relation", "collectionId": owners["id"], "maxSelect": 1},
                {"name": "author", "type": "relation", "collectionId": users["id"], "maxSelect": 1},
            ],
        },
    )
    for name in ("ann", "bob"):
        body = {"email": f"{name}@example.com", "password": "password-123", "passwordConfirm": "password-123"}
        rec = w.ok("A", "POST", "/api/collections/users/records", json={**body, "name": name})
        w.users[name] = rec["id"]
        token = w.ok(
            "A",
            "POST",
            "/api/collections/users/auth-with-password",
            json={"identity": f"{name}@example.com", "password": "password-123"},
        )["token"]
        w.headers[name] = {"Authorization": token}
    for i in range(3):
        w.owners.append(
            w.ok("A", "POST", "/api/collections/owners/records", json={"name": f"o{i}", "active": True})["id"]
        )
    for where in ("B", "C"):  # the other processes see the new collections (schema reload) before the test reads
        for _ in range(200):
            if w.call(where, "GET", "/api/collections/notes/records").status_code == 200:
                break


reads = st.builds(
    lambda who, flt, sort, page, per, total, expand: (
        who,
        {
            "filter": flt,
            "sort": sort,
            "page": page,
            "perPage": per,
            **({"skipTotal": "1"} if not total else {}),
            **({"expand": expand} if expand else {}),
        },
    ),
    st.sampled_from(WHO),
    st.sampled_from(FILTERS),
    st.sampled_from(SORTS),
    st.integers(1, 3),
    st.sampled_from([1, 2, 5, 30]),
    st.booleans(),
    st.sampled_from(["", "owner", "author,owner"]),
)
writes = st.tuples(
    st.sampled_from("ABC"),  # the process that writes
    st.sampled_from(["create", "update", "delete", "owner", "user"]),
    st.integers(0, 1000),  # which record, and values
    st.sampled_from(["ann", "bob", "su"]),
)


def _write(w: World, where: str, kind: str, k: int, who: str) -> None:
    if kind == "create" or not w.notes:
        body = {
            "title": "abc"[k % 3] * (1 + k % 4),
            "n": k % 7,
            "public": k % 2 == 0,
            "owner": w.owners[k % len(w.owners)],
            "author": w.users.get(who, ""),
        }
        w.notes.append(w.ok(where, "POST", "/api/collections/notes/records", json=body)["id"])
    elif kind == "update":
        rid = w.notes[k % len(w.notes)]
        w.ok(where, "PATCH", f"/api/collections/notes/records/{rid}", json={"n": k % 5, "public": k % 3 == 0})
    elif kind == "delete":
        rid = w.notes.pop(k % len(w.notes))
        w.ok(where, "DELETE", f"/api/collections/notes/records/{rid}")
    elif kind == "owner":  # what the rule reads through the relation, not the listed collection
        oid = w.owners[k % len(w.owners)]
        w.ok(where, "PATCH", f"/api/collections/owners/records/{oid}", json={"active": k % 2 == 0, "name": f"o{k % 3}"})
    else:  # the requester's own record: what @request.auth.role reads, and expand=author shows
        uid = w.users["ann" if k % 2 else "bob"]
        w.ok(where, "PATCH", f"/api/collections/users/records/{uid}", json={"role": "boss" if k % 3 == 0 else ""})


def _check(w: World, queries: list[tuple[str, dict[str, Any]]]) -> None:
    for who, params in queries:
        want = _json(w.call("C", "GET", "/api/collections/notes/records", who, params=params))
        for where in ("A", "B"):
            got = _json(w.call(where, "GET", "/api/collections/notes/records", who, params=params))
            assert got == want, (where, who, params)
        for rid in w.notes[:2]:
            want_one = _json(w.call("C", "GET", f"/api/collections/notes/records/{rid}", who))
            assert _json(w.call("B", "GET", f"/api/collections/notes/records/{rid}", who)) == want_one


async def test_reads_after_a_write_equal_uncached_reads(tmp_path):
    every = {"BAAS_CACHE_MIN_US": "0"}  # keep every read, however cheap: the most to get wrong
    async with (
        running_server(tmp_path, superuser=(EMAIL, PASSWORD), env=every) as a,
        second_server(a) as b,
        second_server(a, env={"BAAS_CACHE_MB": "0"}, name="serve-uncached") as c,
    ):
        w = World(a.url, b.url, c.url)
        _setup(w)

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(queries=st.lists(reads, min_size=1, max_size=4), steps=st.lists(writes, min_size=1, max_size=6))
        def run(queries: list[tuple[str, dict[str, Any]]], steps: list[tuple[str, str, int, str]]) -> None:
            for where, kind, k, who in steps:
                _check(w, queries)  # warm both caches (and compare) before the write
                _write(w, where, kind, k, who)
                _check(w, queries)  # at once after the acknowledgement: nothing waited for

        run()
        su = w.headers["su"]
        metrics = w.http.get(a.url + "/metrics", headers=su).text + w.http.get(b.url + "/metrics", headers=su).text
        hits = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith('baas_query_cache_reads_total{result="hit"}')
        )
        assert hits > 0, "the caches were never used: the test proved nothing"
        for srv in (a, b, c):
            assert "Traceback" not in srv.log_text()
