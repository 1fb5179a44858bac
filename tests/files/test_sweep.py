"""The orphan sweep, on local disk and S3, and the ``baas files sweep`` command."""

from __future__ import annotations

import os
import subprocess
import time

from baas.files.local import LocalStorage
from baas.files.storage import Storage, file_key, iter_bytes, thumb_key
from baas.files.sweep import parse_key, sweep_orphans
from tests.harness import Ctx, png
from tests.servers import baas_cmd

LATER = 7200.0  # "now" two hours ahead: every blob is past the one-hour grace period


def test_parse_key() -> None:
    assert parse_key("c/r/a.png") == ("c", "r", "a.png")
    assert parse_key("c/r/thumbs_a.png/100x100_a.png") == ("c", "r", "a.png")
    assert parse_key("c/r/thumbs_a.png/100x100_b.png") is None
    assert parse_key("c/r/x/y.png") is None
    assert parse_key("readme.txt") is None


async def layout(ctx: Ctx, st: Storage) -> dict[str, list[str]]:
    """Blobs that must stay and blobs that are orphans, in storage ``st``."""
    docs = ctx.eng.registry.get("docs").id
    rid = await ctx.record("docs", owner="x")
    await ctx.attach("docs", rid, "pub", {"a_abc.png": png(), "b_abc.txt": b"b"})
    gone = await ctx.record("docs", owner="y")
    temp = (
        await ctx.client.post(
            "/api/collections",
            headers=ctx.h("su"),
            json={"name": "temp", "type": "base", "fields": [{"name": "f", "type": "file"}]},
        )
    ).json()["id"]
    keep = [
        file_key(docs, rid, "a_abc.png"),
        file_key(docs, rid, "b_abc.txt"),
        thumb_key(docs, rid, "a_abc.png", "100x100"),
        "misc/readme.txt",  # not the record layout
        "strangerid/r/x.txt",
    ]  # not a collection this server ever had
    orphans = [
        file_key(docs, rid, "replaced_abc.png"),
        thumb_key(docs, rid, "replaced_abc.png", "50x50"),
        file_key(docs, gone, "c_abc.png"),
        file_key(docs, "deletedrecord1", "d_abc.png"),
        file_key(temp, "r1", "e_abc.png"),
    ]
    r = await ctx.client.delete(f"/api/collections/docs/records/{gone}", headers=ctx.h("su"))
    assert r.status_code == 204
    # Stored after the delete, as if the server had crashed before removing the record's files.
    for key in keep[2:] + orphans:
        await st.put(key, iter_bytes(b"data"))
    r = await ctx.client.delete("/api/collections/temp", headers=ctx.h("su"))
    assert r.status_code == 204
    return {"keep": keep, "orphans": orphans}


async def keys(st: Storage) -> list[str]:
    return sorted([i.key async for i in st.list("")])


async def test_sweep(ctx: Ctx, storage: Storage) -> None:
    if isinstance(storage, LocalStorage):  # the app writes to its own storage: use a second one
        storage = LocalStorage(storage.root.parent / "other")
    from baas import files

    engine_storage = await files.storage_for(ctx.eng)
    lay = await layout(ctx, storage)
    # record files the app stored live in the engine's storage: copy them over for an S3 run
    for key in lay["keep"][:2]:
        blob = await engine_storage.open(key)
        await storage.put(key, iter_bytes(await blob.read_all()))
    everything = sorted(lay["keep"] + lay["orphans"])
    assert await keys(storage) == everything

    assert await sweep_orphans(ctx.eng, storage) == []  # all fresh: inside the grace period
    now = time.time() + LATER
    found = await sweep_orphans(ctx.eng, storage, dry_run=True, now=now)
    assert found == sorted(lay["orphans"])
    assert await keys(storage) == everything  # a dry run removes nothing
    assert await sweep_orphans(ctx.eng, storage, now=now) == sorted(lay["orphans"])
    assert await keys(storage) == sorted(lay["keep"])
    assert await sweep_orphans(ctx.eng, storage, now=now) == []


async def test_sweep_removes_stale_temp_files(ctx: Ctx, tmp_path) -> None:
    st = LocalStorage(tmp_path / "st")
    await st.put("misc/x.txt", iter_bytes(b"x"))
    tmp = st.root / ".tmp" / "0123456789abcdef.part"
    tmp.write_bytes(b"half an upload")
    old = time.time() - 2 * 3600
    os.utime(tmp, (old, old))
    assert await sweep_orphans(ctx.eng, st, dry_run=True) == [".tmp/0123456789abcdef.part"]
    assert tmp.exists()
    assert await sweep_orphans(ctx.eng, st) == [".tmp/0123456789abcdef.part"]
    assert not tmp.exists() and (st.root / "misc" / "x.txt").exists()


async def test_cli_sweep(ctx: Ctx) -> None:
    from baas import files

    st = await files.storage_for(ctx.eng)
    lay = await layout(ctx, st)
    data_dir = ctx.eng.settings.data_dir
    db_args = ["--db", ctx.eng.settings.db_url] if ctx.eng.settings.db_url.startswith("postgres") else []
    env = {**os.environ, "BAAS_SECRET": ctx.eng.secret}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            baas_cmd("files", "sweep", *args, "--dir", data_dir, *db_args),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = cli("--dry-run", "--older-than", "0")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(lay["orphans"])
    assert lines[-1] == f"Would remove {len(lay['orphans'])} orphan files."
    assert cli().stdout.strip().splitlines()[-1] == "Removed 0 orphan files."  # default grace: all too new
    run = cli("--older-than", "0")
    assert run.returncode == 0 and run.stdout.strip().splitlines()[-1] == f"Removed {len(lay['orphans'])} orphan files."
    remaining = await keys(st)
    assert not set(lay["orphans"]) & set(remaining)
    assert set(lay["keep"]) <= set(remaining)
