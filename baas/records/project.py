"""The ``fields`` query parameter: pick keys (``*``, ``expand.author.name``),
``:excerpt(maxLength, withEllipsis)`` and ``:highlight`` (baas's own: the value as safe HTML,
with a full-text search's matches in ``<mark>``; see baas/search)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from baas.errors import BadRequest

_EXCERPT = re.compile(r"^(.+?):excerpt\(\s*(\d+)\s*(?:,\s*(true|false|1|0)\s*)?\)$")
_TAGS = re.compile(r"<[^>]*>")
HIGHLIGHT = "highlight"


class Highlighted(str):
    """A value a search already made into safe HTML (a snippet with its matches marked)."""


def highlight_names(tree: dict[str, Any]) -> list[str]:
    """The top-level fields asked for with ``:highlight``."""
    return [k for k, v in tree.items() if v == HIGHLIGHT]


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
        mod: tuple[int, bool] | str | None = None
        m = _EXCERPT.match(item)
        if m:
            if len(m.group(2)) > 7:
                raise BadRequest(f"Invalid excerpt length in {raw.strip()!r}.")
            item, mod = m.group(1), (int(m.group(2)), m.group(3) in ("true", "1"))
        elif item.endswith(":" + HIGHLIGHT) and item.count(":") == 1:
            item, mod = item[: -len(HIGHLIGHT) - 1], HIGHLIGHT
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
        elif sub == HIGHLIGHT:
            out[key] = str(value) if isinstance(value, Highlighted) else html.escape(_text(value), quote=False)
        elif isinstance(sub, dict):
            out[key] = _project_value(value, sub)
        else:
            out[key] = value
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value if isinstance(value, str) else str(value)


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
