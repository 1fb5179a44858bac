"""The upload helpers the record write path uses: checks while streaming, nothing kept on refusal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from baas.errors import FieldError
from baas.files.storage import Storage, file_key, iter_bytes, thumb_key
from baas.files.uploads import DEFAULT_MAX_SIZE, remove_files, store_upload
from baas.schema.fields.file import FileField
from tests.harness import png


async def keys(st: Storage) -> list[str]:
    return sorted([i.key async for i in st.list("")])


async def test_store_and_remove(storage: Storage) -> None:
    f = FileField(name="pics", maxSelect=3, mimeTypes=["image/png"])
    name = await store_upload(storage, "c", "r", f, "Holiday Pic.png", iter_bytes(png()))
    assert re.fullmatch(r"holiday_pic_[a-z0-9]{10}\.png", name)
    info = await storage.stat(file_key("c", "r", name))
    assert info.content_type == "image/png" and info.size == len(png())
    await storage.put(thumb_key("c", "r", name, "100x100"), iter_bytes(b"thumb"))
    await remove_files(storage, "c", "r", [name, "never_stored.png"])
    assert await keys(storage) == []


async def test_extension_from_the_content(storage: Storage) -> None:
    name = await store_upload(storage, "c", "r", FileField(name="f"), "noext", iter_bytes(png()))
    assert name.endswith(".png")


@pytest.mark.parametrize("original", ["../../etc/passwd", "a/b.png", "C:\\x.png", "a\x00.png"])
async def test_bad_name_stores_nothing(storage: Storage, original: str) -> None:
    read = False

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield png()

    with pytest.raises(FieldError) as err:
        await store_upload(storage, "c", "r", FileField(name="f"), original, chunks())
    assert err.value.code == "validation_invalid_file_name" and not read
    assert await keys(storage) == []


async def test_mime_type_is_sniffed_not_trusted(storage: Storage) -> None:
    f = FileField(name="f", mimeTypes=["image/png", "image/jpeg"])
    with pytest.raises(FieldError) as err:  # HTML named .png
        await store_upload(storage, "c", "r", f, "evil.png", iter_bytes(b"<html><script>alert(1)</script>"))
    assert err.value.code == "validation_invalid_mime_type"
    assert await keys(storage) == []


async def test_over_max_size_stores_nothing(storage: Storage) -> None:
    f = FileField(name="f", maxSize=100_000)
    with pytest.raises(FieldError) as err:
        await store_upload(storage, "c", "r", f, "big.bin", iter_bytes(b"\x00" * 100_001))
    assert err.value.code == "validation_file_size_limit" and err.value.params == {"maxSize": 100_000}
    assert await keys(storage) == []
    ok = await store_upload(storage, "c", "r", f, "fits.bin", iter_bytes(b"\x00" * 100_000))
    assert await keys(storage) == [file_key("c", "r", ok)]


async def test_default_max_size(storage: Storage) -> None:
    with pytest.raises(FieldError):
        await store_upload(
            storage, "c", "r", FileField(name="f"), "x.bin", iter_bytes(b"\x00" * (DEFAULT_MAX_SIZE + 1))
        )
    assert await keys(storage) == []
