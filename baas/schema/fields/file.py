"""``file``: stored file names (uploading comes with the file storage issue)."""

from __future__ import annotations

from baas.schema.fields.base import MultiValueField


class FileField(MultiValueField, tag="file", kw_only=True):
    maxSize: int = 0
    mimeTypes: list[str] | None = None
    thumbs: list[str] | None = None
    protected: bool = False
