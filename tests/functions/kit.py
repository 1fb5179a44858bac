"""Helpers for the function tests: a moto S3 server (``moto_endpoint`` is a fixture: import it into
the test module that uses it). The server accepts any key; `tests.harness.s3_settings` and
`make_bucket` give the settings and a fresh bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import running_moto


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server, for the module's tests."""
    with running_moto() as url:
        yield url
