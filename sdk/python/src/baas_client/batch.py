"""Collecting the requests of a batch (``POST /api/batch``); sending is the client's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._core import QueryValue, check_body, encode_query, seg


class BatchRequests:
    """The requests collected so far."""

    def __init__(self) -> None:
        self._requests: list[dict[str, Any]] = []

    def add(self, method: str, url: str, body: Mapping[str, Any] | None) -> None:
        item: dict[str, Any] = {"method": method, "url": url}
        if body is not None:
            item["body"] = dict(body)
        self._requests.append(item)

    def take(self) -> list[dict[str, Any]]:
        if not self._requests:
            raise ValueError("the batch is empty")
        out, self._requests = self._requests, []
        return out

    def __len__(self) -> int:
        return len(self._requests)


class BatchCollection:
    """The writes of one collection within a batch (files are not supported in batches here)."""

    def __init__(self, batch: BatchRequests, name: str) -> None:
        self._batch = batch
        self._base = f"/api/collections/{seg(name)}/records"

    def _url(self, path: str, expand: str | None, fields: str | None) -> str:
        query: dict[str, QueryValue] = {"expand": expand, "fields": fields}
        qs = encode_query(query)
        return f"{path}?{qs}" if qs else path

    def create(self, body: Mapping[str, Any], *, expand: str | None = None, fields: str | None = None) -> None:
        self._batch.add("POST", self._url(self._base, expand, fields), check_body(body) or {})

    def upsert(self, body: Mapping[str, Any], *, expand: str | None = None, fields: str | None = None) -> None:
        """Create, or update the record whose ``id`` the body names."""
        self._batch.add("PUT", self._url(self._base, expand, fields), check_body(body) or {})

    def update(
        self, record_id: str, body: Mapping[str, Any], *, expand: str | None = None, fields: str | None = None
    ) -> None:
        self._batch.add("PATCH", self._url(f"{self._base}/{seg(record_id)}", expand, fields), check_body(body) or {})

    def delete(self, record_id: str) -> None:
        self._batch.add("DELETE", f"{self._base}/{seg(record_id)}", None)
