"""An in-process app (httpx over ASGI) on a fresh database, with or without a superuser; the
browser tests start a real ``baas serve`` instead (tests/servers.py). ``s3``: a moto S3 server that
checks credentials, for the settings page's "Test connection" (tests/console/s3kit.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from baas.auth.superusers import upsert_superuser
from tests.console.s3kit import S3
from tests.harness import SU, Console, in_process
from tests.servers import running_moto


async def _console(tmp_path: Path, superuser: bool) -> AsyncIterator[Console]:
    async with in_process(tmp_path) as (client, eng):
        if superuser:
            await upsert_superuser(eng, *SU)
        yield Console(client, eng)


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Console]:
    """A new install: no superuser yet."""
    async for c in _console(tmp_path, superuser=False):
        yield c


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """An install with the superuser ``SU``."""
    async for c in _console(tmp_path, superuser=True):
        yield c


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    """moto_server with IAM checks on: its first three requests (no auth) make a user with an
    access key allowed s3:*; every later request must be signed with that key."""
    # import here: boto3 comes with moto[server] (test extra) and only this fixture needs it
    import boto3

    with running_moto(INITIAL_NO_AUTH_ACTION_COUNT="3", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x") as url:
        iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        iam.create_user(UserName="baas")
        key = iam.create_access_key(UserName="baas")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="baas", PolicyName="s3", PolicyDocument=json.dumps(policy))
        server = S3(url, key["AccessKeyId"], key["SecretAccessKey"])
        server.client().make_bucket("probe-bucket")
        yield server
