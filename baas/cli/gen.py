"""``baas gen types``: write the schema's collections as Python or TypeScript types (docs/cli.md).

Bad input (an unknown --lang, a schema with errors, an unreachable --url, no token) ends with
exit status 2 and writes nothing; ``--check`` ends with status 1 when the file is stale."""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import typer

from baas.core import Engine
from baas.errors import SchemaError
from baas.settings import Settings
from baas.typegen import LANGS, TypegenError, collections_from_url, generate, public_url

gen_app = typer.Typer(
    help="Generate code from the schema (typed SDK collections).", no_args_is_help=True, rich_markup_mode=None
)


def _bad(message: str) -> NoReturn:
    """Bad input: say so on stderr and exit with status 2 (as a usage error does)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@gen_app.command("types")
def gen_types(
    lang: str = typer.Option(..., "--lang", help="python (TypedDicts for baas_client) or ts (for baas-client)."),
    schema: Path | None = typer.Option(None, "--schema", help="The baas.yaml to read (default: ./baas.yaml)."),
    url: str = typer.Option("", "--url", help="Read a running server's collections instead (GET /api/collections)."),
    token: str = typer.Option(
        "", "--token", envvar="BAAS_TOKEN", show_envvar=True, help="A superuser auth token, for --url."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (atomically) instead of stdout."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the -o file is stale (for CI)."),
) -> None:
    """Write typed collections (record, create and update types per collection, and a typed client)."""
    if lang not in LANGS:
        _bad(f"unknown --lang {lang!r}: use python or ts")
    if schema is not None and url:
        _bad("pass --schema or --url, not both")
    if check and out is None:
        _bad("--check compares with the -o file: pass -o FILE")
    if out is not None and not out.parent.is_dir():
        _bad(f"cannot write {out}: no directory {out.parent}")
    command = ["baas", "gen", "types", "--lang", lang]
    try:
        if url:
            command += ["--url", public_url(url)]
            collections = collections_from_url(url, token)
        else:
            path = schema or Path("baas.yaml")
            if schema is not None:
                command += ["--schema", str(schema)]
            if not path.is_file():
                _bad(f"no schema file {str(path)!r} (pass --schema FILE or --url URL)")
            collections = collections_from_schema(str(path))
        text = generate(collections, lang, shlex.join(command))
    except TypegenError as exc:
        _bad(str(exc))
    if out is None:
        typer.echo(text, nl=False)
    elif check:
        current = out.read_text() if out.is_file() else None
        if current != text:
            state = "missing" if current is None else "stale"
            typer.echo(f"{out} is {state}: run {shlex.join([*command, '-o', str(out)])}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is up to date.")
    else:
        _write_atomically(out, text)
        typer.echo(f"Wrote {out}.", err=True)


def collections_from_schema(path: str) -> list[dict[str, Any]]:
    """The collections a fresh install has after applying ``path``: the file's (normalised: ids,
    system fields, relation targets, a view's fields read from its query) plus the built-in ones.
    Planned on a scratch SQLite engine, removed afterwards."""

    async def plan(data_dir: str) -> list[dict[str, Any]]:
        eng = Engine(Settings(data_dir=data_dir))
        await eng.start()
        try:
            return [c.to_api() for c in (await eng.plan_file(path)).target]
        finally:
            await eng.stop()

    with tempfile.TemporaryDirectory(prefix="baas-typegen-") as scratch:
        try:
            return asyncio.run(plan(scratch))
        except SchemaError as exc:  # the loader's and planner's errors name the file and line
            raise TypegenError(exc.describe()) from None


def _write_atomically(path: Path, text: str) -> None:
    """Write a sibling temporary file, then rename it over ``path``: a reader (or a crash)
    sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
