"""Collecting the requests of a batch (``POST /api/batch``); sending is the client's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._core import FileContent, Files, QueryValue, check_body, encode_query, seg


class BatchRequests:
    """The requests collected so far, and their files (PocketBase's ``requests.<index>.<field>``
    parts of a multipart batch)."""

    def __init__(self) -> None:
        self._requests: list[dict[str, Any]] = []
        self._files: dict[str, FileContent | Sequence[FileContent]] = {}

    def add(self, method: str, url: str, body: Mapping[str, Any] | None, files: Files | None = None) -> None:
        item: dict[str, Any] = {"method": method, "url": url}
        if body is not None:
            item["body"] = dict(body)
        if files:
            for name, value in files.items():
                if not isinstance(name, str) or not name:
                    raise ValueError("files: every key must be a field name")
                self._files[f"requests.{len(self._requests)}.{name}"] = value
        self._requests.append(item)

    def take(self) -> tuple[list[dict[str, Any]], Files]:
        """The requests and their files; the batch is empty again."""
        if not self._requests:
            raise ValueError("the batch is empty")
        out, files = self._requests, self._files
        self._requests, self._files = [], {}
        return out, files

    def __len__(self) -> int:
        return len(self._requests)


class BatchCollection:
    """The writes of one collection within a batch; ``files`` as for a single write
    (``{"image": path, "photos+": [b"..."]}``)."""

    def __init__(self, batch: BatchRequests, name: str) -> None:
        self._batch = batch
        self._base = f"/api/collections/{seg(name)}/records"

    def _url(self, path: str, expand: str | None, fields: str | None) -> str:
        query: dict[str, QueryValue] = {"expand": expand, "fields": fields}
        qs = encode_query(query)
        return f"{path}?{qs}" if qs else path

    def create(
        self,
        body: Mapping[str, Any],
        *,
        files: Files | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> None:
        self._batch.add("POST", self._url(self._base, expand, fields), check_body(body) or {}, files)

    def upsert(
        self,
        body: Mapping[str, Any],
        *,
        files: Files | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> None:
        """Create, or update the record whose ``id`` the body names."""
        self._batch.add("PUT", self._url(self._base, expand, fields), check_body(body) or {}, files)

    def update(
        self,
        record_id: str,
        body: Mapping[str, Any],
        *,
        files: Files | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> None:
        url = self._url(f"{self._base}/{seg(record_id)}", expand, fields)
        self._batch.add("PATCH", url, check_body(body) or {}, files)

    def delete(self, record_id: str) -> None:
        self._batch.add("DELETE", f"{self._base}/{seg(record_id)}", None)
