"""Realtime in-process: the SSE stream and POST /api/realtime as PocketBase serves them, the
rules on every message (also after the subscriber's auth changes), options, batching, limits.

"Never receives" is checked without sleeping where possible: messages arrive in write order, so
once a later visible record has arrived, a hidden one written before it can no longer come."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from tests.harness import GIVE_UP, SSE, Api, app_of, subscribe


def opts(**query: str) -> str:
    return "?options=" + quote(json.dumps({"query": query}))


async def post(api: Api, coll: str, who: str | None = "su", **data: object) -> dict:
    r = await api.call("POST", f"/api/collections/{coll}/records", who, json=data)
    assert r.status_code == 200, r.text
    return r.json()


async def until(sse: SSE, record_id: str, count: int = 1) -> list[tuple[str, dict]]:
    """Messages up to and including the ``count``-th one about ``record_id`` (one per matching
    subscription: their order among one client's subscriptions is not defined, as in PocketBase)."""
    got = []
    while True:
        topic, msg = await sse.message()
        got.append((topic, msg))
        if msg["record"]["id"] == record_id:
            count -= 1
            if count == 0:
                return got


async def test_connect_and_subscription_form(api: Api):
    app = app_of(api)
    async with SSE(app) as sse:
        assert sse.status == 200
        assert sse.headers[b"content-type"] == b"text/event-stream"
        assert sse.headers[b"cache-control"] == b"no-store"
        assert len(sse.client_id) == 40 and sse.client_id.isalnum()

        r = await subscribe(api, sse, ["comments/*"])
        assert r.status_code == 204 and r.content == b""
        bad = [
            ({"subscriptions": ["x"]}, "clientId", "validation_required"),
            ({"clientId": sse.client_id, "subscriptions": "x"}, "subscriptions", "validation_invalid_value"),
            ({"clientId": sse.client_id, "subscriptions": ["a"] * 1001}, "subscriptions", "validation_length_too_long"),
        ]
        for body, key, code in bad:
            r = await api.client.post("/api/realtime", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["data"][key]["code"] == code, r.text
        r = await api.client.post("/api/realtime", json={"clientId": sse.client_id, "subscriptions": ["x" * 2501]})
        assert r.status_code == 400
        assert r.json()["data"]["subscriptions"]["0"]["code"] == "validation_length_too_long"
        r = await api.client.post("/api/realtime", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["status"] == 400
        for cid in ("nope", "A" * 40, sse.client_id[:8] + "x" * 32):
            r = await api.client.post("/api/realtime", json={"clientId": cid, "subscriptions": []})
            assert r.status_code == 404, r.text
            assert r.json()["message"] == "Missing or invalid client id."
        r = await api.client.put("/api/realtime")
        assert r.status_code == 405


async def test_collection_topic_create_update_delete(api: Api):
    coll_id = api.engine.registry.get("comments").id
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, ["comments/*", f"{coll_id}/*", "comments"])).status_code == 204
        rec = await post(api, "comments", message="hi")
        got = {}
        for _ in range(3):
            topic, msg = await sse.message()
            got[topic] = msg
        assert set(got) == {"comments/*", f"{coll_id}/*", "comments"}
        msg = got["comments/*"]
        assert msg["action"] == "create"
        assert msg["record"] == {**rec}
        assert list(msg["record"])[:2] == ["collectionId", "collectionName"]

        assert (await subscribe(api, sse, ["comments/*"])).status_code == 204  # replaces the set
        r = await api.call("PATCH", f"/api/collections/comments/records/{rec['id']}", "su", json={"message": "ho"})
        assert r.status_code == 200
        r = await api.call("DELETE", f"/api/collections/comments/records/{rec['id']}", "su")
        assert r.status_code == 204
        topic, msg = await sse.message()
        assert (topic, msg["action"], msg["record"]["message"]) == ("comments/*", "update", "ho")
        topic, msg = await sse.message()
        assert (topic, msg["action"], msg["record"]["message"]) == ("comments/*", "delete", "ho")
        await sse.nothing(0.2)


async def test_record_topic_and_unsubscribe(api: Api):
    a = await post(api, "comments", message="a")
    b = await post(api, "comments", message="b")
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, [f"comments/{a['id']}"])).status_code == 204
        for rec in (b, a):
            r = await api.call(
                "PATCH", f"/api/collections/comments/records/{rec['id']}", "su", json={"message": rec["message"] + "!"}
            )
            assert r.status_code == 200
        topic, msg = await sse.message()
        assert topic == f"comments/{a['id']}" and msg["record"]["message"] == "a!"
        assert (await subscribe(api, sse, [])).status_code == 204  # unsubscribe from everything
        await api.call("PATCH", f"/api/collections/comments/records/{a['id']}", "su", json={"message": "a!!"})
        await sse.nothing()


