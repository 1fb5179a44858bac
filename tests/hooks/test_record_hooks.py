"""Record hooks through the real API: before-hooks inside the write transaction around the write,
after-hooks after the commit, list/view request hooks around the read, batch requests."""

from __future__ import annotations

import logging

from baas.errors import BadRequest, Forbidden
from baas.hooks import RecordEvent, RecordListEvent, RecordViewEvent
from tests.harness import Api

C = "/api/collections/comments/records"


async def count_rows(api: Api, table: str, where: str = "", params: list | None = None) -> int:
    return await api.engine.db.fetchval(f'SELECT count(*) FROM "{table}"{where}', params or [])


async def events_for(api: Api, record_id: str) -> list[str]:
    rows = await api.engine.db.fetch('SELECT "action" FROM "_events" WHERE "record_id" = ? ORDER BY "id"', [record_id])
    return [r[0] for r in rows]


async def test_before_create_changes_the_record_which_is_validated_stored_and_evented(api: Api):
    seen: dict = {}

    async def shout(e: RecordEvent) -> None:
        seen["before"] = dict(e.record)
        seen["auth"] = e.auth
        e.record["message"] = e.record["message"].upper() + "!"
        await e.next()
        seen["after"] = dict(e.record)

    api.engine.hooks.on_record_create.bind_for("comments", shout)
    r = await api.call("POST", C, "alice", json={"message": "hello"})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["message"] == "HELLO!"
    assert seen["before"]["message"] == "hello" and seen["auth"]["id"] == api.users["alice"]
    assert seen["after"]["id"] == rec["id"] and seen["after"]["created"]  # stored values after next()
    stored = await api.engine.db.fetchval('SELECT "message" FROM "comments" WHERE "id" = ?', [rec["id"]])
    assert stored == "HELLO!"
    assert await events_for(api, rec["id"]) == ["create"]


async def test_values_set_by_a_hook_are_validated(api: Api):
    async def bad(e: RecordEvent) -> None:
        e.record["post"] = "no-such-post-id"  # a relation to a missing record
        e.record["nonsense"] = 1
        await e.next()

    api.engine.hooks.on_record_create.bind_for("comments", bad)
    r = await api.call("POST", C, json={"message": "x"})
    assert r.status_code == 400, r.text
    data = r.json()["data"]
    assert data["post"]["code"] == "validation_missing_rel_records"
    assert data["nonsense"]["code"] == "validation_unknown_field"
    assert await count_rows(api, "comments") == 0


async def test_before_hook_abort_is_a_clean_error_and_writes_nothing(api: Api):
    async def refuse(e: RecordEvent) -> None:
        if "spam" in e.record["message"]:
            raise BadRequest("No spam.", {"message": {"code": "validation_spam", "message": "Spam."}})
        await e.next()

    api.engine.hooks.on_record_create.bind(refuse, tags="comments")
    r = await api.call("POST", C, json={"message": "buy spam"})
    assert r.status_code == 400
    assert r.json() == {
        "status": 400,
        "message": "No spam.",
        "data": {"message": {"code": "validation_spam", "message": "Spam."}},
    }
    assert await count_rows(api, "comments") == 0
    assert await count_rows(api, "_events", ' WHERE "collection" = ?', ["comments"]) == 0
    ok = await api.call("POST", C, json={"message": "fine"})
    assert ok.status_code == 200


async def test_raising_after_next_rolls_the_write_back_with_the_hooks_own_writes(api: Api):
    async def write_then_refuse(e: RecordEvent) -> None:
        await e.next()  # the record and its event row are written …
        await e.db.execute('INSERT INTO "vault" ("id", "secret") VALUES (?, ?)', ["vaultrow1234567", "s"])
        raise Forbidden("Changed my mind.")  # … and rolled back with everything else

    api.engine.hooks.on_record_create.bind_for("comments", write_then_refuse)
    r = await api.call("POST", C, json={"message": "x", "id": "commentid123456"})
    assert r.status_code == 403 and r.json()["message"] == "Changed my mind."
    assert await count_rows(api, "comments") == 0
    assert await count_rows(api, "vault") == 0
    assert await events_for(api, "commentid123456") == []


