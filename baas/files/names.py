"""Stored file names, made from an upload's name the way PocketBase 0.40 makes them.

``My Photo.JPG`` becomes ``my_photo_<10 random [a-z0-9]>.JPG``: the name part snake-cased
(ASCII letters and digits kept, every other run of characters one ``_``, camelCase split,
lower-cased, at most 100 characters, padded with 10 random characters when shorter than 3), a
random suffix always added, and the extension (a double one such as ``.tar.gz`` included) kept in
its case with only ``[A-Za-z0-9_.*+=#-]`` left, at most 20 characters. Unlike PocketBase, a name
that carries a path (``../x``, ``a/b``, ``C:\\x``) or control characters is refused instead of
cut down, so a client learns that it sent something wrong.
"""

from __future__ import annotations

import re
import secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SPLIT = re.compile(r"[^A-Za-z0-9]+")  # Go's [\W_]+ (ASCII \w)
_EXT_INVALID = re.compile(r"[^A-Za-z0-9_.*\-+=#]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_UPLOAD_NAME = 255
# A stored name as this module makes it (or PocketBase did): one path segment, no leading dot.
_STORED = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.*\-+=#]*$")


class InvalidFileName(ValueError):
    """The uploaded file name is not a plain file name."""


def random_suffix(n: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def snakecase(text: str) -> str:
    """PocketBase's ``inflector.Snakecase``: ``MyFile name!`` -> ``my_file_name``."""
    out: list[str] = []
    for word in _SPLIT.split(text):
        if not word:
            continue
        if out:
            out.append("_")
        for i, ch in enumerate(word):
            if ch.isupper() and i > 0 and not word[i - 1].isupper():
                out.append("_")
            out.append(ch)
    return "".join(out).lower()


def extract_extension(name: str) -> str:
    """The extension with its dot, a double one included: ``a.tar.gz`` -> ``.tar.gz``."""
    primary = name.rfind(".")
    if primary == -1:
        return ""
    secondary = name.rfind(".", 0, primary)
    return name[secondary:] if secondary >= 0 else name[primary:]


def check_upload_name(name: str) -> str:
    """``name`` if it is a plain file name, else `InvalidFileName` (path traversal and such)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidFileName("The file name is empty.")
    if len(name) > MAX_UPLOAD_NAME:
        raise InvalidFileName(f"The file name is longer than {MAX_UPLOAD_NAME} characters.")
    if "/" in name or "\\" in name or name in (".", "..") or re.match(r"^[A-Za-z]:", name):
        raise InvalidFileName("The file name must not contain a path.")
    if _CONTROL.search(name):
        raise InvalidFileName("The file name must not contain control characters.")
    return name


def stored_name(original: str, detected_ext: str = "") -> str:
    """The name a new upload is stored under (see the module docstring).

    ``detected_ext`` (e.g. ``sniff.extension_for(mime)``) is used when the name has no usable
    extension. Raises `InvalidFileName` for names carrying a path."""
    check_upload_name(original)
    original_ext = extract_extension(original)
    ext = _EXT_INVALID.sub("", original_ext)
    ext = re.sub(r"\.{2,}", ".", ext)  # "a..png": no ".." in a stored name
    if ext in ("", "."):
        ext = detected_ext if detected_ext.startswith(".") else ""
    if len(ext) > 20:
        ext = "." + ext[-20:].lstrip(".")
    base = snakecase(original[: len(original) - len(original_ext)] if original_ext else original)
    if len(base) < 3:
        base += random_suffix()
    elif len(base) > 100:
        base = base[:100]
    return f"{base}_{random_suffix()}{ext}"


def is_stored_name(name: str) -> bool:
    """True for a name that can be a stored file (one safe path segment): the serve path checks
    it before building a storage key."""
    return bool(name) and len(name) <= MAX_UPLOAD_NAME and ".." not in name and _STORED.match(name) is not None
