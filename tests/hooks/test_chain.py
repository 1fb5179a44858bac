"""The hook chain on its own: order, priorities, tags, next(), stopping, errors."""

from __future__ import annotations

import logging

import pytest

from baas.errors import BadRequest, Forbidden
from baas.hooks import Event, Hook, HookError, Hooks, RecordEvent
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

POSTS = Collection(name="posts", id="pbc_posts")
USERS = Collection(name="users", id="pbc_users", type="auth")


def event(coll: Collection = POSTS) -> RecordEvent:
    return RecordEvent(coll, {"title": "x"}, RequestInfo(), None, "create")


def recorder(log: list[str], name: str, *, call_next: bool = True):
    async def handler(e: Event) -> None:
        log.append(f"{name}>")
        if call_next:
            await e.next()
        log.append(f"<{name}")

    handler.__qualname__ = name
    return handler


async def run(hook: Hook, e: Event, log: list[str]) -> bool:
    async def final(_: Event) -> None:
        log.append("op")

    return await hook.trigger(e, final)


async def test_empty_hook_is_unbound_and_runs_the_operation():
    hook: Hook = Hook("h")
    assert hook.bound is False and hook.chain_for(POSTS) == ()
    log: list[str] = []
    assert await run(hook, event(), log) is True
    assert log == ["op"]


async def test_handlers_wrap_the_operation_in_priority_order_stable_for_ties():
    hook: Hook = Hook("h")
    log: list[str] = []
    hook.bind(recorder(log, "b0"))
    hook.bind(recorder(log, "late"), priority=10)
    hook.bind(recorder(log, "first"), priority=-5)
    hook.bind(recorder(log, "b1"))
    assert hook.bound and len(hook) == 4
    assert await run(hook, event(), log)
    assert log == ["first>", "b0>", "b1>", "late>", "op", "<late", "<b1", "<b0", "<first"]


async def test_not_calling_next_stops_the_chain_and_the_operation():
    hook: Hook = Hook("h")
    log: list[str] = []
    hook.bind(recorder(log, "a"))
    hook.bind(recorder(log, "stop", call_next=False), priority=1)
    hook.bind(recorder(log, "never"), priority=2)
    assert await run(hook, event(), log) is False
    assert log == ["a>", "stop>", "<stop", "<a"]


async def test_next_twice_runs_the_rest_once():
    hook: Hook = Hook("h")
    log: list[str] = []

    async def twice(e: Event) -> None:
        await e.next()
        await e.next()

    hook.bind(twice)
    hook.bind(recorder(log, "b"), priority=1)
    assert await run(hook, event(), log)
    assert log == ["b>", "op", "<b"]


async def test_tags_filter_by_collection_name_or_id():
    hook: Hook = Hook("h")
    log: list[str] = []
    hook.bind(recorder(log, "all"))
    hook.bind_for("posts", recorder(log, "by-name"))
    hook.bind(recorder(log, "by-id"), tags=["pbc_posts"])
    hook.bind_for(["users", "other"], recorder(log, "users"))
    await run(hook, event(POSTS), log)
    assert log == ["all>", "by-name>", "by-id>", "op", "<by-id", "<by-name", "<all"]
    log.clear()
    await run(hook, event(USERS), log)
    assert log == ["all>", "users>", "op", "<users", "<all"]
    # the per-collection chains are cached; binding again must refresh them
    hook.bind_for("users", recorder(log, "more"), priority=-1)
    log.clear()
    await run(hook, event(USERS), log)
    assert log[:2] == ["more>", "all>"]


async def test_a_hook_with_only_other_collections_tags_gives_an_empty_chain():
    hook: Hook = Hook("h")
    hook.bind_for("users", recorder([], "u"))
    assert hook.bound and hook.chain_for(POSTS) == ()


async def test_unbind_by_id_and_by_function_and_rebind_replaces():
    hook: Hook = Hook("h")
    log: list[str] = []
    a = recorder(log, "a")
    hid = hook.bind(recorder(log, "x"), id="mine")
    hook.bind(a)
    assert hid == "mine"
    hook.bind(recorder(log, "y"), id="mine", priority=5)  # replaces "x"
    await run(hook, event(), log)
    assert log == ["a>", "y>", "op", "<y", "<a"]
    hook.unbind("mine", a)
    assert not hook.bound
    log.clear()
    await run(hook, event(), log)
    assert log == ["op"]


async def test_bind_as_decorator():
    hook: Hook = Hook("h")
    seen: list[str] = []

    @hook.bind(priority=3, tags="posts")
    async def handler(e: RecordEvent) -> None:
        seen.append(e.collection.name)
        await e.next()

    assert callable(handler)
    await run(hook, event(POSTS), [])
    await run(hook, event(USERS), [])
    assert seen == ["posts"]


async def test_api_errors_pass_through_unchanged():
    hook: Hook = Hook("h")
    log: list[str] = []

    async def refuse(e: Event) -> None:
        raise Forbidden("No posts on Sundays.")

    hook.bind(recorder(log, "outer"))
    hook.bind(refuse, priority=1)
    with pytest.raises(Forbidden) as info:
        await run(hook, event(), log)
    assert info.value.message == "No posts on Sundays."
    assert log == ["outer>"]  # neither the operation nor the rest of outer ran


async def test_other_exceptions_become_a_logged_500(caplog):
    hook: Hook = Hook("h")

    async def broken(e: Event) -> None:
        raise KeyError("oops")

    hook.bind(broken)
    with caplog.at_level(logging.ERROR, logger="baas.hooks"):
        with pytest.raises(HookError) as info:
            await run(hook, event(), [])
    assert info.value.status == 500 and info.value.as_dict()["message"].startswith("Something went wrong")
    assert "broken" in caplog.text and "KeyError" in caplog.text


async def test_the_operations_own_errors_are_not_blamed_on_handlers(caplog):
    hook: Hook = Hook("h")
    hook.bind(recorder([], "a"))

    async def failing_op(_: Event) -> None:
        raise RuntimeError("database is down")

    with caplog.at_level(logging.ERROR, logger="baas.hooks"):
        with pytest.raises(RuntimeError):
            await hook.trigger(event(), failing_op)
        with pytest.raises(BadRequest):

            async def bad_op(_: Event) -> None:
                raise BadRequest("invalid")

            await hook.trigger(event(), bad_op)
    assert "hook handler" not in caplog.text


async def test_a_handler_may_change_the_event_before_and_read_it_after():
    hook: Hook = Hook("h")

    async def upper(e: RecordEvent) -> None:
        e.record["title"] = e.record["title"].upper()
        await e.next()
        e.record["after"] = True

    hook.bind(upper)
    e = event()
    seen = {}

    async def op(ev: RecordEvent) -> None:
        seen.update(ev.record)

    await hook.trigger(e, op)
    assert seen == {"title": "X"} and e.record == {"title": "X", "after": True}


def test_registry_lists_every_point_and_rejects_bad_handlers():
    hooks = Hooks()
    names = set(hooks.points())
    assert {
        "on_record_create",
        "on_record_update",
        "on_record_delete",
        "on_record_after_create_success",
        "on_record_after_update_success",
        "on_record_after_delete_success",
        "on_record_list_request",
        "on_record_view_request",
        "on_record_auth_request",
        "on_start",
        "on_stop",
    } == names
    with pytest.raises(TypeError):
        hooks.on_record_create.bind("not a function")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        hooks.on_record_create.bind(recorder([], "x"), tags=[])
