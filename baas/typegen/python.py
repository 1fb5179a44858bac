"""The Python emitter: TypedDicts per collection and a `Client` whose ``collection`` is overloaded
per collection name, formatted as ``ruff format`` would (88 columns) so the file is lint-clean."""

from __future__ import annotations

import json
import keyword
import re

from baas.typegen.model import CollectionModel, Key, TypeModel, Value

WIDTH = 88


def _lit(text: str) -> str:
    """A Python string literal quoted as ``ruff format`` quotes it: double quotes, unless the
    text holds more double quotes than single ones. (A JSON string is a valid Python literal.)"""
    double = json.dumps(text, ensure_ascii=False)
    if text.count('"') <= text.count("'"):
        return double
    return "'" + double[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"


def _one(v: Value) -> str:
    kind = v.kind
    if kind == "select":
        return f"Literal[{', '.join(_lit(x) for x in v.values)}]" if v.values else "str"
    return {
        "string": "str",
        "number": "float",
        "int": "int",
        "bool": "bool",
        "true": "Literal[True]",
        "relation": "str",
        "file": "str",
        "json": "Any",
        "geoPoint": "GeoPoint",
    }[kind]


def value_type(v: Value) -> str:
    one = _one(v)
    if not v.many:
        return one
    return f"{one} | list[{one}]" if v.or_one else f"list[{one}]"


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _typed_dict(
    name: str, keys: list[tuple[str, str, bool]], *, total: bool, doc: tuple[str, str], later: set[str]
) -> str:
    """A TypedDict: class syntax where every key is an identifier, else the functional form
    (modifier keys like ``views+``). ``keys``: (key, type, required); ``later``: the type names a
    functional form must quote (defined further down: a forward reference)."""
    if all(_identifier(k) for k, _, _ in keys):
        head = f"class {name}(TypedDict{'' if total else ', total=False'}):"
        body = [_doc(doc[0], "    ", doc[1])]
        if keys:
            body.append("")
        for k, t, req in keys:
            body.append(f"    {k}: {t if req or not total else f'NotRequired[{t}]'}")
        return "\n".join([head, *body])
    lines = [f"{name} = TypedDict(", f"    {_lit(name)},", "    {"]
    for k, t, req in keys:
        t = t if req or not total else f"NotRequired[{t}]"
        if set(re.findall(r"\w+", t)) & later:
            t = _lit(t)
        lines.append(f"        {_lit(k)}: {t},")
    lines += ["    },", *([] if total else ["    total=False,"]), ")", _doc(doc[0], "", doc[1])]
    return "\n".join(lines)


def _record(c: CollectionModel, later: set[str]) -> str:
    keys = [(k.name, value_type(k.value), k.required) for k in c.record]
    if c.expand:
        keys.append(("expand", f"{c.type_name}Expand", False))
    what = "view collection" if c.type == "view" else f"{c.type} collection"
    return _typed_dict(
        c.type_name, keys, total=True, doc=(f"A record of the {what} {c.name!r}.", repr(c.name)), later=later
    )


def _expand(c: CollectionModel, later: set[str]) -> str:
    keys = []
    for k in c.expand:
        target = k.value.target or "dict[str, Any]"
        keys.append((k.name, f"list[{target}]" if k.value.many else target, False))
    doc = (f"Relations of {c.name!r} loaded with ``expand=``.", repr(c.name))
    return _typed_dict(f"{c.type_name}Expand", keys, total=False, doc=doc, later=later)


def _body(c: CollectionModel, keys: list[Key], suffix: str, doc: str) -> str:
    """A create or update body type; ``doc`` names the collection as ``{name}``."""
    # Uploads go in the ``files=`` argument of create/update, not in the body.
    parts = [(k.name, value_type(k.value), k.required) for k in keys if k.value.use != "upload"]
    text = doc.format(name=repr(c.name))
    return _typed_dict(c.type_name + suffix, parts, total=suffix == "Create", doc=(text, repr(c.name)), later=set())


def _wrap_assign(name: str, generic: str, args: list[str]) -> str:
    """``name = generic[args]`` split as ``ruff format`` splits it when it is too long."""
    line = f"{name} = {generic}[{', '.join(args)}]"
    if len(line) <= WIDTH:
        return line
    if len(f"{name} = {generic}[") <= WIDTH:
        return f"{name} = {_subscript(generic, args, 0)}"
    inner = f"    {generic}[{', '.join(args)}]"
    if len(inner) <= WIDTH:
        return f"{name} = (\n{inner}\n)"
    return f"{name} = (\n    {_subscript(generic, args, 4)}\n)"


def _subscript(generic: str, args: list[str], indent: int) -> str:
    pad = " " * (indent + 4)
    joined = f"{pad}{', '.join(args)}"
    if len(joined) <= WIDTH:
        return f"{generic}[\n{joined}\n{' ' * indent}]"
    return f"{generic}[\n" + "".join(f"{pad}{a},\n" for a in args) + f"{' ' * indent}]"


def _wrap_def(arg: str, ret: str, body: str, comment: str = "") -> str:
    line = f"    def collection(self, name: {arg}) -> {ret}:{body}"
    if len(line) <= WIDTH and not comment:
        return line
    params = f"        self, name: {arg}"
    if len(params) > WIDTH or comment:
        params = f"        self,\n        name: {arg},"
    if comment:  # mypy reports the narrower parameter on its own line
        params += "  # type: ignore[override]"
    return f"    def collection({comment}\n{params}\n    ) -> {ret}:{body}"


def _cast_return(ret: str) -> str:
    line = f"        return cast({ret}, super().collection(name))"
    if len(line) <= WIDTH:
        return line
    inner = f"            {ret}, super().collection(name)"
    if len(inner) <= WIDTH:
        return f"        return cast(\n{inner}\n        )"
    return f"        return cast(\n            {ret},\n            super().collection(name),\n        )"


def _doc(text: str, indent: str, quoted: str) -> str:
    """A one-line docstring, split before the quoted collection name when it is too long."""
    line = f'{indent}"""{text}"""'
    if len(line) <= WIDTH or quoted not in text:
        return line
    head, tail = text.split(quoted, 1)
    return f'{indent}"""{head.rstrip()}\n{indent}{quoted}{tail}"""'


def _client(model: TypeModel, cls: str, service: str, suffix: str) -> str:
    colls = model.collections
    lines = [
        f"class {cls}(baas_client.{cls}):",
        f'    """``baas_client.{cls}`` with ``collection(name)`` typed by name: a name',
        '    not in the schema matches no overload (a type error)."""',
        "",
    ]
    over = len(colls) > 1
    for i, c in enumerate(colls):
        if over:  # mypy reports the narrower override on the first overload; pyright on the last def
            lines.append("    @overload  # type: ignore[override]" if i == 0 else "    @overload")
        ret = f"{c.type_name}{suffix}"
        body = " ..." if over else "\n" + _cast_return(ret)
        # One collection: a plain method, narrower than the base's (why: see below).
        comment = "" if over else "  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]"
        lines.append(_wrap_def(f"Literal[{_lit(c.name)}]", ret, body, comment))
        lines.append("")
    if over:
        # The base accepts any str; this one only the schema's names (an unknown name must not
        # type-check), so the override is deliberately narrower.
        lines.append(
            "    def collection(  # pyright: ignore[reportIncompatibleMethodOverride]\n"
            "        self, name: str\n"
            f"    ) -> baas_client.{service}[Any, Any, Any]:\n"
            "        return super().collection(name)"
        )
    else:
        lines.pop()
    return "\n".join(lines)


def emit_python(model: TypeModel, command: str) -> str:
    """The Python module for ``model``; ``command`` is named in the header."""
    colls = model.collections
    blocks: list[str] = []
    if model.uses("geoPoint"):
        blocks.append(
            'class GeoPoint(TypedDict):\n    """A geoPoint field\'s value."""\n\n    lon: float\n    lat: float'
        )
    later = {c.type_name for c in colls} | {f"{c.type_name}Expand" for c in colls}
    for c in colls:
        blocks.append(_record(c, later))
        if c.expand:
            blocks.append(_expand(c, later))
        if c.create is not None and c.update is not None:
            blocks.append(_body(c, c.create, "Create", "The body of a create in {name}."))
            blocks.append(_body(c, c.update, "Update", "The body of an update in {name} (every key optional)."))
    aliases = []
    for c in colls:  # a view's service takes no body: a create or update is a type error
        create, update = (f"{c.type_name}Create", f"{c.type_name}Update") if not c.read_only else ("Never", "Never")
        args = [c.type_name, create, update]
        aliases.append(_wrap_assign(f"{c.type_name}Service", "baas_client.RecordService", args))
        aliases.append(_wrap_assign(f"{c.type_name}AsyncService", "baas_client.AsyncRecordService", args))
    if aliases:
        blocks.append("\n".join(aliases))
    if colls:
        blocks.append(_client(model, "Client", "RecordService", "Service"))
        blocks.append(_client(model, "AsyncClient", "AsyncRecordService", "AsyncService"))
    text = "\n\n\n".join(blocks)
    names = ["Any", "Literal", "Never", "NotRequired", "TypedDict", "cast"]
    used = [n for n in names if _uses(text, n)] + (["overload"] if "@overload" in text else [])
    head = [
        f"# Generated by `{command}`.",
        "# Do not edit: run the command again after a schema change.",
        '"""Typed collections of a baas schema for ``baas_client``."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    if used:
        head.append(f"from typing import {', '.join(used)}")
        head.append("")
    if not colls:  # no collections (not even the built-in ones): nothing to type
        return "\n".join(head[:-1]) + "\n"
    head.append("import baas_client")
    return "\n".join(head) + "\n\n\n" + text + "\n"


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.\"']){name}\b(?![\"'])", text) is not None
