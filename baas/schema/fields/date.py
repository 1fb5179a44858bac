"""``date`` and ``autodate``: stored as ``YYYY-MM-DD HH:MM:SS.mmmZ`` text in UTC."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.ids import format_dt, parse_dt
from baas.schema.fields.base import Field


class DateField(Field, tag="date", kw_only=True):
    min: str = ""
    max: str = ""

    def prepare(self, value: Any) -> Any:
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            raise FieldError("validation_invalid_date", "Must be a valid date.")
        dt = parse_dt(value)
        if dt is None:
            raise FieldError("validation_invalid_date", "Must be a valid date.")
        return format_dt(dt)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value == "":
            return
        lo = parse_dt(self.min) if self.min else None
        hi = parse_dt(self.max) if self.max else None
        if lo is not None and value < format_dt(lo):
            raise FieldError("validation_min_date_constraint", f"The date must be after {format_dt(lo)}.")
        if hi is not None and value > format_dt(hi):
            raise FieldError("validation_max_date_constraint", f"The date must be before {format_dt(hi)}.")


class AutodateField(Field, tag="autodate", kw_only=True):
    """Set by the server on create and/or update; client values are ignored."""

    onCreate: bool = True
    onUpdate: bool = False
