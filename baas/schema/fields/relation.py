"""``relation``: ids of records in another collection (existence is checked on write)."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import MultiValueField


class RelationField(MultiValueField, tag="relation", kw_only=True):
    collectionId: str = ""
    cascadeDelete: bool = False
    minSelect: int = 0

    def validate(self, value: Any) -> None:
        super().validate(value)
        n = len(value) if isinstance(value, list) else (1 if value else 0)
        if n and self.minSelect and n < self.minSelect:
            raise FieldError(
                "validation_not_enough_values", f"Select at least {self.minSelect}.", {"minSelect": self.minSelect}
            )
