"""The engine's background work (``Engine.tasks``): work that runs after a response (mails, …)
and that the engine waits for before it closes the database.

    eng.tasks.spawn(flows.send_verification(eng, coll, email), "verification email")
    await eng.tasks.drain()        # tests, and Engine.stop
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger("baas")


class TaskGroup:
    """Background tasks of one engine: failures are logged, never raised to anyone."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._tasks: set[asyncio.Future[None]] = set()
        self._log = logger

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Awaitable[Any], what: str) -> None:
        """Run ``work`` in the background, logging (not raising) its failure as ``what failed``."""
        task = asyncio.ensure_future(self._guard(work, what))
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Awaitable[Any], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never reaches a client; the type is enough to act on, no secret is logged
            self._log.warning("%s failed: %s", what, type(exc).__name__, exc_info=self._log.isEnabledFor(logging.DEBUG))

    async def drain(self) -> None:
        """Wait for every task, including those spawned meanwhile."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