async def test_filter_fields_and_expand_options(api: Api):
    post_rec = await post(api, "posts", "alice", title="Public", published=True, author=api.users["alice"])
    async with SSE(app_of(api)) as guest, SSE(app_of(api)) as alice:
        topic_f = "comments/*" + opts(filter='message ~ "keep"', fields="id,message")
        topic_e = "comments/*" + opts(expand="post.author")
        for sse, who in ((guest, None), (alice, "alice")):
            assert (await subscribe(api, sse, [topic_f, topic_e], who)).status_code == 204
        await post(api, "comments", message="skip me", post=post_rec["id"])
        kept = await post(api, "comments", message="keep me", post=post_rec["id"])
        for sse, who in ((guest, None), (alice, "alice")):
            got = await until(sse, kept["id"], count=2)  # both subscriptions match it
            by_topic: dict[str, list] = {}
            for topic, msg in got:
                by_topic.setdefault(topic, []).append(msg["record"])
            assert by_topic[topic_f] == [{"id": kept["id"], "message": "keep me"}]
            # Expand runs under each related collection's view rule for this subscriber: users'
            # view rule lets alice see herself, not guests.
            expanded = by_topic[topic_e][0]["expand"]["post"]
            assert expanded["id"] == post_rec["id"]
            if who == "alice":
                assert expanded["expand"]["author"]["id"] == api.users["alice"]
            else:
                assert "author" not in expanded.get("expand", {})


async def test_rules_decide_who_receives_what(api: Api):
    """posts: list/view rule ``published = true || author = @request.auth.id``; vault: locked."""
    async with SSE(app_of(api)) as guest, SSE(app_of(api)) as alice, SSE(app_of(api)) as bob, SSE(app_of(api)) as su:
        for sse, who in ((guest, None), (alice, "alice"), (bob, "bob"), (su, "su")):
            assert (await subscribe(api, sse, ["posts/*", "vault/*"], who)).status_code == 204
        hidden = await post(api, "posts", "alice", title="draft", published=False, author=api.users["alice"])
        await post(api, "vault", secret="s3")
        r = await api.call("DELETE", f"/api/collections/posts/records/{hidden['id']}", "alice")
        assert r.status_code == 204
        public = await post(api, "posts", "alice", title="out", published=True, author=api.users["alice"])

        seen = {
            who: [
                (t, m["action"], m["record"].get("title") or m["record"].get("secret"))
                for t, m in await until(sse, public["id"])
            ]
            for sse, who in ((guest, "guest"), (alice, "alice"), (bob, "bob"), (su, "su"))
        }
        assert seen["guest"] == [("posts/*", "create", "out")]
        assert seen["bob"] == [("posts/*", "create", "out")]
        assert seen["alice"] == [
            ("posts/*", "create", "draft"),
            ("posts/*", "delete", "draft"),
            ("posts/*", "create", "out"),
        ]
        assert seen["su"] == [
            ("posts/*", "create", "draft"),
            ("vault/*", "create", "s3"),
            ("posts/*", "delete", "draft"),
            ("posts/*", "create", "out"),
        ]


