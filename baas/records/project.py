"""The ``fields`` query parameter: pick keys (``*``, ``expand.author.name``) and
``:excerpt(maxLength, withEllipsis)``."""

from __future__ import annotations

import html
import re
from typing import Any

from baas.errors import BadRequest

_EXCERPT = re.compile(r"^(.+?):excerpt\(\s*(\d+)\s*(?:,\s*(true|false|1|0)\s*)?\)$")
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def excerpt(value: Any, length: int, ellipsis: bool) -> str:
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", str(value or "")))).strip()
    if len(text) <= length:
        return text
    return text[:length].rstrip() + ("..." if ellipsis else "")


def parse_fields(spec: str) -> dict[str, Any]:
    """``"id,expand.author.name,body:excerpt(20)"`` as a tree; a leaf is None or (len, ellipsis)."""
    tree: dict[str, Any] = {}
    for raw in re.split(r",(?![^()]*\))", spec):  # commas inside excerpt(...) are arguments
        item = raw.strip()
        if not item:
            continue
        mod = None
        m = _EXCERPT.match(item)
        if m:
            if len(m.group(2)) > 7:
                raise BadRequest(f"Invalid excerpt length in {raw.strip()!r}.")
            item, mod = m.group(1), (int(m.group(2)), m.group(3) in ("true", "1"))
        elif ":" in item:
            raise BadRequest(f"Invalid fields modifier in {raw.strip()!r}.")
        node = tree
        parts = item.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = mod
    return tree


def project(record: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    """Keep the selected keys of a record (and of its nested expand records)."""
    out: dict[str, Any] = {}
    star = tree.get("*", False) is not False or "*" in tree
    for key, value in record.items():
        sub = tree.get(key, ... if not star else None)
        if sub is ...:
            continue
        if isinstance(sub, tuple):
            out[key] = excerpt(value, *sub)
        elif isinstance(sub, dict):
            out[key] = _project_value(value, sub)
        else:
            out[key] = value
    return out


def _project_value(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_project_value(v, tree) for v in value]
    if isinstance(value, dict):
        if "collectionId" in value or "id" in value:
            return project(value, tree)
        return {
            k: _project_value(v, tree[k]) if isinstance(tree.get(k), dict) else v
            for k, v in value.items()
            if k in tree or "*" in tree
        }
    return value
