"""The field protocol every field type implements, and its shared base Struct.

A field knows its storage (``text``, ``number``, ``bool`` or ``json``), how to turn an incoming
value into the value it stores (``prepare``), how to check it (``validate``) and how to show a
stored value (``to_api``). Multi-value fields (select, relation, file) store a JSON array.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, cast

import msgspec

from baas.errors import FieldError


class Field(msgspec.Struct, tag_field="type", kw_only=True, forbid_unknown_fields=False):
    """Options every field has; subclasses add their own and are tagged by ``type``."""

    name: str
    id: str = ""
    system: bool = False
    hidden: bool = False
    presentable: bool = False
    required: bool = False

    storage: ClassVar[str] = "text"

    @property
    def type(self) -> str:
        return cast(str, type(self).__struct_config__.tag)  # see type_name

    def is_multi(self) -> bool:
        return False

    def kind(self) -> str:
        """The stored kind: ``text``, ``number``, ``bool``, or ``json`` (multi-value fields too)."""
        return "json" if self.is_multi() else self.storage

    def default(self) -> Any:
        """The stored value of an unset field."""
        if self.storage == "number":
            return 0
        if self.storage == "bool":
            return False
        if self.is_multi():
            return []
        return None if self.storage == "json" else ""

    def prepare(self, value: Any) -> Any:
        """Turn an incoming JSON or form value into the stored Python value."""
        if value is None:
            return self.default()
        if isinstance(value, (dict, list)):
            raise FieldError("validation_invalid_value", "Invalid value.")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return refuse_nul(str(value))

    def is_empty(self, value: Any) -> bool:
        return value in (None, "", 0, False, [], {})

    def validate(self, value: Any) -> None:
        """Raise `FieldError` if a prepared value breaks the field's options."""
        if self.required and self.is_empty(value):
            raise FieldError("validation_required", "Cannot be blank.")

    def modify(self, current: Any, op: str, value: Any) -> Any:
        """Apply a ``field+`` (op ``+``), ``+field`` (op ``^``) or ``field-`` modifier."""
        raise FieldError("validation_invalid_modifier", f"The {op!r} modifier is not supported by {self.type} fields.")

    # -- storage ----------------------------------------------------------------------------
    def to_db(self, value: Any, dialect: str) -> Any:
        kind = self.kind()
        if kind == "json":  # a JSON document as text; PostgreSQL's jsonb accepts it as such
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if kind == "bool" and dialect == "sqlite":
            return 1 if value else 0
        if kind == "number":
            return float(value)
        return value

    def to_api(self, raw: Any) -> Any:
        """The JSON value of a stored column value."""
        kind = self.kind()
        if kind == "json":
            if raw is None or raw == "":
                return self.default()
            return json.loads(raw) if isinstance(raw, str) else raw
        if kind == "bool":
            return bool(raw)
        if kind == "number":
            if raw is None:
                return 0
            f = float(raw)
            return int(f) if f.is_integer() and abs(f) < 2**53 else f
        return "" if raw is None else raw

    def from_db(self, raw: Any) -> Any:
        """The Python value of a stored column value (same as the API value by default)."""
        return self.to_api(raw)


def type_name(cls: type[Field]) -> str:
    """The ``type`` tag of a field class (``text``, ``relation``, …): every field type is tagged
    with a string (msgspec types the tag as ``str | int | None``)."""
    return cast(str, cls.__struct_config__.tag)


def refuse_nul(value: Any) -> Any:
    """``value`` unchanged, unless a string in it (JSON keys too) holds NUL: no backend stores
    that alike (PostgreSQL's text and jsonb refuse it), so it is refused on all of them."""
    if isinstance(value, str):
        if "\x00" in value:
            raise FieldError("validation_invalid_value", "Must not contain NUL characters.")
    elif isinstance(value, dict):
        for k, v in value.items():
            refuse_nul(k)
            refuse_nul(v)
    elif isinstance(value, list):
        for v in value:
            refuse_nul(v)
    return value


def as_list(value: Any) -> list[Any]:
    """Multi-value input: a list, a JSON array in a string, one value, or nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(parsed, list):
            return parsed
    return [value]


class MultiValueField(Field, kw_only=True):
    """Shared behaviour of select, relation and file: one string, or a JSON array of them."""

    maxSelect: int = 1

    def is_multi(self) -> bool:
        return self.maxSelect > 1

    def _values(self, value: Any) -> list[str]:
        out: list[str] = []
        for v in as_list(value):
            if isinstance(v, (dict, list)) or v is None:
                raise FieldError("validation_invalid_value", "Invalid value.")
            s = refuse_nul(v if isinstance(v, str) else str(v))
            if s and s not in out:
                out.append(s)
        return out

    def prepare(self, value: Any) -> Any:
        values = self._values(value)
        if self.is_multi():
            return values
        return values[-1] if values else ""

    def is_empty(self, value: Any) -> bool:
        return not value

    def validate(self, value: Any) -> None:
        super().validate(value)
        if self.is_multi() and len(value) > self.maxSelect:
            raise FieldError(
                "validation_too_many_values", f"Select no more than {self.maxSelect}.", {"maxSelect": self.maxSelect}
            )

    def modify(self, current: Any, op: str, value: Any) -> Any:
        cur = as_list(current) if self.is_multi() else ([current] if current else [])
        add = self._values(value)
        if op == "+":
            merged = cur + [v for v in add if v not in cur]
        elif op == "^":
            merged = [v for v in add if v not in cur] + cur
        else:
            merged = [v for v in cur if v not in add]
        return merged if self.is_multi() else (merged[-1] if merged else "")