async def test_hidden_fields_and_emails(api: Api):
    users = api.engine.registry.get("users")
    await api.engine.apply(
        lambda: [c if c.name != "users" else _public_users(users) for c in api.engine.registry.all()]
    )
    async with SSE(app_of(api)) as bob, SSE(app_of(api)) as su:
        for sse, who in ((bob, "bob"), (su, "su")):
            assert (await subscribe(api, sse, ["users/*"], who)).status_code == 204
        for name in ("alice", "bob"):
            r = await api.call("PATCH", f"/api/collections/users/records/{api.users[name]}", "su", json={"name": "X"})
            assert r.status_code == 200
        b_alice, b_bob = [m["record"] for _, m in [await bob.message(), await bob.message()]]
        s_alice, _ = [m["record"] for _, m in [await su.message(), await su.message()]]
        assert "email" not in b_alice  # another user's, emailVisibility off
        assert b_bob["email"] == "bob@example.com"  # her own
        assert s_alice["email"] == "alice@example.com"
        for rec in (b_alice, b_bob, s_alice):
            assert "password" not in rec and "tokenKey" not in rec


def _public_users(users):
    import msgspec

    return msgspec.structs.replace(users, listRule="", viewRule="")


async def test_auth_changes(api: Api):
    """guest -> user allowed; user -> other user or back to guest refused; a password change
    (new tokenKey) or a deleted auth record turns the subscriber into a guest."""
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, ["posts/*"])).status_code == 204
        assert (await subscribe(api, sse, ["posts/*"], "alice")).status_code == 204
        for who in ("bob", "su", None):
            r = await subscribe(api, sse, ["posts/*"], who)
            assert r.status_code == 403, r.text
            assert r.json()["message"] == "The current and the previous request authorization don't match."
        draft = await post(api, "posts", "alice", title="d1", published=False, author=api.users["alice"])
        assert (await sse.message())[1]["record"]["id"] == draft["id"]

        r = await api.call(
            "PATCH",
            f"/api/collections/users/records/{api.users['alice']}",
            "su",
            json={"password": "password-456", "passwordConfirm": "password-456"},
        )
        assert r.status_code == 200
        await post(api, "posts", "su", title="d2", published=False, author=api.users["alice"])
        public = await post(api, "posts", "su", title="p", published=True, author=api.users["alice"])
        assert [m["record"]["title"] for _, m in await until(sse, public["id"])] == ["p"]
        # Now a guest: the old token is no auth, a fresh token of the same user signs in again.
        assert (await subscribe(api, sse, ["posts/*"], "alice")).status_code == 204
        r = await api.client.post(
            "/api/collections/users/auth-with-password",
            json={"identity": "alice@example.com", "password": "password-456"},
        )
        assert (await subscribe(api, sse, ["posts/*"], token=r.json()["token"])).status_code == 204
        d3 = await post(api, "posts", "su", title="d3", published=False, author=api.users["alice"])
        assert (await sse.message())[1]["record"]["id"] == d3["id"]

    async with SSE(app_of(api)) as sse:  # the auth record deleted
        assert (await subscribe(api, sse, ["posts/*"], "bob")).status_code == 204
        r = await api.call("DELETE", f"/api/collections/users/records/{api.users['bob']}", "su")
        assert r.status_code == 204
        await post(api, "posts", "su", title="bob's", published=False, author=api.users["alice"])
        public = await post(api, "posts", "su", title="p2", published=True)
        assert [m["record"]["title"] for _, m in await until(sse, public["id"])] == ["p2"]