async def test_a_chain_stopped_before_the_write_answers_400_and_writes_nothing(api: Api):
    async def swallow(e: RecordEvent) -> None:
        return None  # no e.next()

    api.engine.hooks.on_record_create.bind_for("comments", swallow)
    r = await api.call("POST", C, json={"message": "x"})
    assert r.status_code == 400 and r.json()["message"] == "Failed to create record."
    assert await count_rows(api, "comments") == 0


async def test_an_unexpected_exception_is_a_logged_500_and_writes_nothing(api: Api, caplog):
    async def broken(e: RecordEvent) -> None:
        await e.next()
        {}["missing"]

    api.engine.hooks.on_record_create.bind_for("comments", broken)
    with caplog.at_level(logging.ERROR):
        r = await api.call("POST", C, json={"message": "x"})
    assert r.status_code == 500
    assert r.json() == {"status": 500, "message": "Something went wrong while processing your request.", "data": {}}
    assert "broken" in caplog.text and "KeyError" in caplog.text
    assert await count_rows(api, "comments") == 0


async def test_tagged_hooks_leave_other_collections_on_the_plain_path(api: Api):
    calls: list[str] = []

    async def only_posts(e: RecordEvent) -> None:
        calls.append(e.collection.name)
        await e.next()

    api.engine.hooks.on_record_create.bind_for("posts", only_posts)
    assert (await api.call("POST", C, json={"message": "x"})).status_code == 200
    r = await api.call(
        "POST", "/api/collections/posts/records", "alice", json={"title": "t", "author": api.users["alice"]}
    )
    assert r.status_code == 200, r.text
    assert calls == ["posts"]


async def test_update_hook_sees_the_original_and_its_changes_are_written(api: Api):
    created = (await api.call("POST", C, json={"message": "first"})).json()
    seen: dict = {}

    async def edit(e: RecordEvent) -> None:
        seen["original"] = e.original["message"]
        seen["incoming"] = e.record["message"]
        e.record["message"] += " (edited)"
        await e.next()

    api.engine.hooks.on_record_update.bind_for("comments", edit)
    r = await api.call("PATCH", f"{C}/{created['id']}", json={"message": "second"})
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "second (edited)"
    assert seen == {"original": "first", "incoming": "second"}
    assert await events_for(api, created["id"]) == ["create", "update"]

    async def move(e: RecordEvent) -> None:
        e.record["id"] = "anotherid123456"
        await e.next()

    api.engine.hooks.on_record_update.bind_for("comments", move, priority=-1)
    r = await api.call("PATCH", f"{C}/{created['id']}", json={"message": "third"})
    assert r.status_code == 400 and r.json()["data"]["id"]["code"] == "validation_id_change"
    assert (
        await api.engine.db.fetchval('SELECT "message" FROM "comments" WHERE "id" = ?', [created["id"]])
        == "second (edited)"
    )


