"""Thumbnails: PocketBase's size forms, formats, non-images, bombs and bounded concurrency."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from PIL import Image

from baas.files import thumbs
from baas.files.storage import Storage, iter_bytes, thumb_key
from baas.files.thumbs import Thumbnailer, ThumbSpec, allowed_spec, parse_spec, render


def image_bytes(size: tuple[int, int], fmt: str = "PNG", color=(200, 10, 10), **kw) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **kw)
    return out.getvalue()


def two_band(size: tuple[int, int]) -> bytes:
    """Top half red, bottom half blue: tells which part a crop kept."""
    im = Image.new("RGB", size, (255, 0, 0))
    im.paste((0, 0, 255), (0, size[1] // 2, size[0], size[1]))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def dims(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("100x100", ThumbSpec(100, 100)),
        ("300x100t", ThumbSpec(300, 100, "t")),
        ("300x100b", ThumbSpec(300, 100, "b")),
        ("300x100f", ThumbSpec(300, 100, "f")),
        ("0x50", ThumbSpec(0, 50)),
        ("50x0", ThumbSpec(50, 0)),
        ("0x0", None),
        ("100", None),
        ("100x100x", None),
        ("axb", None),
        ("-1x10", None),
        ("100X100", None),
        ("99999x1", None),
        ("", None),
        ("100x100 ", None),
    ],
)
def test_parse_spec(spec: str, expected) -> None:
    assert parse_spec(spec) == expected


def test_only_listed_sizes_are_allowed() -> None:
    assert allowed_spec("100x100", None) == ThumbSpec(100, 100)  # PocketBase's default for the admin UI
    assert allowed_spec("50x50", ["50x50"]) == ThumbSpec(50, 50)
    assert allowed_spec("50x50", ["60x60"]) is None
    assert allowed_spec("0x0", ["0x0"]) is None


@pytest.mark.parametrize(
    "spec, size, expected",
    [
        ("50x50", (300, 200), (50, 50)),
        ("120x40t", (300, 200), (120, 40)),
        ("100x100f", (300, 200), (100, 67)),
        ("500x500f", (300, 200), (300, 200)),  # fit never enlarges
        ("0x50", (300, 200), (75, 50)),
        ("60x0", (300, 200), (60, 40)),
        ("600x0", (300, 200), (600, 400)),  # a plain resize does
    ],
)
def test_render_sizes(spec: str, size, expected) -> None:
    data = render(io.BytesIO(image_bytes(size)), parse_spec(spec), "a.png")
    assert data is not None and dims(data) == expected


def test_crop_anchor() -> None:
    src = two_band((100, 200))  # tall: a 100x50 crop keeps a band of the height
    top = render(io.BytesIO(src), parse_spec("100x50t"), "a.png")
    bottom = render(io.BytesIO(src), parse_spec("100x50b"), "a.png")
    with Image.open(io.BytesIO(top)) as im:
        assert im.convert("RGB").getpixel((50, 25)) == (255, 0, 0)
    with Image.open(io.BytesIO(bottom)) as im:
        assert im.convert("RGB").getpixel((50, 25)) == (0, 0, 255)


@pytest.mark.parametrize(
    "fmt, name, pil",
    [("PNG", "a.png", "PNG"), ("JPEG", "a.jpg", "JPEG"), ("GIF", "a.gif", "GIF"), ("WEBP", "a.webp", "WEBP")],
)
def test_formats_follow_the_name(fmt: str, name: str, pil: str) -> None:
    data = render(io.BytesIO(image_bytes((80, 60), fmt)), parse_spec("40x40"), name)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == pil and im.size == (40, 40)


def test_animated_gif_gives_first_frame() -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = render(io.BytesIO(out.getvalue()), parse_spec("20x20"), "anim.gif")
    with Image.open(io.BytesIO(data)) as im:
        assert getattr(im, "n_frames", 1) == 1
        assert im.convert("RGB").getpixel((10, 10))[0] > 200


def test_not_an_image_gives_none() -> None:
    assert render(io.BytesIO(b"this is not an image at all"), parse_spec("50x50"), "a.png") is None
    truncated = image_bytes((300, 300))[:200]
    assert render(io.BytesIO(truncated), parse_spec("50x50"), "a.png") is None


def claimed_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    png = bytearray(image_bytes((10, 10)))
    ihdr = png.index(b"IHDR")
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr : ihdr + 17])))
    return bytes(png)


@pytest.mark.parametrize("side", [9000, 30000])  # above our limit; above Pillow's own bomb error
def test_decompression_bomb_is_refused(side: int) -> None:
    bomb = claimed_png(side, side)
    assert len(bomb) < 1000
    assert render(io.BytesIO(bomb), parse_spec("50x50"), "bomb.png") is None


async def test_thumbnailer_caches_in_storage(storage: Storage) -> None:
    await storage.put("c/r/pic.png", iter_bytes(image_bytes((300, 200))))
    tk = thumb_key("c", "r", "pic.png", "50x50")
    maker = Thumbnailer()
    assert await maker.ensure(storage, "c/r/pic.png", tk, parse_spec("50x50"))
    first = await storage.stat(tk)
    blob = await storage.open(tk)
    assert dims(await blob.read_all()) == (50, 50)
    assert await maker.ensure(storage, "c/r/pic.png", tk, parse_spec("50x50"))
    assert (await storage.stat(tk)).etag == first.etag  # not made again


async def test_thumbnailer_refuses_non_images(storage: Storage) -> None:
    await storage.put("c/r/fake.png", iter_bytes(b"not an image"))
    tk = thumb_key("c", "r", "fake.png", "50x50")
    assert not await Thumbnailer().ensure(storage, "c/r/fake.png", tk, parse_spec("50x50"))
    assert not await storage.exists(tk)


async def test_burst_is_bounded_and_shared(storage: Storage, monkeypatch) -> None:
    """20 requests for 4 thumbnails: each made once, never more than 2 decodes at once."""
    await storage.put("c/r/pic.png", iter_bytes(image_bytes((600, 400))))
    running = 0
    peak = 0
    calls = 0
    real = thumbs.render

    def counting(source, spec, filename):
        nonlocal running, peak, calls
        running += 1
        calls += 1
        peak = max(peak, running)
        try:
            import time

            time.sleep(0.05)  # hold the slot so overlapping requests would show
            return real(source, spec, filename)
        finally:
            running -= 1

    monkeypatch.setattr(thumbs, "render", counting)
    maker = Thumbnailer(workers=2)
    specs = ["10x10", "20x20", "30x30", "40x40"]
    results = await asyncio.gather(
        *(maker.ensure(storage, "c/r/pic.png", thumb_key("c", "r", "pic.png", s), parse_spec(s)) for s in specs * 5)
    )
    assert all(results)
    assert calls == 4 and peak <= 2


async def test_too_busy_falls_back(storage: Storage) -> None:
    await storage.put("c/r/pic.png", iter_bytes(image_bytes((100, 100))))
    maker = Thumbnailer(workers=1, max_wait=0.05)
    await maker._sem.acquire()  # every worker busy
    try:
        assert not await maker.ensure(
            storage, "c/r/pic.png", thumb_key("c", "r", "pic.png", "10x10"), parse_spec("10x10")
        )
    finally:
        maker._sem.release()
