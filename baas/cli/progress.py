"""Progress of long CLI steps: a bar per step on a terminal (tqdm, on stderr), else a line per step."""

from __future__ import annotations

import sys
from typing import Any

import typer
from tqdm import tqdm


class ProgressBar:
    """A progress bar per step on a terminal (tqdm, on stderr); elsewhere one line per step."""

    def __init__(self) -> None:
        self.step = ""
        self.bar: Any = None
        self.tty = sys.stderr.isatty()

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self.step:
            self.close()
            self.step = step
            if self.tty:
                self.bar = tqdm(
                    desc=step,
                    total=total,
                    unit=" files" if step == "files" else " rows" if step.startswith("search") else "",
                    leave=True,
                )
            else:
                typer.echo(f"  {step}", err=True)
        if self.bar is not None:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
