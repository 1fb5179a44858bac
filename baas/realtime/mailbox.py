"""Requests for a client held by another process or node, through the shared database.

With several workers or nodes, a client's SSE connection lives in one process, but its
``POST /api/realtime`` (or the OAuth2 redirect meant for it) may reach any other. A client id
starts with the id of the process holding it, so the receiving process writes the request as
a short-lived row for that process and waits for the answer; the holder polls for requests
addressed to it while it has clients, applies them and writes the answer back. The answer comes
after the change is applied: once a subscribe call returns, events written afterwards are
matched against the new topics, on whichever process they were written.

Rows live in ``_params`` under ids ``realtime:<process>:<request>`` with a JSON value
``{"kind", "client", "payload", "status", "answer"}``; the asker deletes its row once answered,
and stale rows (an asker that died waiting) are deleted after ``STALE`` seconds. Nothing but a
client id, subscription topics and the auth record the request resolved (plus a one-way tag of
its credential) is written: never a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import msgspec

from baas.db.base import Conn, Database
from baas.ids import format_dt, now_str
from baas.realtime.client import AuthState, random_id

if TYPE_CHECKING:  # the broker creates its mailbox
    from baas.realtime.broker import Broker

log = logging.getLogger("baas.realtime")
PREFIX = "realtime:"
WAIT = 3.0  # seconds an asker waits for the holder before answering 404
STALE = 120.0  # seconds after which any leftover row is deleted
_decode = msgspec.json.decode
_encode = msgspec.json.encode


class Mailbox:
    """The broker's link to its peers."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._last_cleanup = 0.0
        self._last_request = 0.0
        self._asked: dict[str, asyncio.Future[int]] = {}  # row id -> its answer
        self._unanswered: list[str] = []  # rows of asks that timed out: to delete
        self._collector: asyncio.Task[None] | None = None

    @property
    def db(self) -> Database:
        return self.broker.eng.db

    @property
    def interval(self) -> float:
        """Seconds between looks: 10 ms for a while after a request came (clients tend to
        subscribe in bursts: connect, subscribe, resubscribe), else 50 ms — an indexed read
        of an almost empty range, cheap but not free when idle."""
        return 0.01 if time.monotonic() - self._last_request < 2.0 else 0.05

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name="realtime-mailbox")

    async def stop(self) -> None:
        if self._collector is not None:
            self._collector.cancel()
            self._collector = None
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    def wake(self) -> None:
        """A client connected: start polling (polling pauses while there is none)."""
        self._wake.set()

    # -- the asking side --------------------------------------------------------------------------
    async def ask(self, client_id: str, kind: str, payload: dict[str, Any]) -> int:
        """Send a request to the process holding ``client_id``; its status (204, 403, 200, 404 …),
        or 404 when no process answers within ``WAIT`` seconds.

        Concurrent asks share one collector: a burst of subscriptions (a page with many tabs, a
        reconnect storm) costs one read per tick, not one per waiting request."""
        owner = client_id[:8]
        if not owner.isalnum():
            return 404
        row_id = f"{PREFIX}{owner}:{random_id(16)}"
        value = _encode({"kind": kind, "client": client_id, "payload": payload, "status": 0}).decode()
        await self.db.write(
            lambda conn: conn.execute(
                'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)', [row_id, value, now_str()]
            )
        )
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._asked[row_id] = answer
        if self._collector is None or self._collector.done():
            self._collector = asyncio.create_task(self._collect(), name="realtime-mailbox-answers")
        try:
            return await asyncio.wait_for(asyncio.shield(answer), WAIT)
        except TimeoutError:
            return 404
        finally:
            if self._asked.pop(row_id, None) is not None:  # not answered: the row is ours to delete
                self._unanswered.append(row_id)

    async def _collect(self) -> None:
        """Read the answers to this process's open requests, a tick at a time, and delete the
        rows once read."""
        while self._asked or self._unanswered:
            await asyncio.sleep(0.005)
            try:
                ids = list(self._asked)
                done: list[str] = []
                for i in range(0, len(ids), 500):
                    part = ids[i : i + 500]
                    marks = ", ".join("?" for _ in part)
                    found = await self.db.fetch(f'SELECT "id", "value" FROM "_params" WHERE "id" IN ({marks})', part)
                    rows: dict[str, str] = {row[0]: row[1] for row in found}
                    for row_id in part:
                        raw = rows.get(row_id)
                        status = 404 if raw is None else int(_decode(raw).get("status") or 0)
                        future = self._asked.get(row_id) if status else None
                        if future is not None:
                            del self._asked[row_id]
                            done.append(row_id)
                            if not future.done():
                                future.set_result(status)
                done += self._unanswered
                self._unanswered = []
                if done:
                    await self.db.write(partial(_delete_rows, ids=done))
            except asyncio.CancelledError:
                raise
            except Exception:  # a leftover row is removed by the stale-row cleanup
                log.warning("realtime: reading mailbox answers failed", exc_info=True)
                await asyncio.sleep(0.1)

    # -- the holding side -------------------------------------------------------------------------
    async def _serve(self) -> None:
        lo = f"{PREFIX}{self.broker.instance}:"
        hi = f"{PREFIX}{self.broker.instance};"  # ";" follows ":": the range is exactly our prefix
        while True:
            if not self.broker.clients:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(self.interval)
            try:
                rows = await self.db.fetch('SELECT "id", "value" FROM "_params" WHERE "id" > ? AND "id" < ?', [lo, hi])
                open_ = [(row_id, _decode(raw)) for row_id, raw in rows]
                open_ = [(row_id, request) for row_id, request in open_ if not request.get("status")]
                # All at once: the subscriptions share one event-bus sync and one queue pass.
                statuses = await asyncio.gather(*(self._answer(request) for _, request in open_))
                answers = [
                    (row_id, {**request, "status": status}) for (row_id, request), status in zip(open_, statuses)
                ]
                if answers:
                    self._last_request = time.monotonic()
                    await self.db.write(partial(_write_answers, answers=answers))
                if time.monotonic() - self._last_cleanup > STALE:
                    self._last_cleanup = time.monotonic()
                    await self._cleanup()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("realtime: mailbox poll failed", exc_info=True)
                await asyncio.sleep(1.0)

    async def _answer(self, request: dict[str, Any]) -> int:
        payload = request.get("payload") or {}
        client_id = str(request.get("client", ""))
        if request.get("kind") == "subscribe":
            subs = [s for s in payload.get("subscriptions") or [] if isinstance(s, str)]
            return await self.broker.subscribe(client_id, AuthState.from_json(payload.get("auth")), subs)
        if request.get("kind") == "oauth2":
            return 200 if self.broker.send_oauth2(client_id, payload.get("data") or {}) else 404
        return 400

    async def _cleanup(self) -> None:
        cutoff = format_dt(datetime.now(UTC) - timedelta(seconds=STALE))
        await self.db.write(
            lambda conn: conn.execute(
                'DELETE FROM "_params" WHERE "id" > ? AND "id" < ? AND "updated" < ?', [PREFIX, "realtime;", cutoff]
            )
        )


async def _write_answers(conn: Conn, answers: list[tuple[str, dict[str, Any]]]) -> None:
    for row_id, value in answers:
        await conn.execute('UPDATE "_params" SET "value" = ? WHERE "id" = ?', [_encode(value).decode(), row_id])


async def _delete_rows(conn: Conn, ids: list[str]) -> None:
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        await conn.execute(f'DELETE FROM "_params" WHERE "id" IN ({", ".join("?" for _ in part)})', part)
