"""``number``: a float with optional min/max and an integers-only switch."""

from __future__ import annotations

import math
from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


class NumberField(Field, tag="number", kw_only=True):
    min: float | None = None
    max: float | None = None
    onlyInt: bool = False

    storage = "number"

    def prepare(self, value: Any) -> Any:
        if value is None or value == "":
            return 0
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, (int, float)):
            try:
                n = float(value)
            except OverflowError:
                raise FieldError("validation_invalid_number", "Must be a valid number.") from None
        elif isinstance(value, str):
            try:
                n = float(value.strip())
            except ValueError:
                raise FieldError("validation_invalid_number", "Must be a valid number.") from None
        else:
            raise FieldError("validation_invalid_number", "Must be a valid number.")
        if math.isnan(n) or math.isinf(n):
            raise FieldError("validation_invalid_number", "Must be a valid number.")
        return int(n) if n.is_integer() and abs(n) < 2**53 else n

    def validate(self, value: Any) -> None:
        super().validate(value)
        if self.onlyInt and not float(value).is_integer():
            raise FieldError("validation_only_int_constraint", "Decimal numbers are not allowed.")
        if self.min is not None and value < self.min:
            raise FieldError("validation_min_number_constraint", f"Must be larger than {_fmt(self.min)}.",
                             {"min": self.min})
        if self.max is not None and value > self.max:
            raise FieldError("validation_max_number_constraint", f"Must be less than {_fmt(self.max)}.",
                             {"max": self.max})

    def modify(self, current: Any, op: str, value: Any) -> Any:
        if op == "^":
            return super().modify(current, op, value)
        delta = self.prepare(value)
        cur = current or 0
        out = cur + delta if op == "+" else cur - delta
        return int(out) if float(out).is_integer() and abs(out) < 2**53 else out
