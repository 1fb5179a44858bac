"""Header values with parameters: ``Content-Type`` and ``Content-Disposition``.

    media, params = parse_header('multipart/form-data; boundary="----WebKitFormBoundaryAbC"')
    # ("multipart/form-data", {"boundary": "----WebKitFormBoundaryAbC"})

Only the media type and the parameter *names* are case-insensitive (RFC 9110 §8.3.1): they are
lower-cased here and nothing else is. A parameter's value keeps its case, which matters: a browser's
multipart boundary (``----WebKitFormBoundaryX7pQ…``) has to match the body byte for byte, and a
file name is the user's. Values are tokens or quoted strings (backslash escapes undone). An
extended value (``filename*=UTF-8''n%C3%A4me.txt``, RFC 8187) is decoded and wins over the plain
one, as RFC 6266 asks and Go's ``mime.ParseMediaType`` (so PocketBase) does; it is also kept
under its own name (``"filename*"``) so a caller can tell where a value came from. A malformed
one is dropped, leaving the plain value.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

_EXT_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}  # the two RFC 8187 requires


def parse_header(value: str) -> tuple[str, dict[str, str]]:
    """(lower-cased main value, parameters by lower-cased name) of a header value."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t;":
            i += 1
        start = i
        while i < n and rest[i] not in "=;":
            i += 1
        name = rest[start:i].strip().lower()
        if i >= n or rest[i] == ";":  # a name without a value: not a parameter
            continue
        i += 1  # past "="
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            raw, i = _quoted(rest, i + 1)
        else:
            start = i
            while i < n and rest[i] != ";":
                i += 1
            raw = rest[start:i].strip()
        if not name:
            continue
        if name.endswith("*"):
            decoded = _ext_value(raw)
            if decoded is not None and name[:-1] not in extended:
                extended[name[:-1]] = extended[name] = decoded
        else:
            params.setdefault(name, raw)  # the first of a repeated name counts
    params.update(extended)
    return main.strip().lower(), params


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The content of a quoted string starting after its opening quote, and the index past it."""
    out: list[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), i  # unterminated: what there is, as lenient parsers read it


def _ext_value(raw: str) -> str | None:
    """An RFC 8187 ``charset'language'percent-encoded`` value, decoded; None when malformed."""
    parts = raw.split("'", 2)
    if len(parts) != 3:
        return None
    charset = _EXT_CHARSETS.get(parts[0].strip().lower())
    if charset is None:
        return None
    try:
        return unquote_to_bytes(parts[2]).decode(charset)
    except UnicodeDecodeError:
        return None
