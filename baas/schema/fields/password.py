"""``password``: an argon2id hash that is never shown; the plain value is checked, then hashed."""

from __future__ import annotations

from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field
from baas.schema.fields.text import compiled


class PasswordField(Field, tag="password", kw_only=True):
    min: int = 8
    max: int = 0
    pattern: str = ""
    cost: int = 0

    def __post_init__(self) -> None:
        self.hidden = True

    def validate(self, value: Any) -> None:
        # Validation runs on the plain text before hashing (see records.write).
        if self.required and not value:
            raise FieldError("validation_required", "Cannot be blank.")
        if not value:
            return
        if len(value) < (self.min or 1):
            raise FieldError(
                "validation_min_text_constraint", f"Must be at least {self.min} character(s).", {"min": self.min}
            )
        limit = self.max or 71
        if len(value) > limit:
            raise FieldError(
                "validation_max_text_constraint", f"Must be less than {limit} character(s).", {"max": limit}
            )
        if self.pattern:
            if not compiled(self.pattern).search(value):
                raise FieldError("validation_invalid_format", "Invalid value format.")
