"""``text``: a string with optional length limits, a pattern and an autogenerate pattern."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class TextField(Field, tag="text", kw_only=True):
    min: int = 0
    max: int = 0
    pattern: str = ""
    autogeneratePattern: str = ""
    primaryKey: bool = False

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value == "":
            return
        n = len(value)
        if self.min and n < self.min:
            raise FieldError("validation_min_text_constraint", f"Must be at least {self.min} character(s).",
                             {"min": self.min})
        limit = self.max or 5000
        if n > limit:
            raise FieldError("validation_max_text_constraint", f"Must be less than {limit} character(s).",
                             {"max": limit})
        if self.pattern and not compiled(self.pattern).search(value):
            raise FieldError("validation_invalid_format", "Invalid value format.")
