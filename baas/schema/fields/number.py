"""``number``: a float with optional min/max and an integers-only switch.

Strings (form values, JSON strings) are read as Go's ``strconv.ParseFloat`` reads them, since
that is what PocketBase accepts: ASCII digits only, ``_`` only between digits (``1_000``), no
surrounding blanks, hexadecimal only as a ``0x…p…`` float. Python's ``float()`` is far more
lenient (``" 12 "``, Arabic-Indic ``"١٢"``, full-width digits), so it only ever sees a string
this grammar has already accepted. A value that reads as ±Inf or NaN (``"inf"``, ``1e400``, or a
modifier's result) is refused by `NumberField.validate` with PocketBase's ``validation_not_a_number``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field

_DIGITS = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL = re.compile(rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?", re.ASCII)
_HEX_FLOAT = re.compile(rf"[+-]?0[xX](?:_?{_HEX}(?:\.(?:{_HEX})?)?|_?\.{_HEX})[pP][+-]?{_DIGITS}", re.ASCII)
_SPECIAL = {
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "nan": math.nan,
}


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _invalid() -> FieldError:
    return FieldError("validation_invalid_number", "Must be a valid number.")


def _not_a_number() -> FieldError:
    return FieldError("validation_not_a_number", "The submitted number is not properly formatted.")


def parse_number(text: str) -> float:
    """A number string as Go's ``strconv.ParseFloat`` reads it (may be ±Inf or NaN);
    ``validation_invalid_number`` for anything else."""
    if _DECIMAL.fullmatch(text):
        return float(text)  # the grammar above is a subset of what float() takes, underscores included
    if _HEX_FLOAT.fullmatch(text):
        sign, body = (text[0], text[1:]) if text[0] in "+-" else ("", text)
        n = float.fromhex(body.replace("_", ""))  # fromhex takes no underscores
        return -n if sign == "-" else n
    special = _SPECIAL.get(text.lower()) if text.isascii() else None
    if special is None:
        raise _invalid()
    return special


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except (OverflowError, TypeError):  # an int past float range, or not a number at all
        return False


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
            except OverflowError:  # a JSON integer past float range
                raise _not_a_number() from None
        elif isinstance(value, str):
            n = parse_number(value)
        else:
            raise _invalid()
        if not math.isfinite(n):  # a value read from input is refused at once (schema conversions too)
            raise _not_a_number()
        return _normal(n)

    def validate(self, value: Any) -> None:
        super().validate(value)
        # Every value about to be stored passes here, whatever produced it (a modifier's sum, a hook).
        if not _finite(value):
            raise _not_a_number()
        if self.onlyInt and not float(value).is_integer():
            raise FieldError("validation_only_int_constraint", "Decimal numbers are not allowed.")
        if self.min is not None and value < self.min:
            raise FieldError(
                "validation_min_number_constraint",
                f"Must be greater or equal than {_fmt(self.min)}.",
                {"min": _normal(self.min)},
            )
        if self.max is not None and value > self.max:
            raise FieldError(
                "validation_max_number_constraint",
                f"Must be less or equal than {_fmt(self.max)}.",
                {"max": _normal(self.max)},
            )

    def modify(self, current: Any, op: str, value: Any) -> Any:
        if op == "^":
            return super().modify(current, op, value)
        delta = self.prepare(value)
        cur = current or 0
        out = cur + delta if op == "+" else cur - delta
        # May be ±Inf (1e308 + 1e308): left for `validate`, which sees every stored value.
        return _normal(out) if _finite(out) else out


def _normal(n: float | int) -> float | int:
    """Whole numbers within float's exact range as int (so they print without ``.0``)."""
    return int(n) if float(n).is_integer() and abs(n) < 2**53 else n
