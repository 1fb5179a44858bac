"""An API key's last-use bookkeeping belongs to the engine, not the process: two engines on one
database each decide for themselves when to write ``lastUsed``."""

from __future__ import annotations

from pathlib import Path

from baas.auth import apikeys
from baas.core import Engine
from baas.settings import Settings

OLD = "2001-01-01 00:00:00.000Z"


async def _last_used(eng: Engine, key_id: str) -> str:
    value = await eng.db.fetchval('SELECT "lastUsed" FROM "_apikeys" WHERE "id" = ?', [key_id])
    assert isinstance(value, str)
    return value


async def _set_last_used(eng: Engine, key_id: str, value: str) -> None:
    await eng.db.write(
        lambda conn: conn.execute('UPDATE "_apikeys" SET "lastUsed" = ? WHERE "id" = ?', [value, key_id])
    )


async def test_two_engines_do_not_share_last_use(tmp_path: Path, db_url: str) -> None:
    a = Engine(Settings(data_dir=str(tmp_path / "a"), db_url=db_url))
    b = Engine(Settings(data_dir=str(tmp_path / "b"), db_url=db_url))
    await a.start()
    await b.start()
    try:
        assert a.apikey_use is not b.apikey_use
        made = await apikeys.create(a.db, "k", [{"collection": "*", "actions": ["list"]}], "", "someone")
        auth = await apikeys.authenticate(a, made["key"])
        assert auth["id"] == made["id"]
        assert await _last_used(a, made["id"]) > OLD  # first use: written

        # The stored value is old now, but engine a wrote it within the minute: a does not write again.
        await _set_last_used(a, made["id"], OLD)
        await apikeys.authenticate(a, made["key"])
        assert await _last_used(a, made["id"]) == OLD

        # Engine b has written nothing for this key: it goes by the stored value, which is old.
        await apikeys.authenticate(b, made["key"])
        assert await _last_used(b, made["id"]) > OLD

        # And b's write is now b's own: it does not write again within the minute either.
        await _set_last_used(b, made["id"], OLD)
        await apikeys.authenticate(b, made["key"])
        assert await _last_used(b, made["id"]) == OLD
    finally:
        await b.stop()
        await a.stop()
