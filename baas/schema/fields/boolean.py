"""``bool``: true or false; required means it must be true, as in PocketBase."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field

_TRUE = {"true", "1", "on", "yes", "t"}
_FALSE = {"false", "0", "off", "no", "f", ""}


class BoolField(Field, tag="bool", kw_only=True):
    storage = "bool"

    def prepare(self, value: Any) -> Any:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise FieldError("validation_invalid_bool", "Must be a valid boolean.")
