"""The typed results of loading ``baas.yaml`` and the field-type registry (issue 11).

`load_schema_text` returns a `LoadedSchema`: the file's content plus where each collection and
job starts (``lines``, ``job_lines``), declared fields rather than attributes written into the
instance. Those are not keys of the file format: the JSON Schema does not list them, and a file
that uses them as keys is refused as before.
"""

from __future__ import annotations

import typing
from pathlib import Path

import msgspec
import pytest

import baas.schema.fields as fields_pkg
from baas.core import Engine
from baas.errors import SchemaError
from baas.schema.fields import FIELD_CLASSES, FIELD_TYPES, AnyField
from baas.schema.loader import LoadedSchema, SchemaFile, load_schema_text

TWO = """\
collections:
  - name: posts
    fields:
      - {name: title, type: text}

  - name: notes
    fields:
      - {name: body, type: text}
jobs:
  - name: sweep
    schedule: "@every 1h"
    task: files.sweep
"""


def test_loaded_schema_declares_where_things_start() -> None:
    schema = load_schema_text(TWO)
    assert isinstance(schema, LoadedSchema) and isinstance(schema, SchemaFile)
    assert schema.lines == {"posts": 2, "notes": 6}
    assert schema.job_lines == {"sweep": 10}
    assert [c.name for c in schema.collections] == ["posts", "notes"]


def test_lines_are_not_keys_of_the_file_format() -> None:
    props = msgspec.json.schema(SchemaFile)["$defs"]["SchemaFile"]["properties"]
    assert set(props) == {"collections", "plugins", "functions", "jobs", "webhooks", "inboundWebhooks"}
    for key in ("lines", "job_lines", "inbound_lines"):
        with pytest.raises(SchemaError, match=f"unknown field `{key}`"):
            load_schema_text(f"collections: []\n{key}: {{}}\n")


async def test_a_planning_error_names_the_collection_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "baas.yaml"
    path.write_text(TWO.replace("{name: body, type: text}", "{name: ref, type: relation, collection: nowhere}"))
    with pytest.raises(SchemaError) as info:
        await engine.plan_file(str(path))
    assert info.value.line == 6 and "nowhere" in info.value.message


def test_field_registry_matches_the_union() -> None:
    assert FIELD_CLASSES == typing.get_args(AnyField)
    assert list(FIELD_TYPES.values()) == list(FIELD_CLASSES)
    assert all(FIELD_TYPES[cls(name="x").type] is cls for cls in FIELD_CLASSES)
    assert all(hasattr(fields_pkg, name) for name in fields_pkg.__all__)
