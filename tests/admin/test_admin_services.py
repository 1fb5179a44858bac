"""The console's services without HTTP: a collection change planned and applied is the same
change; the installer is spent once used; file lookups refuse what is not there; rule checks
point at the offending text."""

from __future__ import annotations

from typing import Any

import pytest

from baas.admin import collections as admin
from baas.admin import crons, file_access, installer, rule_check
from baas.auth import file_tokens, superusers
from baas.core import Engine
from baas.errors import BadRequest, NotFound, Unauthorized
from baas.records.write import create_record
from baas.rules.context import RequestInfo

MESSAGE = "Failed."
POSTS: dict[str, Any] = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "fields": [{"name": "title", "type": "text", "required": True}, {"name": "views", "type": "number"}],
}
SUPERUSER = RequestInfo(auth={"id": "su", "collectionId": "_superusers", "collectionName": "_superusers"})


async def _posts(eng: Engine, *titles: str) -> None:
    await admin.apply_change(eng, admin.create_change(eng, POSTS, MESSAGE), MESSAGE, accept_data_loss=False)
    coll = eng.registry.get("posts")
    assert coll is not None
    for title in titles:
        await eng.db.write(lambda conn, t=title: create_record(conn, eng.reader(), coll, {"title": t, "views": 1}))


def _without_views(eng: Engine) -> dict[str, Any]:
    fields = admin.shown(admin.find(eng, "posts"))["fields"]
    return {"fields": [f for f in fields if f["name"] != "views"]}


async def test_a_planned_change_is_the_change_applied(eng: Engine) -> None:
    await _posts(eng, "kept")
    change = admin.update_change(eng, admin.find(eng, "posts"), _without_views(eng), MESSAGE)
    plan = await admin.plan_change(eng, change, MESSAGE)
    shown = admin.plan_to_api(plan)
    assert shown["destructive"] is True
    assert [(c["action"], c["detail"]) for c in shown["changes"]] == [("drop_field", "views")]
    assert [f.name for f in admin.find(eng, "posts").fields if f.name == "views"] == ["views"]  # nothing applied

    with pytest.raises(BadRequest) as refused:
        await admin.apply_change(eng, change, MESSAGE, accept_data_loss=False)
    assert refused.value.message.startswith(MESSAGE)
    assert "views" in [f.name for f in admin.find(eng, "posts").fields]

    applied = await admin.apply_change(eng, change, MESSAGE, accept_data_loss=True)
    assert [(c.action, c.detail) for c in applied.changes] == [("drop_field", "views")]
    assert "views" not in [f.name for f in admin.find(eng, "posts").fields]


async def test_changes_refused_before_planning(eng: Engine) -> None:
    await _posts(eng)
    with pytest.raises(BadRequest) as taken:
        admin.create_change(eng, POSTS, MESSAGE)
    assert taken.value.message == MESSAGE and taken.value.data["name"]["code"] == "validation_collection_name_exists"
    with pytest.raises(BadRequest) as blank:
        admin.create_change(eng, None, MESSAGE)
    assert blank.value.data == {"collection": {"code": "validation_required", "message": "Cannot be blank."}}
    superusers = admin.find(eng, "_superusers")
    with pytest.raises(BadRequest) as system:
        admin.update_change(eng, superusers, {"name": "admins"}, MESSAGE)
    assert system.value.data["system"]["code"] == "validation_system_collection"
    with pytest.raises(BadRequest, match="System collections cannot be deleted"):
        admin.delete_change(eng, superusers)
    with pytest.raises(NotFound):
        admin.find(eng, "nope")


async def test_an_invalid_field_answers_in_the_flat_form_shape(eng: Engine) -> None:
    bad = {**POSTS, "listRule": "nope = 1"}
    for run in (
        lambda change: admin.plan_change(eng, change, MESSAGE),
        lambda change: admin.apply_change(eng, change, MESSAGE, accept_data_loss=False),
    ):
        with pytest.raises(BadRequest) as refused:
            await run(admin.create_change(eng, bad, MESSAGE))
        assert refused.value.message == MESSAGE
        assert "posts" not in refused.value.data and "listRule" in refused.value.data  # PocketBase's flat shape


