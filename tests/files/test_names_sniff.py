"""Stored names as PocketBase 0.40 makes them, and MIME types sniffed from content."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from baas.files.names import (
    InvalidFileName,
    check_upload_name,
    extract_extension,
    is_stored_name,
    snakecase,
    stored_name,
)
from baas.files.sniff import SNIFF_BYTES, extension_for, mime_allowed, sniff

SUFFIX = r"[a-z0-9]{10}"


@pytest.mark.parametrize(
    "original, pattern",
    [
        # Observed from PocketBase 0.40.6 for the same uploads:
        ("My Ünï File!!.PNG", rf"my_n_file_{SUFFIX}\.PNG"),
        ("a.png", rf"a{SUFFIX}_{SUFFIX}\.png"),  # short names get 10 more random characters
        (".hidden", rf"{SUFFIX}_{SUFFIX}\.hidden"),
        ("Page.Tar.GZ", rf"page_{SUFFIX}\.Tar\.GZ"),
        ("x.svg", rf"x{SUFFIX}_{SUFFIX}\.svg"),
        ("myCamelName.jpeg", rf"my_camel_name_{SUFFIX}\.jpeg"),
        ("report 2024 (final).pdf", rf"report_2024_final_{SUFFIX}\.pdf"),
        ("a..png", rf"a{SUFFIX}_{SUFFIX}\.png"),  # never ".." in a stored name
        ("weird.ex t$", rf"weird_{SUFFIX}\.ext"),
        ("n" * 300 + ".txt", None),
    ],
)
def test_stored_name(original: str, pattern: str | None) -> None:
    name = stored_name(original[:255] if len(original) > 255 else original)
    if pattern is None:
        assert len(name) <= 100 + 1 + 10 + 4
    else:
        assert re.fullmatch(pattern, name), name
    assert is_stored_name(name)
    assert stored_name(original[:255]) != stored_name(original[:255])  # random every time


def test_extension_from_content_when_missing() -> None:
    assert re.fullmatch(rf"photo_{SUFFIX}\.png", stored_name("photo", ".png"))
    assert re.fullmatch(rf"photo_{SUFFIX}", stored_name("photo"))
    long_ext = stored_name("a.b" + "c" * 40)
    assert len(long_ext.rsplit(".", 1)[1]) == 20


@pytest.mark.parametrize(
    "bad",
    [
        "../etc/passwd",
        "..",
        ".",
        "a/b.png",
        "a\\b.png",
        "C:\\x\\a.png",
        "C:a.png",
        "a\x00.png",
        "a\nb.png",
        "",
        "   ",
        "x" * 256,
    ],
)
def test_path_traversal_and_junk_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidFileName):
        check_upload_name(bad)
    with pytest.raises(InvalidFileName):
        stored_name(bad)


def test_helpers() -> None:
    assert snakecase("MyFile name!") == "my_file_name"
    assert snakecase("HTTPServer") == "httpserver"
    assert extract_extension("a.tar.gz") == ".tar.gz" and extract_extension("a.b.tar.gz") == ".tar.gz"
    assert extract_extension("noext") == ""
    for bad in ["../x", "a/b", ".env", "a..b", "a b", "", "x\x00"]:
        assert not is_stored_name(bad), bad


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, expected",
    [
        (image("PNG"), "image/png"),
        (image("JPEG"), "image/jpeg"),
        (image("GIF"), "image/gif"),
        (image("WEBP"), "image/webp"),
        (image("BMP"), "image/bmp"),
        (b"%PDF-1.7\n%...", "application/pdf"),
        (b"PK\x03\x04" + b"\x00" * 60, "application/zip"),
        (b"hello world", "text/plain; charset=utf-8"),
        ("héllo wörld".encode(), "text/plain; charset=utf-8"),
        (b"", "text/plain; charset=utf-8"),
        (b'{"a": [1, 2]}', "application/json"),
        (b"[1, 2", "text/plain; charset=utf-8"),
        (b"  <!DOCTYPE html><html>", "text/html; charset=utf-8"),
        (b"<script>alert(1)</script>", "text/html; charset=utf-8"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?><feed/>', "text/xml; charset=utf-8"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xff\xfeh\x00i\x00", "text/plain; charset=utf-16le"),
    ],
)
def test_sniff(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


def test_sniff_ignores_the_claimed_type() -> None:
    """An HTML page named .png is HTML: the name never decides."""
    assert sniff(b"<html><body><script>x</script>") == "text/html; charset=utf-8"


def test_sniff_long_text_cut_mid_character() -> None:
    text = ("é" * SNIFF_BYTES).encode()[: SNIFF_BYTES + 1]  # a window that ends inside a character
    assert sniff(text[:SNIFF_BYTES], complete=False) == "text/plain; charset=utf-8"


def test_mime_allowed() -> None:
    assert mime_allowed("image/png", None) and mime_allowed("image/png", [])
    assert mime_allowed("image/jpeg", ["image/jpg"]) and mime_allowed("image/jpeg", ["IMAGE/JPEG"])
    assert mime_allowed("text/plain; charset=utf-8", ["text/plain"])
    assert not mime_allowed("text/html; charset=utf-8", ["text/plain", "image/png"])
    assert not mime_allowed("image/svg+xml", ["image/png"])
    assert mime_allowed("application/pdf", ["application/x-pdf"])
    assert extension_for("image/jpeg") == ".jpg" and extension_for("application/json") == ".json"
    assert extension_for("application/x-unknown") == ""