async def test_one_query_per_group_not_per_subscriber(api: Api):
    """40 guests + alice + bob on ``posts/*`` (a rule that reads @request.auth): the batch is
    checked with 3 queries (guests, alice, bob), not 42."""
    db = api.engine.db
    checks: list[str] = []
    original = db.fetch

    async def counting(sql, params=()):
        if '"__rt_n"' in sql:
            checks.append(sql)
        return await original(sql, params)

    clients = [SSE(app_of(api)) for _ in range(42)]
    for c in clients:
        await c.__aenter__()
    try:
        for i, c in enumerate(clients):
            who = "alice" if i == 0 else "bob" if i == 1 else None
            assert (await subscribe(api, c, ["posts/*"], who)).status_code == 204
        db.fetch = counting  # type: ignore[method-assign]
        rec = await post(api, "posts", "su", title="p", published=True)
        for c in clients:
            assert (await c.message())[1]["record"]["id"] == rec["id"]
        assert len(checks) == 3, checks
    finally:
        db.fetch = original  # type: ignore[method-assign]
        for c in clients:
            await c.close()


async def test_batch_of_events_from_one_write(api: Api):
    """A cascade delete writes several events in one transaction: each is judged on its own
    values, and they arrive in order."""
    p = await post(api, "posts", "alice", title="parent", published=True, author=api.users["alice"])
    c1 = await post(api, "comments", message="c1", post=p["id"])
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, ["comments/*", "posts/*"])).status_code == 204
        r = await api.call("DELETE", f"/api/collections/posts/records/{p['id']}", "alice")
        assert r.status_code == 204
        got = [(t, m["action"], m["record"]["id"]) for t, m in [await sse.message(), await sse.message()]]
        assert got == [("comments/*", "delete", c1["id"]), ("posts/*", "delete", p["id"])]


async def test_slow_client_is_dropped(api: Api):
    """A client whose connection stops taking data is closed once its buffer passes the limit;
    the buffer never grows past it, and the others keep receiving."""
    broker = api.engine.realtime
    broker.config.buffer_limit = 4096
    stalled = asyncio.Event()

    class Stalled(SSE):
        async def _send(self, message: dict) -> None:
            if message.get("body", b"").count(b"event:comments"):
                stalled.set()
                await asyncio.Event().wait()  # a peer that never reads: the write never completes
            await super()._send(message)

    async with Stalled(app_of(api)) as slow, SSE(app_of(api)) as ok:
        for sse in (slow, ok):
            assert (await subscribe(api, sse, ["comments/*"])).status_code == 204
        ids = []
        for i in range(40):
            ids.append((await post(api, "comments", message="x" * 300 + str(i)))["id"])
            client = broker.clients.get(slow.client_id)
            if client is not None:
                assert client._size <= 4096
        await asyncio.wait_for(slow.ended.wait(), GIVE_UP)
        assert stalled.is_set()
        assert slow.client_id not in broker.clients
        got = [(await ok.message())[1]["record"]["id"] for _ in ids]
        assert got == ids


async def test_idle_timeout_closes_the_stream(api: Api):
    api.engine.realtime.config.idle_timeout = 0.3
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, ["comments/*"])).status_code == 204
        await asyncio.wait_for(sse.ended.wait(), GIVE_UP)
        assert sse.client_id not in api.engine.realtime.clients
        r = await subscribe(api, sse, ["comments/*"])
        assert r.status_code == 404


async def test_oauth2_redirect_reaches_the_subscribed_client(api: Api):
    async with SSE(app_of(api)) as sse:
        r = await api.client.get(f"/api/oauth2-redirect?state={sse.client_id}&code=abc")
        assert r.status_code == 400  # not subscribed to @oauth2
        assert (await subscribe(api, sse, ["@oauth2"])).status_code == 204
        r = await api.client.get(f"/api/oauth2-redirect?state={sse.client_id}&code=abc")
        assert r.status_code == 200, r.text
        event = await sse.next()
        assert event["event"] == "@oauth2"
        assert json.loads(event["data"]) == {"state": sse.client_id, "code": "abc"}
        # A refusal at the provider reaches the app too, and the page says the sign-in failed.
        r = await api.client.get(f"/api/oauth2-redirect?state={sse.client_id}&error=access_denied")
        assert r.status_code == 400
        event = await sse.next()
        assert json.loads(event["data"]) == {"state": sse.client_id, "error": "access_denied"}
        r = await api.client.get("/api/oauth2-redirect?state=unknown&code=abc")
        assert r.status_code == 400