async def test_listed_filters_and_redacts(eng: Engine) -> None:
    await _posts(eng)
    names = [c["name"] for c in admin.listed(eng)]
    assert "posts" in names and "_superusers" in names
    assert [c["name"] for c in admin.listed(eng, "name = 'posts'")] == ["posts"]
    assert [c["name"] for c in admin.listed(eng, "name ~ 'POS' && type = 'base'")] == ["posts"]
    assert admin.listed(eng, "type = 'view'") == []


async def test_truncate_deletes_every_record(eng: Engine) -> None:
    await _posts(eng, "a", "b", "c")
    await admin.truncate(eng, admin.find(eng, "posts"), SUPERUSER)
    assert await eng.db.fetchval('SELECT count(*) FROM "posts"') == 0


async def test_import_keeps_the_others_unless_pruning(eng: Engine) -> None:
    await _posts(eng)
    notes = {"name": "notes", "type": "base", "fields": [{"name": "body", "type": "text"}]}
    change = admin.import_change(eng, [notes], MESSAGE, prune=False)
    assert {c.name for c in change.target()} >= {"notes", "posts", "_superusers"}
    with pytest.raises(BadRequest):
        admin.import_change(eng, [], MESSAGE, prune=False)


async def test_the_installer_is_spent_once_used(eng: Engine) -> None:
    body = {"email": "first@example.com", "password": "first-password-1", "passwordConfirm": "first-password-1"}
    assert not await installer.superuser_exists(eng)
    assert not installer.valid_installer_token(eng.secret, "not-a-token")
    token = installer.issue_installer_token(eng.secret)
    assert installer.valid_installer_token(eng.secret, token)
    assert not installer.valid_installer_token(eng.secret + "x", token)
    await superusers.create_first_superuser(eng, body)
    assert await installer.superuser_exists(eng)
    with pytest.raises(BadRequest, match="already exists"):
        await superusers.create_first_superuser(eng, {**body, "email": "second@example.com"})


async def test_file_lookups_refuse_what_is_not_there(eng: Engine) -> None:
    await _posts(eng, "a")
    rid = (await eng.db.fetchone('SELECT "id" FROM "posts"'))[0]
    for coll, record, name in (
        ("nope", rid, "a_1234567890.txt"),
        ("posts", rid, "../etc/passwd"),
        ("posts", "missing", "a_1234567890.txt"),
        ("posts", rid, "a_1234567890.txt"),
    ):
        with pytest.raises(NotFound):
            await file_access.find_file(eng, coll, record, name)
    assert await file_tokens.file_token_record(eng, "") is None
    with pytest.raises(Unauthorized):
        await file_tokens.issue_file_token(eng, None)


async def test_rule_check_points_at_the_unknown_field(eng: Engine) -> None:
    await _posts(eng)
    coll, lookup = rule_check.target(eng, "posts", MESSAGE)
    assert rule_check.check(coll, lookup, "title != ''", eng.db.dialect)["ok"] is True
    bad = rule_check.check(coll, lookup, "titel = 'x'", eng.db.dialect)
    assert bad["ok"] is False and (bad["position"], bad["length"]) == (0, 5)
    draft, lookup = rule_check.target(eng, {"name": "drafts", "fields": [{"name": "body", "type": "text"}]}, MESSAGE)
    assert rule_check.check(draft, lookup, "body ~ 'x'", eng.db.dialect)["ok"] is True


async def test_crons_unknown_job_is_not_found(eng: Engine) -> None:
    assert isinstance(await crons.overview(eng), list)
    with pytest.raises(NotFound):
        await crons.runs(eng, "nope", 1, 30)
    with pytest.raises(NotFound):
        await crons.run_now(eng, "nope")
