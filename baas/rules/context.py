"""What a rule may read of the request, as plain data (no HTTP objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestInfo:
    """``@request.*``: the auth record (None for guests), body, query, headers, method, context.

    ``auth`` is the auth record as the API shows it, with ``collectionId`` and
    ``collectionName`` set (``_superusers`` for superusers). Header names are lower-case with
    ``-`` turned into ``_``, as PocketBase exposes them.
    """

    auth: dict[str, Any] | None = None
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    context: str = "default"

    @property
    def is_superuser(self) -> bool:
        return bool(self.auth and self.auth.get("collectionName") == "_superusers")


# The server acting on its own behalf (sign-in flows, jobs, the CLI): a superuser with no record.
SUPERUSER = RequestInfo(auth={"id": "", "collectionName": "_superusers", "collectionId": ""}, context="internal")
