"""The install secret (baas/secret.py): per data dir on SQLite; shared by every node of a PostgreSQL
database, with a node whose BAAS_SECRET disagrees refused at start (issue 15)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from baas.core import Engine
from baas.secret import SecretMismatch
from baas.settings import Settings
from tests.harness import PG_URL, fresh_db_url

pg_only = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: several nodes share a database there")


async def _secret(tmp_path: Path, url: str, node: str, monkeypatch: pytest.MonkeyPatch, env: str | None) -> str:
    """Start a node (its own data dir) on ``url`` with ``BAAS_SECRET=env`` (unset for None); its secret."""
    if env is None:
        monkeypatch.delenv("BAAS_SECRET", raising=False)
    else:
        monkeypatch.setenv("BAAS_SECRET", env)
    eng = Engine(Settings(data_dir=str(tmp_path / node), db_url=url))
    try:
        await eng.start()
        return eng.secret
    finally:
        await eng.stop()


async def test_sqlite_keeps_the_secret_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if PG_URL:
        pytest.skip("SQLite only: the secret file is how one embedded install keeps it")
    url = f"sqlite:///{tmp_path / 'data.db'}"
    first = await _secret(tmp_path, url, "d", monkeypatch, None)
    path = tmp_path / "d" / ".secret"
    assert path.read_text() == first and len(first) >= 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await _secret(tmp_path, url, "d", monkeypatch, None) == first  # kept across restarts
    assert await _secret(tmp_path, url, "d", monkeypatch, "from-the-environment") == "from-the-environment"


@pg_only
async def test_nodes_without_baas_secret_share_one_kept_in_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_db_url(tmp_path) as url:
        a = await _secret(tmp_path, url, "a", monkeypatch, None)
        b = await _secret(tmp_path, url, "b", monkeypatch, None)
        assert a == b and len(a) >= 64
        assert not (tmp_path / "a" / ".secret").exists() and not (tmp_path / "b" / ".secret").exists()
        # The cluster made its own secret: a node that brings one is refused, not silently split off.
        with pytest.raises(SecretMismatch, match="BAAS_SECRET differs"):
            await _secret(tmp_path, url, "c", monkeypatch, "another-secret")


@pg_only
async def test_an_install_from_before_keeps_its_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / ".secret").write_text("the-secret-its-tokens-were-signed-with\n")
    async with fresh_db_url(tmp_path) as url:
        assert await _secret(tmp_path, url, "old", monkeypatch, None) == "the-secret-its-tokens-were-signed-with"
        assert await _secret(tmp_path, url, "new", monkeypatch, None) == "the-secret-its-tokens-were-signed-with"


@pg_only
async def test_nodes_with_baas_secret_must_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with fresh_db_url(tmp_path) as url:
        assert await _secret(tmp_path, url, "a", monkeypatch, "one-secret") == "one-secret"
        assert await _secret(tmp_path, url, "b", monkeypatch, "one-secret") == "one-secret"
        with pytest.raises(SecretMismatch, match="BAAS_SECRET differs"):
            await _secret(tmp_path, url, "c", monkeypatch, "two-secret")
        with pytest.raises(SecretMismatch, match="set the same value here"):
            await _secret(tmp_path, url, "d", monkeypatch, None)
        # Only a fingerprint is stored: a dump of the database does not hold the secret.
        eng = Engine(Settings(data_dir=str(tmp_path / "e"), db_url=url))
        await eng.db.connect()
        try:
            values = [row[0] for row in await eng.db.fetch('SELECT "value" FROM "_params"')]
        finally:
            await eng.db.close()
        assert values and not any("one-secret" in v for v in values)
