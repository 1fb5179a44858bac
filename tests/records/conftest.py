"""Fixtures for the record-write service: a started engine with a small schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from baas.core import Engine
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.records.schema import SCHEMA


@pytest.fixture
async def engine(tmp_path: Any, db_url: str) -> AsyncIterator[Engine]:
    """A started engine with ``authors`` and ``posts`` (a relation to authors, a hidden field)."""
    eng = Engine(Settings(data_dir=str(tmp_path / "eng"), db_url=db_url))
    await eng.start()
    await eng.apply(lambda: [*eng.registry.all(), *load_schema_text(SCHEMA).collections])
    yield eng
    await eng.stop()
