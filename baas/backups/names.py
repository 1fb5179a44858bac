"""Backup names and the error every backup operation raises (shared by the archive code and the
stores)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.zip$")


class BackupError(ValueError):
    """A backup can't be made, read or restored; the message says why (the CLI prints it, the API
    answers 400)."""


class BackupNameError(BackupError):
    """The name is not a backup's, or is taken."""


@dataclass(frozen=True)
class BackupInfo:
    key: str
    size: int
    modified: str  # "2026-12-01 08:30:00.000Z", as PocketBase lists backups


def default_name(prefix: str = "baas_backup_", *, ms: bool = False) -> str:
    """``<prefix><UTC time>.zip``: to the second, or to the millisecond (``ms``, scheduled backups:
    their names sort by time and two runs in one second still differ)."""
    now = datetime.now(UTC)
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}.zip" if ms else f"{prefix}{now:%Y%m%d%H%M%S}.zip"


def check_name(name: str) -> str:
    if not NAME.match(name) or ".." in name:
        raise BackupNameError(f"invalid backup name {name!r}: letters, digits, '_', '-', '.', ending in .zip")
    return name
