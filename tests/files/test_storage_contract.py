"""One contract for every storage backend (local disk, S3 through moto): see conftest's ``storage``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator

import pytest

from baas.files.storage import (
    BlobNotFound,
    BlobTooLarge,
    InvalidKey,
    Storage,
    check_key,
    file_key,
    iter_bytes,
    record_prefix,
    storage_from_settings,
    thumb_key,
)
from tests.harness import s3_settings

KEY = "pbc_1/rec1/photo_abc.png"


async def put_bytes(st: Storage, key: str, data: bytes, **kw) -> int:
    return await st.put(key, iter_bytes(data), **kw)


async def read(st: Storage, key: str, offset: int = 0, length: int | None = None) -> bytes:
    blob = await st.open(key, offset, length)
    return await blob.read_all()


async def keys(st: Storage, prefix: str = "") -> list[str]:
    return sorted([i.key async for i in st.list(prefix)])


async def test_put_then_read_back(storage: Storage) -> None:
    data = b"hello world" * 1000
    assert await put_bytes(storage, KEY, data, content_type="text/plain; charset=utf-8") == len(data)
    assert await read(storage, KEY) == data
    info = await storage.stat(KEY)
    assert info.size == len(data) and info.key == KEY
    assert info.etag and abs(info.modified - time.time()) < 300
    assert info.content_type.startswith("text/plain")
    assert await storage.exists(KEY)


async def test_empty_blob(storage: Storage) -> None:
    assert await put_bytes(storage, KEY, b"") == 0
    assert (await storage.stat(KEY)).size == 0
    assert await read(storage, KEY) == b""


async def test_ranges(storage: Storage) -> None:
    data = bytes(range(256)) * 40
    await put_bytes(storage, KEY, data)
    assert await read(storage, KEY, 10, 20) == data[10:30]
    assert await read(storage, KEY, 9000) == data[9000:]
    assert await read(storage, KEY, len(data) - 1, 1) == data[-1:]
    assert await read(storage, KEY, 5, 0) == b""
    assert await read(storage, KEY, len(data) - 3, 100) == data[-3:]  # clamped at the end
    blob = await storage.open(KEY, 100, 50)
    assert (blob.offset, blob.length, blob.info.size) == (100, 50, len(data))
    await blob.aclose()


async def test_etag_changes_on_overwrite(storage: Storage) -> None:
    await put_bytes(storage, KEY, b"first version")
    first = await storage.stat(KEY)
    await asyncio.sleep(0.01)
    await put_bytes(storage, KEY, b"second, longer version")
    second = await storage.stat(KEY)
    assert await read(storage, KEY) == b"second, longer version"
    assert second.size == len(b"second, longer version")
    assert second.etag != first.etag
    assert await keys(storage) == [KEY]


async def test_missing_key(storage: Storage) -> None:
    with pytest.raises(BlobNotFound):
        await storage.stat("c/r/missing.txt")
    with pytest.raises(BlobNotFound):
        await storage.open("c/r/missing.txt")
    assert not await storage.exists("c/r/missing.txt")
    await storage.delete("c/r/missing.txt")  # idempotent


async def test_delete(storage: Storage) -> None:
    await put_bytes(storage, KEY, b"x")
    await storage.delete(KEY)
    assert not await storage.exists(KEY)
    await storage.delete(KEY)
    assert await keys(storage) == []


async def test_delete_prefix_and_list(storage: Storage) -> None:
    names = [
        file_key("c1", "r1", "a.txt"),
        file_key("c1", "r1", "b.txt"),
        thumb_key("c1", "r1", "a.png", "100x100"),
        file_key("c1", "r2", "a.txt"),
        file_key("c2", "r1", "a.txt"),
        file_key("c1", "r10", "z.txt"),
    ]
    for name in names:
        await put_bytes(storage, name, name.encode())
    assert await keys(storage) == sorted(names)
    assert await keys(storage, "c1/r1/") == sorted(n for n in names if n.startswith("c1/r1/"))
    assert await keys(storage, "c1/r1") == sorted(n for n in names if n.startswith("c1/r1"))  # r10 too
    listed = [i async for i in storage.list("c2/")]
    assert len(listed) == 1 and listed[0].size == len(names[4]) and listed[0].modified > 0
    assert await storage.delete_prefix(record_prefix("c1", "r1")) == 3
    assert await keys(storage) == sorted([names[3], names[4], names[5]])
    assert await storage.delete_prefix("c1/") == 2
    assert await keys(storage) == [names[4]]
    assert await storage.delete_prefix("nothing/") == 0
    with pytest.raises(InvalidKey):
        await storage.delete_prefix("")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a/./b",
        "a\\b",
        "a/b\x00c",
        "a//b",
        "a/b/",
        ".tmp/x",
        "a/.hidden",
        "C:/x",
        "a/b\nc",
    ],
)
async def test_bad_keys_are_refused(storage: Storage, bad: str) -> None:
    with pytest.raises(InvalidKey):
        await put_bytes(storage, bad, b"x")
    with pytest.raises(InvalidKey):
        await storage.stat(bad)
    with pytest.raises(InvalidKey):
        await storage.delete(bad)
    assert await keys(storage) == []


async def test_large_streamed_object(storage: Storage) -> None:
    """20 MB in 64 KB chunks: more than two S3 parts, content checked by hash."""
    total = 20 * 1024 * 1024
    block = os.urandom(64 * 1024)
    expected = hashlib.sha256()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(total // len(block)):
            piece = bytes([i % 251]) + block[1:]
            expected.update(piece)
            yield piece

    assert await storage.put("big/r/file.bin", chunks()) == total
    got = hashlib.sha256()
    blob = await storage.open("big/r/file.bin")
    assert blob.length == total
    biggest = 0
    async for chunk in blob:
        biggest = max(biggest, len(chunk))
        got.update(chunk)
    assert got.hexdigest() == expected.hexdigest()
    assert biggest <= 1024 * 1024  # read back in chunks, never as one buffer
    assert (await storage.stat("big/r/file.bin")).size == total


async def test_max_size_stores_nothing(storage: Storage) -> None:
    await put_bytes(storage, KEY, b"old")
    with pytest.raises(BlobTooLarge):
        await put_bytes(storage, KEY, b"x" * 200_000, max_size=100_000)
    assert await read(storage, KEY) == b"old"  # the previous blob is intact
    with pytest.raises(BlobTooLarge):
        await put_bytes(storage, "c/r/new.bin", b"x" * 200_000, max_size=100_000)
    assert not await storage.exists("c/r/new.bin")
    assert await keys(storage) == [KEY]


async def test_failing_iterator_stores_nothing(storage: Storage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 100_000
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        await storage.put("c/r/broken.bin", broken())
    assert await keys(storage) == []


async def test_concurrent_puts(storage: Storage) -> None:
    blobs = {f"c/r{i % 3}/f{i}.bin": os.urandom(50_000 + i) for i in range(12)}
    sizes = await asyncio.gather(*(put_bytes(storage, k, v) for k, v in blobs.items()))
    assert sizes == [len(v) for v in blobs.values()]
    for k, v in blobs.items():
        assert await read(storage, k) == v
    # Concurrent writers of one key: the last rename/commit wins, never a mix.
    versions = [bytes([i]) * 300_000 for i in range(6)]
    await asyncio.gather(*(put_bytes(storage, KEY, v) for v in versions))
    assert await read(storage, KEY) in versions


async def test_early_close_releases_the_reader(storage: Storage) -> None:
    await put_bytes(storage, KEY, os.urandom(500_000))
    for _ in range(30):  # would exhaust file handles or the S3 connection pool if leaked
        blob = await storage.open(KEY)
        async for _chunk in blob:
            break
        await blob.aclose()
    assert len(await read(storage, KEY)) == 500_000


def test_check_key_accepts_pocketbase_keys() -> None:
    for key in ["pbc_1/abc/photo_x1y2z3.png", "c/r/thumbs_a.png/100x100_a.png", "c/r/a.tar.gz", "c/r/a+b=c#d*e.x"]:
        assert check_key(key) == key


def test_storage_from_settings(tmp_path, moto_endpoint) -> None:
    from baas.files.local import LocalStorage
    from baas.files.s3 import S3Storage

    local = storage_from_settings({"s3": {"enabled": False}}, tmp_path)
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "storage").resolve()
    s3 = storage_from_settings({"s3": s3_settings(moto_endpoint, "bkt")}, tmp_path)
    assert isinstance(s3, S3Storage) and s3.bucket == "bkt"


async def test_type_is_sniffed_when_not_given(storage: Storage) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    await put_bytes(storage, "c/r/img_abc.bin", out.getvalue())
    assert (await storage.stat("c/r/img_abc.bin")).content_type == "image/png"
    blob = await storage.open("c/r/img_abc.bin")
    assert blob.info.content_type == "image/png"
    await blob.aclose()


async def test_streaming_memory_is_bounded(storage: Storage) -> None:
    """96 MiB in and out while Python's allocations stay far below the object's size."""
    import tracemalloc

    total, block = 96 * 1024 * 1024, os.urandom(64 * 1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(total // len(block)):
            yield block

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert await storage.put("big/r/stream.bin", chunks()) == total
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        n = 0
        blob = await storage.open("big/r/stream.bin")
        async for chunk in blob:
            n += len(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == total
    assert put_peak < 40 * 1024 * 1024, put_peak
    assert get_peak < 8 * 1024 * 1024, get_peak
