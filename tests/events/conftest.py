"""Fixtures for the event stream: an engine with a small schema (helpers: tests/harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.core import Engine
from baas.schema.loader import load_schema_text
from tests.harness import start_engine

SCHEMA = """
collections:
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: n, type: number}
      - {name: text, type: text}
"""


@pytest.fixture
async def engine(tmp_path: Path, db_url: str) -> AsyncIterator[Engine]:
    """A started engine with a ``notes`` collection."""
    eng = await start_engine(tmp_path, db_url)
    await eng.apply(lambda: [*eng.registry.all(), *load_schema_text(SCHEMA).collections])
    yield eng
    await eng.stop()
