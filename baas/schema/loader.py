"""``baas.yaml``: load the declared collections, with errors that name the file and line.

```yaml
collections:
  - name: posts
    listRule: ""            # anyone; omit for superusers only
    fields:
      - {name: title, type: text, required: true, max: 200}
      - {name: author, type: relation, collection: users}
    indexes:
      - {columns: [title], unique: true}
```
Relation fields may name their target with ``collection`` (a name) instead of ``collectionId``.
Base and auth collections get ``created``/``updated`` autodate fields unless ``autodate: false``.

Plugins and the project's own hooks (docs/plugins.md)::

    plugins:
      - baas_audit_log                                  # a module with register(app)
      - {module: my_plugin, settings: {level: 2}}       # with its settings section
    functions: functions                                # ./functions/ next to this file
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from baas.errors import SchemaError
from baas.schema import defaults
from baas.schema.fields import FIELD_TYPES, Field, RelationField
from baas.schema.inbound import InboundWebhook, check_inbound
from baas.schema.jobs import Job, check_jobs
from baas.schema.model import Collection
from baas.schema.webhooks import Webhook, check_webhooks

_encoder = msgspec.json.Encoder()


class PluginEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A plugin in ``baas.yaml``: its module and its settings section (``app.settings``)."""

    module: str
    settings: dict[str, Any] = {}


class SchemaFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, dict=True):
    """The top level of ``baas.yaml``."""

    collections: list[Collection] = []
    plugins: list[str | PluginEntry] = []
    functions: str = ""  # a package next to this file with the project's hooks (register(app))
    jobs: list[Job] = []  # scheduled jobs (baas/schema/jobs.py, docs/jobs.md)
    webhooks: list[Webhook] = []  # outgoing webhooks (baas/schema/webhooks.py, docs/webhooks.md)
    inboundWebhooks: list[InboundWebhook] = []  # POST /api/webhooks/in/{name} (baas/schema/inbound.py)

    def plugin_entries(self) -> list[PluginEntry]:
        return [PluginEntry(module=p) if isinstance(p, str) else p for p in self.plugins]


class LoadedSchema(SchemaFile, kw_only=True):
    """A loaded ``baas.yaml``: the file's content and where its parts start, so that errors found
    later (by the planner, or the scheduler once functions are known) can name the line.
    `SchemaFile` alone is the file format (``baas schema jsonschema``); these are not keys of it."""

    lines: dict[str, int | None] = {}  # collection name -> line of its mapping
    job_lines: dict[str, int | None] = {}  # job name -> line of its mapping
    webhook_lines: dict[str, int | None] = {}  # webhook name -> line of its mapping
    inbound_lines: dict[str, int | None] = {}  # inbound webhook name -> line of its mapping


_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_FUNCTIONS = re.compile(r"^([A-Za-z0-9_.-]+/)*[A-Za-z_][A-Za-z0-9_]*/?$")


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(node: Any, path: str, lines: dict[str, int]) -> Any:
    if isinstance(node, dict):
        if "__line__" in node:
            lines[path] = node.pop("__line__")
        return {k: _strip_lines(v, f"{path}.{k}", lines) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_lines(v, f"{path}[{i}]", lines) for i, v in enumerate(node)]
    return node


def _line_for(path: str, lines: dict[str, int]) -> int | None:
    """The line of the innermost mapping on a msgspec error path like ``$.collections[0].fields[2].max``."""
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
        if path == "$":
            return lines.get("$")
    return None


