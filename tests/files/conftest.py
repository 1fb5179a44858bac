"""Fixtures of the file storage tests.

``storage``: every contract test runs on the local disk and on S3. S3 is moto's S3 server
(``moto_server``), started once per session on a free 127.0.0.1 port and stopped at the end;
each test gets a fresh bucket. ``ctx``: an in-process app with file-field collections, a
superuser and two users (on PostgreSQL when ``BAAS_TEST_POSTGRES_URL`` is set). Helpers (`Ctx`,
`png`, `s3_settings`, `make_bucket`) are in tests/harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from baas.auth.superusers import upsert_superuser
from baas.files.local import LocalStorage
from baas.files.s3 import S3Storage
from baas.files.storage import Storage
from baas.schema.loader import load_schema_text
from tests.harness import SU, Api, Ctx, add_users, in_process, make_bucket, s3_settings, sign_in
from tests.servers import running_moto


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server for this session."""
    with running_moto() as url:
        yield url


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        st: Storage = LocalStorage(tmp_path / "storage")
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        st = S3Storage.from_settings(s3_settings(endpoint, make_bucket(endpoint)))
    yield st
    await st.close()


SCHEMA = """
collections:
  - name: docs
    listRule: ""
    viewRule: "owner = @request.auth.id"
    createRule: ""
    fields:
      - {name: owner, type: text}
      - {name: doc, type: file, protected: true}
      - {name: pub, type: file, maxSelect: 5, thumbs: ["50x50", "0x40", "40x40f"]}
  - name: locked
    fields:
      - {name: doc, type: file, protected: true}
"""


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Ctx]:
    async with in_process(tmp_path) as (client, eng):
        await upsert_superuser(eng, *SU)
        await eng.apply(lambda: [*eng.registry.all(), *load_schema_text(SCHEMA).collections])
        c = Ctx(client, eng)
        c.tokens["su"] = await sign_in(client)
        users = Api(client, eng, c.tokens)
        await add_users(users, "alice", "bob", confirm=True)
        c.users.update(users.users)
        yield c
