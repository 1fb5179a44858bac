"""``file``: the stored names of a record's files (the blobs live in storage, see baas/files).

A value is one name (``maxSelect`` ≤ 1: the last one given wins, as in PocketBase) or a list of
names. Names a write may put in a field are the ones it already holds and the uploads of the same
request (`invalid_names`); anything else is refused, so a client can never point a record at a
blob it did not upload.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from baas.errors import FieldError
from baas.schema.fields.base import MultiValueField, as_list

DEFAULT_MAX_SIZE = 5 * 1024 * 1024  # PocketBase's maxSize when a field sets none


class FileField(MultiValueField, tag="file", kw_only=True):
    maxSize: int = 0
    mimeTypes: list[str] | None = None
    thumbs: list[str] | None = None
    protected: bool = False

    def max_size(self) -> int:
        """The largest file one upload may be (PocketBase's 5 MiB default when 0)."""
        return self.maxSize if self.maxSize > 0 else DEFAULT_MAX_SIZE

    def max_files(self) -> int:
        return self.maxSelect if self.maxSelect > 1 else 1

    def max_body_share(self) -> int:
        """What this field adds to a record write's body limit (PocketBase's CalculateMaxBodySize)."""
        return self.max_size() * self.max_files()

    def names(self, value: Any) -> list[str]:
        """The file names in a stored value."""
        return [v for v in as_list(value) if isinstance(v, str) and v]

    def invalid_names(self, value: Any, old: Any, uploaded: Iterable[str]) -> list[str]:
        """Names in ``value`` that are neither in the old value nor among this request's uploads."""
        allowed = set(self.names(old))
        allowed.update(uploaded)
        return [n for n in self.names(value) if n not in allowed]

    def validate(self, value: Any) -> None:
        if self.required and self.is_empty(value):
            raise FieldError("validation_required", "Cannot be blank.")
        if self.is_multi() and len(value) > self.maxSelect:
            raise FieldError(
                "validation_too_many_files",
                f"The maximum allowed files is {self.maxSelect}.",
                {"maxSelect": self.maxSelect},
            )
