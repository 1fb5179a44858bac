"""Realtime fixtures: SSE clients on the in-process app (`SSE` and helpers: tests/harness.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness import SSE, Api, app_of


@pytest.fixture
def sse_factory(api: Api) -> Callable[..., SSE]:
    def make(headers: list[tuple[bytes, bytes]] | None = None) -> SSE:
        return SSE(app_of(api), headers)

    return make
