"""The applied schema in memory: collections by name and id, loaded from ``_collections``."""

from __future__ import annotations

import msgspec

from baas.db import Database
from baas.schema.model import Collection

_decoder = msgspec.json.Decoder(Collection)


class Registry:
    """Lookup of applied collections; replaced wholesale after every schema change."""

    def __init__(self, collections: list[Collection] | None = None) -> None:
        self.version = 0
        self._by_name: dict[str, Collection] = {}
        self._by_id: dict[str, Collection] = {}
        self.set(collections or [])

    def set(self, collections: list[Collection]) -> None:
        self._by_name = {c.name: c for c in collections}
        self._by_id = {c.id: c for c in collections}
        self.version += 1

    def get(self, name_or_id: str) -> Collection | None:
        """A collection by name (case-sensitive first, then not) or by id."""
        c = self._by_name.get(name_or_id) or self._by_id.get(name_or_id)
        if c is None:
            low = name_or_id.lower()
            c = next((x for n, x in self._by_name.items() if n.lower() == low), None)
        return c

    def all(self) -> list[Collection]:
        return list(self._by_name.values())

    async def load(self, db: Database) -> None:
        rows = await db.fetch('SELECT "data" FROM "_collections" ORDER BY "created", "name"')
        self.set([_decoder.decode(r[0]) for r in rows])

    def referencing(self, collection_id: str) -> list[tuple[Collection, str]]:
        """(collection, field name) of every relation field that points to ``collection_id``."""
        return [(c, f.name) for c in self._by_name.values() for f in c.relations() if f.collectionId == collection_id]
