"""The ``@now``-style datetime macros (UTC), as PocketBase defines them."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime

from baas.ids import format_dt


def macro_value(name: str, now: datetime | None = None) -> str | int | None:
    """The value of a macro such as ``@now`` or ``@month``, or None if there is no such macro."""
    now = now or datetime.now(UTC)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = now.replace(hour=23, minute=59, second=59, microsecond=999000)
    last_day = calendar.monthrange(now.year, now.month)[1]
    values: dict[str, Callable[[], str | int]] = {
        "@now": lambda: format_dt(now),
        "@second": lambda: now.second,
        "@minute": lambda: now.minute,
        "@hour": lambda: now.hour,
        "@weekday": lambda: (now.weekday() + 1) % 7,  # Sunday is 0, as Go's time.Weekday
        "@day": lambda: now.day,
        "@month": lambda: now.month,
        "@year": lambda: now.year,
        "@todayStart": lambda: format_dt(day_start),
        "@todayEnd": lambda: format_dt(day_end),
        "@monthStart": lambda: format_dt(day_start.replace(day=1)),
        "@monthEnd": lambda: format_dt(day_end.replace(day=last_day)),
        "@yearStart": lambda: format_dt(day_start.replace(month=1, day=1)),
        "@yearEnd": lambda: format_dt(day_end.replace(month=12, day=31)),
    }
    make = values.get(name)
    return make() if make else None
