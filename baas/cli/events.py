"""``baas events``: follow the event stream, run a durable consumer, list consumers, prune."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncGenerator
from typing import cast

import msgspec
import typer

from baas.cli.common import DbOpt, DirOpt, fail, with_engine
from baas.core import Engine
from baas.events.consumer import drop_consumer, list_consumers
from baas.events.stream import Event
from baas.settings import Settings
from baas.webhooks.dispatch import CONSUMER as WEBHOOKS_CONSUMER

events_app = typer.Typer(
    help="The durable event stream (record creates, updates and deletes).", no_args_is_help=True, rich_markup_mode=None
)  # plain help, as in main.py

_encode = msgspec.json.Encoder().encode


def _print(events: list[Event]) -> None:
    out = sys.stdout.buffer
    for event in events:
        out.write(_encode(event) + b"\n")
    out.flush()


def _stop_event() -> asyncio.Event:
    """Set on SIGTERM/SIGINT, so a follower stops cleanly (the engine closes the database)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on this platform
            pass
    return stop


@events_app.command("tail")
def events_tail(
    consumer: str = typer.Option(
        "",
        "--consumer",
        help="A durable consumer: resume from its saved position and save it after each printed batch.",
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep waiting for new events (always on without --consumer)."
    ),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="A new consumer starts at the oldest retained event instead of now."
    ),
    limit: int = typer.Option(0, "--limit", help="Stop after this many events (0: no limit)."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Print events as JSON lines: new ones as they are committed, or a consumer's unread ones."""
    if consumer == WEBHOOKS_CONSUMER:  # its position is the webhook fan-out's: moving it would skip deliveries
        fail(f"the consumer name {consumer!r} is reserved for outgoing webhooks (docs/webhooks.md)")

    async def run(eng: Engine) -> None:
        stop = _stop_event()
        printed = 0
        if consumer:
            c = eng.events.consumer(consumer, start="beginning" if from_beginning else "now")
            typer.echo(f"consumer {consumer} at {await c.position()}", err=True)
            # An async generator (typed AsyncIterator by baas.events): closed below, once we stop reading.
            batches = cast(
                "AsyncGenerator[list[Event], None]",
                c.batches(limit=min(limit, 500) if limit else 500, follow=follow, autocommit=False),
            )
            while not stop.is_set():
                nxt = asyncio.ensure_future(anext(batches, None))
                halt = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({nxt, halt}, return_when=asyncio.FIRST_COMPLETED)
                halt.cancel()
                if nxt not in done:
                    nxt.cancel()
                    break
                batch = nxt.result()
                if batch is None:
                    break
                if limit:
                    batch = batch[: limit - printed]
                _print(batch)
                printed += len(batch)
                await c.commit(batch[-1].id)  # saved only once printed: at-least-once
                if limit and printed >= limit:
                    break
            await batches.aclose()
            return
        done_printing = asyncio.Event()

        def on_events(events: list[Event]) -> None:
            nonlocal printed
            if limit:
                events = events[: limit - printed]
            _print(events)
            printed += len(events)
            if limit and printed >= limit:
                done_printing.set()

        unlisten = eng.events.listen(on_events)
        typer.echo(f"listening after event {eng.events.last_id}", err=True)
        try:
            await asyncio.wait(
                {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(done_printing.wait())},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            unlisten()

    with_engine(Settings(data_dir=data_dir, db_url=db), run)


@events_app.command("consumers")
def events_consumers(
    data_dir: str = DirOpt,
    db: str = DbOpt,
    drop: str = typer.Option("", "--drop", help="Forget this consumer (it stops holding back retention)."),
) -> None:
    """List durable consumers with their positions (or drop one)."""
    settings = Settings(data_dir=data_dir, db_url=db)
    if drop == WEBHOOKS_CONSUMER:
        fail(f"the consumer {drop!r} is the outgoing webhooks' own (docs/webhooks.md); it can't be dropped")
    if drop:
        if not with_engine(settings, lambda eng: drop_consumer(eng.db, drop)):
            fail(f"no consumer named {drop!r}")
        typer.echo(f"Dropped consumer {drop}.")
        return

    async def listing(eng: Engine) -> tuple[list[tuple[str, int, str]], int | None]:
        consumers = await list_consumers(eng.db)
        newest: int | None = await eng.db.fetchval('SELECT max("id") FROM "_events"')
        return consumers, newest

    rows, newest = with_engine(settings, listing)
    typer.echo(f"newest event: {newest or 0}")
    for name, position, updated in rows:
        typer.echo(f"{name}\t{position}\t{updated}")


@events_app.command("prune")
def events_prune(data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """Delete events past retention (events.retentionDays) that every live consumer has read."""
    n = with_engine(Settings(data_dir=data_dir, db_url=db), lambda eng: eng.events.prune())
    typer.echo(f"Pruned {n} event{'s' if n != 1 else ''}.")
