"""Field types, one module each, and the ``FIELD_TYPES`` registry keyed by ``type``."""

from __future__ import annotations

from baas.schema.fields.base import Field, MultiValueField, as_list
from baas.schema.fields.boolean import BoolField
from baas.schema.fields.date import AutodateField, DateField
from baas.schema.fields.editor import EditorField
from baas.schema.fields.email import EmailField, URLField
from baas.schema.fields.file import FileField
from baas.schema.fields.json_field import JSONField
from baas.schema.fields.number import NumberField
from baas.schema.fields.password import PasswordField
from baas.schema.fields.relation import RelationField
from baas.schema.fields.select import SelectField
from baas.schema.fields.text import TextField

AnyField = (TextField | NumberField | BoolField | EmailField | URLField | EditorField | DateField
            | AutodateField | SelectField | JSONField | RelationField | FileField | PasswordField)

FIELD_TYPES: dict[str, type[Field]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in AnyField.__args__  # type: ignore[attr-defined]
}

__all__ = ["AnyField", "FIELD_TYPES", "Field", "MultiValueField", "as_list", *[c.__name__ for c in AnyField.__args__]]  # type: ignore[attr-defined]
