"""Field types, one module each, and the ``FIELD_TYPES`` registry keyed by ``type``."""

from __future__ import annotations

from baas.schema.fields.base import Field, MultiValueField, as_list, type_name
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

AnyField = (
    TextField
    | NumberField
    | BoolField
    | EmailField
    | URLField
    | EditorField
    | DateField
    | AutodateField
    | SelectField
    | JSONField
    | RelationField
    | FileField
    | PasswordField
)

# The members of `AnyField`, in its order (msgspec decodes a field by its ``type`` tag among these).
FIELD_CLASSES: tuple[type[Field], ...] = (
    TextField,
    NumberField,
    BoolField,
    EmailField,
    URLField,
    EditorField,
    DateField,
    AutodateField,
    SelectField,
    JSONField,
    RelationField,
    FileField,
    PasswordField,
)
FIELD_TYPES: dict[str, type[Field]] = {type_name(cls): cls for cls in FIELD_CLASSES}

__all__ = [
    "AnyField",
    "FIELD_CLASSES",
    "FIELD_TYPES",
    "Field",
    "MultiValueField",
    "as_list",
    "type_name",
    "AutodateField",
    "BoolField",
    "DateField",
    "EditorField",
    "EmailField",
    "FileField",
    "JSONField",
    "NumberField",
    "PasswordField",
    "RelationField",
    "SelectField",
    "TextField",
    "URLField",
]