async def test_a_hook_may_touch_a_field_the_body_did_not(api: Api):
    post = (
        await api.call(
            "POST", "/api/collections/posts/records", "alice", json={"title": "t", "author": api.users["alice"]}
        )
    ).json()

    async def count_views(e: RecordEvent) -> None:
        e.record["views"] = (e.original["views"] or 0) + 1
        await e.next()

    api.engine.hooks.on_record_update.bind_for("posts", count_views)
    r = await api.call("PATCH", f"/api/collections/posts/records/{post['id']}", "alice", json={"title": "t2"})
    assert r.status_code == 200, r.text
    assert r.json()["views"] == 1 and r.json()["title"] == "t2"

    originals: list = []

    async def tag(e: RecordEvent) -> None:
        e.record["tags"].append("d")  # changed in place: still seen as a change
        originals.append(list(e.original["tags"]))
        await e.next()

    api.engine.hooks.on_record_update.bind_for("posts", tag)
    r = await api.call("PATCH", f"/api/collections/posts/records/{post['id']}", "alice", json={"tags": ["a"]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["a", "d"] and r.json()["views"] == 2
    assert originals == [[]]
    r = await api.call("PATCH", f"/api/collections/posts/records/{post['id']}", "alice", json={"title": "t3"})
    assert r.json()["tags"] == ["a", "d"]  # the hook's values are prepared like a body's (deduplicated)
    assert originals[-1] == ["a", "d"]


async def test_delete_hook_can_refuse_and_sees_the_record(api: Api):
    created = (await api.call("POST", C, json={"message": "keep me"})).json()
    seen: list[str] = []

    async def guard(e: RecordEvent) -> None:
        seen.append(e.record["message"])
        if e.record["message"] == "keep me":
            raise Forbidden("This one stays.")
        await e.next()

    api.engine.hooks.on_record_delete.bind_for("comments", guard)
    r = await api.call("DELETE", f"{C}/{created['id']}")
    assert r.status_code == 403
    assert await count_rows(api, "comments") == 1
    other = (await api.call("POST", C, json={"message": "bye"})).json()
    assert (await api.call("DELETE", f"{C}/{other['id']}")).status_code == 204
    assert seen == ["keep me", "bye"]
    assert await events_for(api, other["id"]) == ["create", "delete"]


async def test_after_hooks_run_after_the_commit_and_not_on_failure(api: Api):
    seen: list[tuple] = []

    async def after(e: RecordEvent) -> None:
        # Read through the database's own (reader) connections: only committed rows are visible.
        committed = await e.db.fetchval('SELECT count(*) FROM "comments" WHERE "id" = ?', [e.record["id"]])
        seen.append((e.action, e.record["id"], e.record.get("message"), committed, e.record["collectionName"]))
        await e.next()

    hooks = api.engine.hooks
    hooks.on_record_after_create_success.bind_for("comments", after)
    hooks.on_record_after_update_success.bind_for("comments", after)
    hooks.on_record_after_delete_success.bind_for("comments", after)
    rec = (await api.call("POST", C, json={"message": "a"})).json()
    await api.call("PATCH", f"{C}/{rec['id']}", json={"message": "b"})
    await api.call("DELETE", f"{C}/{rec['id']}")
    assert seen == [
        ("create", rec["id"], "a", 1, "comments"),
        ("update", rec["id"], "b", 1, "comments"),
        ("delete", rec["id"], "b", 0, "comments"),
    ]

    seen.clear()
    r = await api.call("POST", C, json={"message": "x", "post": "missing-post-id"})
    assert r.status_code == 400
    r = await api.call("PATCH", f"{C}/nosuchrecord123", json={"message": "x"})
    assert r.status_code == 404

    async def refuse(e: RecordEvent) -> None:
        raise BadRequest("no")

    hooks.on_record_create.bind_for("comments", refuse)
    assert (await api.call("POST", C, json={"message": "x"})).status_code == 400
    assert seen == []


async def test_a_failing_after_hook_is_logged_and_the_write_stands(api: Api, caplog):
    async def broken(e: RecordEvent) -> None:
        raise RuntimeError("mail server down")

    api.engine.hooks.on_record_after_create_success.bind(broken)
    with caplog.at_level(logging.ERROR):
        r = await api.call("POST", C, json={"message": "x"})
    assert r.status_code == 200
    assert "mail server down" in caplog.text
    assert await count_rows(api, "comments") == 1


async def test_list_request_hook_changes_params_and_result(api: Api):
    for i in range(3):
        await api.call("POST", C, json={"message": f"m{i}"})

    async def shape(e: RecordListEvent) -> None:
        e.params.perPage = 2  # the server decides the page size
        await e.next()
        e.result["items"] = [{**item, "shout": item["message"].upper()} for item in e.result["items"]]
        e.result["note"] = "via hook"

    api.engine.hooks.on_record_list_request.bind_for("comments", shape)
    r = await api.call("GET", C + "?sort=message")
    body = r.json()
    assert r.status_code == 200 and body["perPage"] == 2 and body["totalItems"] == 3 and body["note"] == "via hook"
    assert [i["shout"] for i in body["items"]] == ["M0", "M1"]
    # another collection is untouched
    r = await api.call("GET", "/api/collections/posts/records", "su")
    assert "note" not in r.json()


async def test_list_request_hook_can_answer_by_itself_or_refuse(api: Api):
    async def cached(e: RecordListEvent) -> None:
        if e.request.query.get("cached"):
            e.result = {"page": 1, "perPage": 30, "totalItems": 0, "totalPages": 0, "items": [], "cached": True}
            return
        if not e.request.auth:
            raise Forbidden("Sign in to list comments.")
        await e.next()

    api.engine.hooks.on_record_list_request.bind_for("comments", cached)
    assert (await api.call("GET", C + "?cached=1")).json()["cached"] is True
    r = await api.call("GET", C)
    assert r.status_code == 403 and r.json()["message"] == "Sign in to list comments."
    assert (await api.call("GET", C, "alice")).status_code == 200

    async def silent(e: RecordListEvent) -> None:
        return None

    api.engine.hooks.on_record_list_request.bind_for("comments", silent, priority=-1)
    assert (await api.call("GET", C, "alice")).status_code == 400


async def test_view_request_hook_alters_the_answer(api: Api):
    rec = (await api.call("POST", C, json={"message": "secret-ish"})).json()

    ids: list[str] = []

    async def redact(e: RecordViewEvent) -> None:
        ids.append(e.record_id)
        await e.next()
        if not e.request.is_superuser:
            e.result["message"] = "[redacted]"

    api.engine.hooks.on_record_view_request.bind_for("comments", redact)
    assert (await api.call("GET", f"{C}/{rec['id']}")).json()["message"] == "[redacted]"
    assert (await api.call("GET", f"{C}/{rec['id']}", "su")).json()["message"] == "secret-ish"
    assert (await api.call("GET", f"{C}/nosuchrecord123")).status_code == 404  # the read's own error
    assert ids == [rec["id"], rec["id"], "nosuchrecord123"]


async def test_batch_runs_hooks_per_operation_and_after_hooks_after_the_commit(api: Api):
    r = await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True, "maxRequests": 10}})
    assert r.status_code == 200, r.text
    before: list[str] = []
    after: list[tuple[str, str]] = []

    async def check(e: RecordEvent) -> None:
        before.append(e.record["message"])
        if e.record["message"] == "bad":
            raise BadRequest("Bad message.")
        e.record["message"] += "!"
        await e.next()

    async def done(e: RecordEvent) -> None:
        after.append((e.action, e.record["message"]))

    hooks = api.engine.hooks
    hooks.on_record_create.bind_for("comments", check)
    hooks.on_record_after_create_success.bind_for("comments", done)
    hooks.on_record_after_delete_success.bind_for("comments", done)

    ops = [
        {"method": "POST", "url": C, "body": {"message": "one"}},
        {"method": "POST", "url": C, "body": {"message": "bad"}},
    ]
    r = await api.call("POST", "/api/batch", json={"requests": ops})
    assert r.status_code == 400
    assert r.json()["data"]["requests"]["1"]["response"]["message"] == "Bad message."
    assert before == ["one", "bad"] and after == []
    assert await count_rows(api, "comments") == 0

    ops = [
        {"method": "POST", "url": C, "body": {"message": "one", "id": "batchcomment001"}},
        {"method": "POST", "url": C, "body": {"message": "two"}},
        {"method": "DELETE", "url": f"{C}/batchcomment001"},
    ]
    r = await api.call("POST", "/api/batch", json={"requests": ops})
    assert r.status_code == 200, r.text
    assert [x["body"]["message"] for x in r.json()[:2]] == ["one!", "two!"]
    assert after == [("create", "one!"), ("create", "two!"), ("delete", "one!")]
