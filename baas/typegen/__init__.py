"""``baas gen types``: typed collections for the Python and TypeScript SDKs.

One step reads the schema (PocketBase's collection JSON: from ``baas.yaml`` planned by
`baas.cli.gen`, or a server's ``GET /api/collections``) into a type model (`baas.typegen.model`);
one emitter per language spells it (`baas.typegen.python`, `baas.typegen.ts`). See docs/cli.md.

    >>> from baas.typegen import generate
    >>> text = generate([{"name": "posts", "type": "base", "fields": []}], "ts", "baas gen types --lang ts")
    >>> "export type Collections" in text
    True
"""

from __future__ import annotations

from typing import Any

from baas.typegen.model import TypeModel, build_model
from baas.typegen.python import emit_python
from baas.typegen.sources import TypegenError, collections_from_url, public_url
from baas.typegen.ts import emit_ts

LANGS = ("python", "ts")


def generate(collections: list[dict[str, Any]], lang: str, command: str) -> str:
    """The generated module for ``collections`` (PocketBase's collection JSON) in ``lang``."""
    if lang not in LANGS:
        raise TypegenError(f"unknown --lang {lang!r}: use python or ts")
    model = build_model(collections)
    return emit_python(model, command) if lang == "python" else emit_ts(model, command)


__all__ = [
    "LANGS",
    "TypeModel",
    "TypegenError",
    "build_model",
    "collections_from_url",
    "generate",
    "public_url",
]
