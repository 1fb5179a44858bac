"""Scheduled backups with retention and backups kept in S3 (docs/backups.md), on the backend under
test: PocketBase's ``backups`` settings (``cron``, ``cronMaxKeep``, ``s3``), the ``backups.create``
job task of baas.yaml, and ``/api/backups`` + ``baas backup`` on an S3 store (moto)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from baas.backups import MANIFEST
from tests.harness import PG_URL, app_for, make_bucket, s3_settings, wait_runs
from tests.servers import baas_cmd, running_moto

JOBS = """
jobs:
  - name: nightly
    schedule: "0 3 * * *"
    task: backups.create
    args: {keep: 2}
"""


def _local(run: Any) -> list[str]:
    return sorted(p.name for p in (Path(run.engine.settings.data_dir) / "backups").glob("*.zip"))


async def _settings(run: Any, patch: dict[str, Any]) -> Any:
    return await run.client.patch("/api/settings", json=patch, headers={"Authorization": run.su})


async def test_the_settings_schedule_backups_that_keep_cron_max_keep(tmp_path: Path) -> None:
    async with app_for(tmp_path) as run:
        su = {"Authorization": run.su}
        assert (await run.client.post("/api/backups", json={"name": "manual.zip"}, headers=su)).status_code == 204
        r = await _settings(run, {"backups": {"cron": "@every 1s", "cronMaxKeep": 2}})
        assert r.status_code == 200, r.text
        assert r.json()["backups"]["cron"] == "@every 1s" and r.json()["backups"]["cronMaxKeep"] == 2

        # The scheduler ticks it (the settings' job is listed as such) ...
        jobs = {j["id"]: j for j in (await run.client.get("/api/crons", headers=su)).json()}
        assert jobs["baas.backups"]["source"] == "settings" and jobs["baas.backups"]["expression"] == "@every 1s"
        job = (await run.client.get("/api/jobs/baas.backups", headers=su)).json()
        assert job["task"] == "backups.create" and job["args"] == {"keep": 2}
        runs = await wait_runs(run, "baas.backups", 1)
        assert runs[-1]["status"] == "success", runs[-1]
        # ... and each run keeps the newest two of its own backups, never the manual one.
        await _settings(run, {"backups": {"cron": "0 3 1 1 *"}})  # no more ticks now: the runs below are ours
        await run.engine.jobs.refresh()
        for _ in range(3):
            done = await run.engine.jobs.run_now("baas.backups", wait=True)
            assert done["status"] == "success", done
        names = _local(run)
        auto = [n for n in names if n.startswith("auto_baas.backups_")]
        assert len(auto) == 2 and "manual.zip" in names, names
        listed = [b["key"] for b in (await run.client.get("/api/backups", headers=su)).json()]
        assert sorted(listed) == names
        with zipfile.ZipFile(Path(run.engine.settings.data_dir) / "backups" / auto[-1]) as zf:
            assert MANIFEST in zf.namelist()

        # The settings' job changes in the settings only; an empty cron removes it.
        r = await run.client.delete("/api/jobs/baas.backups", headers=su)
        assert r.status_code == 400 and "backups.cron" in r.json()["message"]
        await _settings(run, {"backups": {"cron": ""}})
        assert "baas.backups" not in {j["id"] for j in (await run.client.get("/api/crons", headers=su)).json()}


BAD_SETTINGS = [
    ("a cron with 4 fields", {"cron": "* * * *"}, "cron"),
    ("an unknown macro", {"cron": "@sometimes"}, "cron"),
    ("cronMaxKeep 0", {"cronMaxKeep": 0}, "cronMaxKeep"),
    ("cronMaxKeep not a number", {"cronMaxKeep": "3"}, "cronMaxKeep"),
    ("s3 enabled without a bucket", {"s3": {"enabled": True}}, "s3"),
    ("s3 not an object", {"s3": "yes"}, "s3"),
]


@pytest.mark.parametrize(("what", "section", "field"), BAD_SETTINGS, ids=[b[0] for b in BAD_SETTINGS])
async def test_bad_backup_settings_are_refused_and_nothing_is_kept(
    tmp_path: Path, what: str, section: dict[str, Any], field: str
) -> None:
    async with app_for(tmp_path) as run:
        r = await _settings(run, {"backups": section})
        assert r.status_code == 400, (what, r.text)
        assert field in r.json()["data"]["backups"], r.json()
        got = (await run.client.get("/api/settings", headers={"Authorization": run.su})).json()["backups"]
        assert got["cron"] == "" and got["cronMaxKeep"] == 3 and got["s3"]["enabled"] is False


async def test_a_yaml_job_backs_up_and_its_args_are_checked(tmp_path: Path) -> None:
    project = tmp_path / "baas.yaml"
    project.write_text(JOBS)
    async with app_for(tmp_path, str(project)) as run:
        # Backups whose names only start like the job's: named by hand, or another job's (nightly_pg).
        assert (await run.engine.jobs.run_now("nightly", wait=True))["status"] == "success"
        folder = Path(run.engine.settings.data_dir) / "backups"
        first = folder / _local(run)[0]
        others = ["auto_nightly_before-upgrade.zip", "auto_nightly_pg_20991231235959999.zip"]
        for name in others:
            (folder / name).write_bytes(first.read_bytes())
        for _ in range(3):
            assert (await run.engine.jobs.run_now("nightly", wait=True))["status"] == "success"
        names = _local(run)
        assert len([n for n in names if re.fullmatch(r"auto_nightly_\d{17}\.zip", n)]) == 2, names
        assert set(others) <= set(names), names
    for old, bad, message in [
        ("{keep: 2}", "{keep: -1}", "args.keep"),
        ("{keep: 2}", "{keep: 2, where: s3}", "takes args"),
        ("name: nightly", "name: night..ly", "may not hold '..'"),
    ]:
        project.write_text(JOBS.replace(old, bad))
        out = subprocess.run(
            [*baas_cmd(), "jobs", "list", "--project", str(project), "--dir", str(tmp_path / "d2")],
            capture_output=True,
            text=True,
            env=_env(),
        )
        assert out.returncode != 0 and message in out.stderr, out.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BAAS_DB"}


async def test_backups_kept_in_s3_list_download_upload_delete_and_restore(tmp_path: Path) -> None:
    with running_moto() as endpoint:
        bucket = make_bucket(endpoint)
        minio = Minio(endpoint.split("://")[1], access_key="test", secret_key="test-secret", secure=False)
        async with app_for(tmp_path) as run:
            su = {"Authorization": run.su}
            r = await _settings(run, {"backups": {"s3": s3_settings(endpoint, bucket), "cronMaxKeep": 1}})
            assert r.status_code == 200, r.text
            shown = r.json()
            assert "secret" not in shown["backups"]["s3"] and shown["secretsSet"]["backups.s3.secret"] is True
            # Sending the section back without its secret keeps the stored one.
            assert (await _settings(run, {"backups": {"s3": shown["backups"]["s3"]}})).status_code == 200

            created = await run.client.post("/api/collections/users/records", json=_user(), headers=su)
            assert created.status_code == 200, created.text
            assert (await run.client.post("/api/backups", json={"name": "in-s3.zip"}, headers=su)).status_code == 204
            assert [o.object_name for o in minio.list_objects(bucket)] == ["in-s3.zip"]
            assert _local(run) == []  # nothing left behind locally (no partial either)
            assert list((Path(run.engine.settings.data_dir) / "backups").glob(".*")) == []
            listed = (await run.client.get("/api/backups", headers=su)).json()
            assert [b["key"] for b in listed] == ["in-s3.zip"] and listed[0]["size"] > 0

            token = (await run.client.post("/api/files/token", headers=su)).json()["token"]
            got = await run.client.get("/api/backups/in-s3.zip", params={"token": token})
            assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
            assert MANIFEST in zipfile.ZipFile(io.BytesIO(got.content)).namelist()
            assert (await run.client.get("/api/backups/nope.zip", params={"token": token})).status_code == 404

            up = await run.client.post(
                "/api/backups/upload", files={"file": ("copy.zip", got.content, "application/zip")}, headers=su
            )
            assert up.status_code == 204, up.text
            bad = await run.client.post(
                "/api/backups/upload", files={"file": ("junk.zip", b"not a zip", "application/zip")}, headers=su
            )
            assert bad.status_code == 400
            assert sorted(o.object_name for o in minio.list_objects(bucket)) == ["copy.zip", "in-s3.zip"]
            assert (await run.client.delete("/api/backups/copy.zip", headers=su)).status_code == 204
            assert (await run.client.delete("/api/backups/copy.zip", headers=su)).status_code == 404

            # A scheduled run lands in S3 too, and its retention applies there.
            await _settings(run, {"backups": {"cron": "0 3 * * *"}})
            await run.engine.jobs.refresh()  # (as POST /api/crons/{id} does before it runs a job)
            for _ in range(2):
                assert (await run.engine.jobs.run_now("baas.backups", wait=True))["status"] == "success"
            names = sorted(o.object_name for o in minio.list_objects(bucket))
            assert len(names) == 2 and "in-s3.zip" in names, names
            data_dir = run.engine.settings.data_dir
            db = ["--db", run.engine.settings.db_url] if run.engine.settings.db_url else []

            # The CLI lists and downloads from S3 (while a server runs); the download restores.
            env = _env()
            out = subprocess.run(
                [*baas_cmd(), "backup", "list", "--dir", data_dir, *db], capture_output=True, text=True, env=env
            )
            assert out.returncode == 0 and "in-s3.zip" in out.stdout, out.stderr
            target = tmp_path / "fetched.zip"
            out = subprocess.run(
                [*baas_cmd(), "backup", "download", "in-s3.zip", str(target), "--dir", data_dir, *db],
                capture_output=True,
                text=True,
                env=env,
            )
            assert out.returncode == 0 and target.stat().st_size > 0, out.stderr
            missing = subprocess.run(
                [*baas_cmd(), "backup", "download", "gone.zip", str(tmp_path / "g.zip"), "--dir", data_dir, *db],
                capture_output=True,
                text=True,
                env=env,
            )
            assert missing.returncode == 1 and "no backup named" in missing.stderr
            if not PG_URL:  # (restore into PostgreSQL is covered by test_backups.py)
                out = subprocess.run(
                    [*baas_cmd(), "backup", "restore", str(target), "--dir", str(tmp_path / "restored")],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                assert out.returncode == 0, out.stderr
                assert (tmp_path / "restored" / "data.db").exists()


def _user() -> dict[str, str]:
    return {"email": "kim@example.com", "password": "password-123", "passwordConfirm": "password-123"}
