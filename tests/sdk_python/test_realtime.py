"""Realtime with the Python SDK against a live ``baas serve`` and PocketBase 0.40.6: record and
collection topics, options, unsubscribe, sync (thread) and async (task) clients; and on baas, a
server restarted mid-subscription: the SDK reconnects and re-subscribes by itself."""

from __future__ import annotations

from typing import Any

import pytest
from baas_client import AsyncClient, Client, RecordEvent

from tests.harness import eventually
from tests.sdk_python.kit import (
    Backend,
    restart,
)


async def test_sync_subscribe_collection_and_record(srv: Backend) -> None:
    seen: list[tuple[str, str]] = []
    one: list[str] = []
    with Client(srv.url) as pb, Client(srv.url) as writer:
        posts = pb.collection("posts")
        stop_all = posts.subscribe("*", lambda e: seen.append((e.action, e.record["title"])))
        rec = writer.collection("posts").create({"title": "rt one"})
        posts.subscribe(rec["id"], lambda e: one.append(e.action))
        writer.collection("posts").update(rec["id"], {"title": "rt two"})
        writer.collection("posts").delete(rec["id"])
        await eventually(lambda: len(seen) == 3 and len(one) == 2, "the create, update and delete events")
        assert seen == [("create", "rt one"), ("update", "rt two"), ("delete", "rt two")]
        assert one == ["update", "delete"]
        stop_all()
        posts.unsubscribe(rec["id"])
        assert pb.realtime.topics == [] and not pb.realtime.is_connected
        writer.collection("posts").create({"title": "unheard"})
        # a marker subscription on a fresh connection proves the earlier events were not delivered
        marks: list[str] = []
        posts.subscribe("*", lambda e: marks.append(e.record["title"]), filter='title = "mark"')
        writer.collection("posts").create({"title": "unheard either"})
        writer.collection("posts").create({"title": "mark"})
        await eventually(lambda: marks == ["mark"], "the filtered event")
        assert seen == [("create", "rt one"), ("update", "rt two"), ("delete", "rt two")]


async def test_async_subscribe_with_options(srv: Backend) -> None:
    got: list[RecordEvent[dict[str, Any]]] = []

    async def on_event(e: RecordEvent[dict[str, Any]]) -> None:
        got.append(e)

    async with AsyncClient(srv.url) as pb, AsyncClient(srv.url) as writer:
        unsubscribe = await pb.collection("posts").subscribe("*", on_event, fields="id,title", filter="views > 10")
        await writer.collection("posts").create({"title": "low", "views": 1})
        await writer.collection("posts").create({"title": "high", "views": 11})
        await eventually(lambda: len(got) == 1, "the filtered event")
        assert got[0].action == "create" and got[0].record == {"id": got[0].record["id"], "title": "high"}
        await unsubscribe()
        assert not pb.realtime.is_connected


async def test_signed_in_subscriber_sees_its_own_records(srv: Backend) -> None:
    """The connection carries the client's auth: vault records need a signed-in viewer."""
    user = srv.user(f"rt-{srv.kind}@example.com")
    names: list[str] = []
    user.collection("vault").subscribe("*", lambda e: names.append(e.record["name"]))
    with Client(srv.url) as guest:
        guest.collection("vault").create({"name": "for members"})
    await eventually(lambda: names == ["for members"], "the event of a record only members see")
    user.close()


async def test_reconnects_after_a_server_restart(srv: Backend) -> None:
    if srv.kind != "baas":
        pytest.skip("restarts the baas server (PocketBase's side is the same client code)")
    got: list[str] = []
    async_got: list[str] = []
    with Client(srv.url) as pb:
        async with AsyncClient(srv.url) as apb:
            pb.collection("posts").subscribe("*", lambda e: got.append(e.record["title"]))
            await apb.collection("posts").subscribe("*", lambda e: async_got.append(e.record["title"]))
            before, async_before = pb.realtime.client_id, apb.realtime.client_id
            restart(srv.server)
            # no user code: both clients notice, reconnect and re-subscribe by themselves
            await eventually(lambda: pb.realtime.connects == 2 and pb.realtime.is_connected, "the sync reconnect")
            await eventually(lambda: apb.realtime.connects == 2 and apb.realtime.is_connected, "the async reconnect")
            assert pb.realtime.client_id not in ("", before) and apb.realtime.client_id not in ("", async_before)
            with Client(srv.url) as writer:
                writer.collection("posts").create({"title": "after restart"})
            await eventually(lambda: got == ["after restart"], "the sync client's event after the restart")
            await eventually(lambda: async_got == ["after restart"], "the async client's event after the restart")
