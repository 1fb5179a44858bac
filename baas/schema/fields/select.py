"""``select``: one or several values out of a fixed list."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import MultiValueField


class SelectField(MultiValueField, tag="select", kw_only=True):
    values: list[str] = []

    def validate(self, value: Any) -> None:
        super().validate(value)
        for v in value if isinstance(value, list) else [value] if value else []:
            if v not in self.values:
                raise FieldError(
                    "validation_invalid_value", f"Value must be one of: {', '.join(self.values)}.", {"value": v}
                )