def load_schema_text(text: str, path: str = "baas.yaml") -> LoadedSchema:
    """Parse the YAML text of a schema file; raise `SchemaError` naming file, line and problem."""
    lines: dict[str, int] = {}
    raw = _strip_lines(_parse_yaml(text, path), "$", lines)
    if not isinstance(raw, dict):
        raise SchemaError("the top level must be a mapping with a 'collections' list", path=path, line=1)
    for i, c in enumerate(raw.get("collections") or []):
        if isinstance(c, dict):
            _expand_shorthands(c, f"$.collections[{i}]", path, lines)
    doc = _convert(raw, path, lines)
    _check_plugins(doc, path, lines)
    check_jobs(doc.jobs, path, lines)
    check_webhooks(doc.webhooks, path, lines)
    check_inbound(doc.inboundWebhooks, path, lines)
    schema = LoadedSchema(
        **msgspec.structs.asdict(doc),
        job_lines={j.name: lines.get(f"$.jobs[{i}]") for i, j in enumerate(doc.jobs)},
        webhook_lines={w.name: lines.get(f"$.webhooks[{i}]") for i, w in enumerate(doc.webhooks)},
        inbound_lines={h.name: lines.get(f"$.inboundWebhooks[{i}]") for i, h in enumerate(doc.inboundWebhooks)},
        # Where each collection starts, so later (semantic) errors can name the line too.
        lines={c.name: lines.get(f"$.collections[{i}]") for i, c in enumerate(doc.collections)},
    )
    names = [c.name for c in schema.collections]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise SchemaError(
                f"collection {name!r} is declared twice", path=path, line=lines.get(f"$.collections[{i}]")
            )
    return schema


def _parse_yaml(text: str, path: str) -> Any:
    """The YAML document (mappings carry ``__line__``); an empty file is an empty mapping."""
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SchemaError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}", path=path, line=mark.line + 1 if mark else None
        ) from None
    return {} if raw is None else raw


def _convert(raw: dict[str, Any], path: str, lines: dict[str, int]) -> SchemaFile:
    """``raw`` as a `SchemaFile`; msgspec's complaint becomes a `SchemaError` with the line."""
    try:
        return msgspec.convert(raw, SchemaFile)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        m = re.search(r"- at `(\$[^`]*)`", msg)
        where = m.group(1) if m else "$"
        problem = msg.split(" - at ")[0]
        if problem.startswith("Expected `str`, got `int`") or problem.startswith("Expected `str`, got `float`"):
            # YAML reads some unquoted words as numbers: 0x300 (a thumb size) is hexadecimal 768.
            problem += "; quote the value (YAML reads unquoted 0x300, 1_000 or 1e3 as numbers)"
        job = re.match(r"\$\.jobs\[(\d+)\]", where)
        if job and isinstance(raw.get("jobs"), list) and isinstance(raw["jobs"][int(job.group(1))], dict):
            problem = f"job {raw['jobs'][int(job.group(1))].get('name', job.group(1))!r}: {problem}"
        hook = re.match(r"\$\.webhooks\[(\d+)\]", where)
        if hook and isinstance(raw.get("webhooks"), list) and isinstance(raw["webhooks"][int(hook.group(1))], dict):
            problem = f"webhook {raw['webhooks'][int(hook.group(1))].get('name', hook.group(1))!r}: {problem}"
        hook = re.match(r"\$\.inboundWebhooks\[(\d+)\]", where)
        if (
            hook
            and isinstance(raw.get("inboundWebhooks"), list)
            and isinstance(raw["inboundWebhooks"][int(hook.group(1))], dict)
        ):
            entry = raw["inboundWebhooks"][int(hook.group(1))]
            problem = f"inbound webhook {entry.get('name', hook.group(1))!r}: {problem}"
        raise SchemaError(
            f"{problem} (at {where[2:] or 'top level'})", path=path, line=_line_for(where, lines)
        ) from None


def _check_plugins(schema: SchemaFile, path: str, lines: dict[str, int]) -> None:
    seen: set[str] = set()
    for i, entry in enumerate(schema.plugin_entries()):
        line = lines.get(f"$.plugins[{i}]") or lines.get("$")
        if not _MODULE.match(entry.module):
            raise SchemaError(
                f"plugin {entry.module!r} is not a module name (like my_plugin or pkg.plugin)", path=path, line=line
            )
        if entry.module in seen:
            raise SchemaError(f"plugin {entry.module!r} is listed twice", path=path, line=line)
        seen.add(entry.module)
    if schema.functions and not _FUNCTIONS.match(schema.functions):
        raise SchemaError(
            f"functions {schema.functions!r} must be a package path relative to this file whose "
            "last part is a module name (like functions or src/hooks)",
            path=path,
            line=lines.get("$"),
        )


def _struct_keys(cls: type) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(cls)}


def _check_keys(node: dict[str, Any], allowed: set[str], what: str, path: str, line: int | None) -> None:
    """A misspelt option (``requried``, ``listrule``) is an error, never silently ignored."""
    unknown = sorted(k for k in node if k not in allowed)
    if unknown:
        raise SchemaError(
            f"unknown option {unknown[0]!r} in {what} (allowed: {', '.join(sorted(allowed))})", path=path, line=line
        )


