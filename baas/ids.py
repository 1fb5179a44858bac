"""Record ids and timestamps in PocketBase's formats."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_id(length: int = 15) -> str:
    """A random id of ``[a-z0-9]`` characters (15 by default, as PocketBase)."""
    # One urandom call instead of one per character: base-36 digits of a random integer with
    # at least 64 bits more than the id needs, so the digits are uniform to within 2**-64.
    n = int.from_bytes(secrets.token_bytes((length * 6 + 7) // 8 + 8), "big")
    out = []
    for _ in range(length):
        n, d = divmod(n, 36)
        out.append(_ALPHABET[d])
    return "".join(out)


def format_dt(dt: datetime) -> str:
    """``2022-06-25 11:03:35.163Z``: UTC, milliseconds, a space between date and time."""
    dt = dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}."
        f"{dt.microsecond // 1000:03d}Z"
    )


def now_str() -> str:
    return format_dt(datetime.now(UTC))


def parse_dt(value: str) -> datetime | None:
    """Parse the date forms PocketBase accepts (RFC 3339, space or T, optional zone)."""
    v = value.strip()
    if not v:
        return None
    v = v.replace("T", " ", 1)
    if v.endswith("Z") or v.endswith("z"):
        v = v[:-1] + "+00:00"
    for fmt in (
        "%Y-%m-%d %H:%M:%S.%f%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M%z",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ):
        try:
            dt = datetime.strptime(v, fmt)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt
    return None
