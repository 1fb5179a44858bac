"""``editor``: rich text (HTML) with a size limit."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field


class EditorField(Field, tag="editor", kw_only=True):
    maxSize: int = 0
    convertURLs: bool = False

    def validate(self, value: Any) -> None:
        super().validate(value)
        limit = self.maxSize or 5 * 1024 * 1024
        if len(value.encode()) > limit:
            raise FieldError("validation_max_text_constraint", f"Must be less than {limit} bytes.", {"max": limit})
