"""Fixtures for the rule tests: the dataset seeded into the backend under test (`seed`: tests/harness.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import seed


@pytest.fixture
async def seeded(database: Any) -> Any:
    await seed(database)
    return database