def _expand_shorthands(c: dict[str, Any], cpath: str, path: str, lines: dict[str, int]) -> None:
    _check_keys(
        c, _struct_keys(Collection) | {"autodate"}, f"collection {c.get('name', '?')!r}", path, lines.get(cpath)
    )
    autodate = c.pop("autodate", True)
    fields = c.get("fields")
    if fields is None:
        fields = c["fields"] = []
    if not isinstance(fields, list):
        raise SchemaError("'fields' must be a list", path=path, line=lines.get(cpath))
    for j, f in enumerate(fields):
        if not isinstance(f, dict):
            raise SchemaError(
                "each field must be a mapping with at least name and type", path=path, line=lines.get(cpath)
            )
        _expand_field(f, j, path, lines.get(f"{cpath}.fields[{j}]"))
    names = {f.get("name") for f in fields}
    if autodate and c.get("type", "base") in ("base", "auth") and isinstance(c.get("name"), str):
        for af in defaults.autodates(c["name"]):
            if af.name not in names:
                fields.append(msgspec.to_builtins(af))


def _expand_field(f: dict[str, Any], j: int, path: str, line: int | None) -> None:
    """Check field ``j``'s keys against its type; a relation's ``collection`` becomes ``collectionId``."""
    if "type" not in f:
        raise SchemaError(f"field {f.get('name', j)!r} has no type", path=path, line=line)
    cls = FIELD_TYPES.get(str(f.get("type")))
    if cls is not None:
        extra = {"collection"} if cls is RelationField else set()
        _check_keys(f, _struct_keys(cls) | {"type"} | extra, f"field {f.get('name', j)!r}", path, line)
    if f.get("type") == "relation" and "collection" in f:
        f["collectionId"] = f.pop("collection")


def load_schema(path: str | Path) -> LoadedSchema:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SchemaError(f"cannot read the schema file: {exc.strerror}", path=str(p)) from None
    return load_schema_text(text, str(p))


def _defaults_of(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in msgspec.structs.fields(cls):
        if f.default is not msgspec.NODEFAULT:
            out[f.encode_name] = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            out[f.encode_name] = f.default_factory()
    return out


def _without_defaults(d: dict[str, Any], cls: type, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """``d`` minus the keys whose value is the option's default: what loading fills in again.
    Compared with the type too, so ``min: 0`` (not the default ``None``) is kept."""
    dflt = _defaults_of(cls)
    return {k: v for k, v in d.items() if k in keep or k not in dflt or not (type(v) is type(dflt[k]) and v == dflt[k])}


def _field_out(f: Field) -> dict[str, Any]:
    d = _without_defaults(msgspec.to_builtins(f), type(f), keep=("name", "type"))
    # Whole-number limits read as written (min: 0, not min: 0.0); they load back as the same float.
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in d.items()}


def dump_schema(collections: list[Collection]) -> str:
    """The applied schema as ``baas.yaml`` text (ids included, so renames keep working).

    Loading the text and planning it against the same schema gives no changes: every option
    that differs from its default is written, and nothing that loading adds back is."""
    out = []
    for c in collections:
        if c.system:
            continue
        d = _without_defaults(c.to_api(), Collection, keep=("name",))
        for k in ("created", "updated", "system"):
            d.pop(k, None)
        # System fields are added back on load: written only when changed from their defaults.
        standard = {f.name: f for f in (defaults.auth_fields(c.name) if c.type == "auth" else [])}
        standard["id"] = defaults.id_field(c.name)
        fields = []
        for f in c.fields:
            std = standard.get(f.name)
            if std is not None and (
                c.type == "view" or _encoder.encode(msgspec.structs.replace(f, id=std.id)) == _encoder.encode(std)
            ):
                continue
            fields.append(_field_out(f))
        d["fields"] = fields
        names = {f.name for f in c.fields}
        if c.type in ("base", "auth") and not {"created", "updated"} <= names:
            d["autodate"] = False  # the loader would otherwise add created/updated
        out.append(d)
    return yaml.safe_dump({"collections": out}, sort_keys=False, allow_unicode=True)
