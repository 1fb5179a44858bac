"""``json``: any JSON value, with a size limit."""

from __future__ import annotations

import json
from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import Field, refuse_nul


class JSONField(Field, tag="json", kw_only=True):
    maxSize: int = 0

    storage = "json"

    def prepare(self, value: Any) -> Any:
        # Form values arrive as text: a JSON document in a string is parsed, as PocketBase does.
        if isinstance(value, str):
            try:
                return refuse_nul(json.loads(value)) if value.strip() else None
            except ValueError:
                return refuse_nul(value)
        return refuse_nul(value)

    def is_empty(self, value: Any) -> bool:
        return value in (None, "", [], {})

    def validate(self, value: Any) -> None:
        super().validate(value)
        limit = self.maxSize or 1 << 20
        if len(json.dumps(value, separators=(",", ":"))) > limit:
            raise FieldError(
                "validation_json_size_limit", f"The maximum allowed JSON size is {limit} bytes.", {"maxSize": limit}
            )

    def to_db(self, value: Any, dialect: str) -> Any:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def to_api(self, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            return raw
        try:
            return json.loads(raw)
        except ValueError:
            # A view's column typed json (an expression the planner can't type) may hold plain
            # text, e.g. `SELECT 'hello' AS note`: PocketBase answers it as a string, so do we.
            return raw
