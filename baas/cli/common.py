"""What every ``baas`` command shares: the ``--dir`` / ``--db`` options, the error exit and running
a coroutine against a started engine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer

from baas.core import Engine
from baas.errors import ApiError, SchemaError
from baas.settings import Settings

T = TypeVar("T")

# Each option also reads its environment variable when not given (a container sets them once, and every
# command run in it — `baas serve`, `baas superuser upsert` — finds the same data; docs/settings.md).
DirOpt = typer.Option("baas_data", "--dir", envvar="BAAS_DIR", help="Data directory (SQLite file, files, secret).")
DbOpt = typer.Option(
    "", "--db", envvar="BAAS_DB", help="Database URL, e.g. postgresql://user@host/db (default: SQLite in --dir)."
)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def with_engine(settings: Settings, fn: Callable[[Engine], Awaitable[T]], plugins: bool = False) -> T:
    """Start an engine on ``settings``, ``await fn(engine)``, stop it; what ``fn`` returned. Schema,
    API and OS errors end the command with their message (`fail`)."""

    async def run() -> T:
        eng = Engine(settings)
        if plugins:  # their on_start work (tables) runs here once, before any worker starts
            eng.load_plugins()
        await eng.start()
        try:
            return await fn(eng)
        finally:
            await eng.stop()

    try:
        return asyncio.run(run())
    except SchemaError as exc:
        fail(exc.describe())
    except ApiError as exc:
        detail = "; ".join(f"{k}: {v.message if hasattr(v, 'message') else v}" for k, v in exc.data.items())
        fail(f"{exc.message} {detail}".strip())
    except (OSError, ValueError) as exc:
        fail(str(exc))
