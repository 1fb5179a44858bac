"""Superusers written by ``baas superuser upsert`` and the installer go through the record write
path: the ``_superusers`` record hooks fire (before, in the transaction, after-success) and the
writes append their events, as for any other auth-flow write."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from baas.admin.installer import issue_installer_token
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.errors import BadRequest
from baas.hooks import RecordEvent
from baas.settings import Settings
from tests.harness import fresh_db_url, in_process, unique
from tests.servers import baas_cmd

EMAIL, PASSWORD = "boss@example.com", "boss-password-1"


def bind(eng: Engine, seen: list[str], refuse: str = "") -> None:
    """Record each stage of the ``_superusers`` create/update hooks; refuse ``refuse``'s email."""
    h = eng.hooks

    def around(action: str) -> Any:
        async def handler(e: RecordEvent) -> None:
            if e.record.get("email") == refuse:
                raise BadRequest("Refused by a hook.")
            seen.append(f"{action}:before:{e.request.context}")
            await e.next()
            seen.append(f"{action}:in-tx")

        return handler

    def after(action: str) -> Any:
        async def handler(e: RecordEvent) -> None:
            seen.append(f"{action}:after:{'password' in e.record}")
            await e.next()

        return handler

    for action, hook, done in (
        ("create", h.on_record_create, h.on_record_after_create_success),
        ("update", h.on_record_update, h.on_record_after_update_success),
    ):
        hook.bind_for("_superusers", around(action), id=f"test.{action}")
        done.bind_for("_superusers", after(action), id=f"test.after.{action}")


async def superuser_events(eng: Engine) -> list[tuple[str, str]]:
    rows = await eng.db.fetch(
        'SELECT "action", "record" FROM "_events" WHERE "collection" = ? AND "action" IN (?, ?) ORDER BY "id"',
        ["_superusers", "create", "update"],
    )
    return [(r[0], json.loads(r[1])["email"]) for r in rows]


async def test_upsert_fires_the_superusers_record_hooks_and_appends_events(tmp_path: Path):
    async with in_process(tmp_path) as (client, eng):
        seen: list[str] = []
        bind(eng, seen, refuse="refused@example.com")
        rid = await upsert_superuser(eng, EMAIL, PASSWORD)
        assert seen == ["create:before:internal", "create:in-tx", "create:after:False"]
        seen.clear()
        assert await upsert_superuser(eng, EMAIL, "new-password-22") == rid
        assert seen == ["update:before:internal", "update:in-tx", "update:after:False"]
        r = await client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": "new-password-22"}
        )
        assert r.status_code == 200, r.text
        with pytest.raises(BadRequest):
            await upsert_superuser(eng, "refused@example.com", PASSWORD)
        assert (
            await eng.db.fetchval('SELECT COUNT(*) FROM "_superusers" WHERE "email" = ?', ["refused@example.com"]) == 0
        )
        assert [e for e in await superuser_events(eng) if e[1] in (EMAIL, "refused@example.com")] == [
            ("create", EMAIL),
            ("update", EMAIL),
        ]


async def test_the_installer_fires_the_hooks_too(tmp_path: Path):
    async with in_process(tmp_path, template="") as (client, eng):
        assert await eng.db.fetchval('SELECT COUNT(*) FROM "_superusers"') == 0
        seen: list[str] = []
        bind(eng, seen)
        body = {"email": EMAIL, "password": PASSWORD, "token": issue_installer_token(eng.secret)}
        r = await client.post("/api/installer", json=body)
        assert r.status_code == 204, r.text
        assert seen == ["create:before:internal", "create:in-tx", "create:after:False"]
        assert await superuser_events(eng) == [("create", EMAIL)]
        r = await client.post("/api/installer", json=body)
        assert r.status_code == 400 and "already exists" in r.json()["message"]


PLUGIN = """
import os

def register(app):
    async def mark(e):
        await e.next()
        with open(os.environ["SUPERMARK_FILE"], "a") as out:
            out.write(f"{e.request.context} {e.record['email']}\\n")

    app.hooks.on_record_after_create_success.bind_for("_superusers", mark)
    app.hooks.on_record_after_update_success.bind_for("_superusers", mark)
"""


async def test_the_cli_loads_the_projects_plugins_so_their_hooks_fire(tmp_path: Path):
    module = unique("supermark")
    project = tmp_path / "proj"
    project.mkdir()
    (project / f"{module}.py").write_text(textwrap.dedent(PLUGIN))
    (project / "baas.yaml").write_text(f"collections: []\nplugins: [{module}]\n")
    marks = tmp_path / "marks.txt"
    data = tmp_path / "data"
    async with fresh_db_url(tmp_path, migrated=True) as url:
        env = {**os.environ, "BAAS_PROJECT": str(project / "baas.yaml"), "SUPERMARK_FILE": str(marks)}
        for password in (PASSWORD, "second-password-2"):
            run = subprocess.run(
                baas_cmd("superuser", "upsert", EMAIL, password, "--dir", str(data), "--db", url),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert run.returncode == 0, run.stdout + run.stderr
        assert marks.read_text().splitlines() == [f"internal {EMAIL}", f"internal {EMAIL}"]
        eng = Engine(Settings(data_dir=str(data), db_url=url))
        await eng.start()
        try:
            assert await superuser_events(eng) == [("create", EMAIL), ("update", EMAIL)]
        finally:
            await eng.stop()
