"""Thumbnails with Pillow, made on first request and kept in storage next to the original.

Sizes are PocketBase's: ``WxH`` (fill and crop from the center), ``WxHt`` / ``WxHb`` (crop from
the top / bottom), ``WxHf`` (fit inside, never enlarged), ``0xH`` / ``Wx0`` (scale to a height or
a width). Only sizes in the field's ``thumbs`` list, plus ``100x100`` for the admin UI, are made.

A burst of requests cannot exhaust the machine: at most `MAX_WORKERS` thumbnails are decoded at
once (in threads), concurrent requests for one thumbnail share one job, a request waits at most
`MAX_WAIT` seconds for a slot, and originals above `MAX_SOURCE_BYTES` or `MAX_PIXELS` are not
decoded at all (decompression bombs). Whenever no thumbnail can be made, the caller serves the
original, as PocketBase does.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tempfile
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps

from baas.files.sniff import base_type, sniff
from baas.files.storage import BlobNotFound, Storage, StorageError, iter_bytes

log = logging.getLogger("baas.files")

DEFAULT_THUMBS = ("100x100",)
IMAGE_TYPES = frozenset({"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp"})
MAX_WORKERS = 2
MAX_WAIT = 60.0
MAX_SOURCE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 50_000_000  # about 200 MB as RGBA; a larger image is refused before decoding
MAX_SIDE = 4000  # a thumbnail's own width or height
_SPEC = re.compile(r"^(\d{1,5})x(\d{1,5})([tbf])?$")
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_SPOOL = 1024 * 1024


@dataclass(frozen=True)
class ThumbSpec:
    """A parsed thumb size: width, height (0 = keep the aspect ratio) and mode ``""|t|b|f``."""

    width: int
    height: int
    mode: str = ""

    def __str__(self) -> str:
        return f"{self.width}x{self.height}{self.mode}"


def parse_spec(spec: str) -> ThumbSpec | None:
    """``"300x100t"`` -> ThumbSpec(300, 100, "t"); None for anything else (``0x0`` too)."""
    m = _SPEC.match(spec or "")
    if m is None:
        return None
    w, h = int(m.group(1)), int(m.group(2))
    if (w == 0 and h == 0) or w > MAX_SIDE or h > MAX_SIDE:
        return None
    return ThumbSpec(w, h, m.group(3) or "")


def allowed_spec(spec: str, field_thumbs: list[str] | None) -> ThumbSpec | None:
    """The spec if the field lists it (or it is a default size) and it parses; else None."""
    if spec not in DEFAULT_THUMBS and spec not in (field_thumbs or []):
        return None
    return parse_spec(spec)


def is_thumbable(content_type: str) -> bool:
    return base_type(content_type) in IMAGE_TYPES


def render(source: IO[bytes], spec: ThumbSpec, filename: str) -> bytes | None:
    """The thumbnail's bytes, or None when ``source`` is not a decodable image (or too big).

    Blocking and CPU-bound: call it in a thread. The format follows the file name's extension
    (PNG otherwise); animated images give their first frame."""
    try:
        with Image.open(source) as im:
            if im.width * im.height > MAX_PIXELS:
                log.warning("thumb: %s is %dx%d pixels, above the limit", filename, im.width, im.height)
                return None
            if im.format == "JPEG" and spec.width and spec.height:
                im.draft("RGB", (spec.width * 2, spec.height * 2))  # decode at a reduced scale: less memory
            im.seek(0)
            frame = ImageOps.exif_transpose(im)
            frame.load()
            thumb = _resize(frame, spec)
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError) as exc:
        log.info("thumb: cannot decode %s: %s", filename, exc)
        return None
    ext = ("." + filename.rsplit(".", 1)[1].lower()) if "." in filename else ""
    fmt = _FORMATS.get(ext, "PNG")
    if fmt == "JPEG" and thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    elif fmt in ("PNG", "WEBP") and thumb.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        thumb = thumb.convert("RGBA")
    out = io.BytesIO()
    thumb.save(out, fmt)
    return out.getvalue()


def _resize(im: Image.Image, spec: ThumbSpec) -> Image.Image:
    w, h = spec.width, spec.height
    if im.mode == "P":  # palette images resample badly
        im = im.convert("RGBA")
    if w == 0 or h == 0:
        if w == 0:
            w = max(1, round(im.width * h / im.height))
        else:
            h = max(1, round(im.height * w / im.width))
        return im.resize((w, h), Image.Resampling.BILINEAR)
    if spec.mode == "f":
        out = im.copy()
        out.thumbnail((w, h), Image.Resampling.BILINEAR)  # shrinks only, keeps the aspect ratio
        return out
    centering = {"t": (0.5, 0.0), "b": (0.5, 1.0)}.get(spec.mode, (0.5, 0.5))
    return ImageOps.fit(im, (w, h), Image.Resampling.BILINEAR, centering=centering)


class Thumbnailer:
    """Makes thumbnails on demand, bounded in concurrency; one per engine (or process)."""

    def __init__(self, workers: int = MAX_WORKERS, max_wait: float = MAX_WAIT) -> None:
        self._sem = asyncio.Semaphore(workers)
        self._max_wait = max_wait
        self._pending: dict[tuple[int, str], asyncio.Task[bool]] = {}

    async def ensure(self, storage: Storage, original_key: str, thumb_key: str, spec: ThumbSpec) -> bool:
        """True once the thumbnail exists in storage (made now if needed); False if it cannot be
        made (not an image, too large, too busy), in which case the original should be served."""
        if await storage.exists(thumb_key):
            return True
        job_key = (id(storage), thumb_key)
        task = self._pending.get(job_key)
        if task is None:
            task = asyncio.ensure_future(self._make(storage, original_key, thumb_key, spec))
            self._pending[job_key] = task
            task.add_done_callback(lambda _t: self._pending.pop(job_key, None))
        # shield: one requester going away must not cancel the job the others wait on
        return await asyncio.shield(task)

    async def _make(self, storage: Storage, original_key: str, thumb_key: str, spec: ThumbSpec) -> bool:
        try:
            await asyncio.wait_for(self._sem.acquire(), self._max_wait)
        except TimeoutError:
            log.warning("thumb: no worker free within %.0f s for %s", self._max_wait, thumb_key)
            return False
        try:
            return await self._make_locked(storage, original_key, thumb_key, spec)
        except (BlobNotFound, StorageError) as exc:
            log.warning("thumb: %s failed: %s", thumb_key, exc)
            return False
        finally:
            self._sem.release()

    async def _make_locked(self, storage: Storage, original_key: str, thumb_key: str, spec: ThumbSpec) -> bool:
        blob = await storage.open(original_key)
        if blob.info.size > MAX_SOURCE_BYTES:
            await blob.aclose()
            log.info("thumb: %s is larger than %d bytes", original_key, MAX_SOURCE_BYTES)
            return False
        spool: IO[bytes] = await asyncio.to_thread(tempfile.SpooledTemporaryFile, _SPOOL)
        try:
            try:
                async for chunk in blob:
                    await asyncio.to_thread(spool.write, chunk)
            finally:
                await blob.aclose()
            await asyncio.to_thread(spool.seek, 0)
            data = await asyncio.to_thread(render, spool, spec, original_key.rsplit("/", 1)[-1])
        finally:
            await asyncio.to_thread(spool.close)
        if data is None:
            return False
        await storage.put(thumb_key, iter_bytes(data), content_type=sniff(data))
        return True
