"""What the sync and async clients share: errors, request plans, encoding, the filter binder and
the SSE parser. Nothing here does I/O; `Client` and `AsyncClient` only differ in how they send."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import IO, Any, Generic, TypeAlias, TypeVar, cast
from urllib.parse import quote, urlencode

import msgspec

R = TypeVar("R")
"""The record type a service returns."""
C = TypeVar("C")
"""The body type of a create."""
U = TypeVar("U")
"""The body type of an update."""

FileContent: TypeAlias = bytes | PurePath | IO[bytes] | tuple[str, bytes | IO[bytes]]
"""One upload: raw bytes, a path, an open binary stream, or ``(filename, bytes_or_stream)``."""
Files: TypeAlias = Mapping[str, FileContent | Sequence[FileContent]]
"""Uploads by field name (``"photos+"`` appends, ``"+photos"`` prepends); a list for several files."""
QueryValue: TypeAlias = str | int | float | bool | None


class ClientError(Exception):
    """A request that failed: the server's error answer (``status`` ≥ 400, ``message``, ``data`` with
    the field errors as ``{field: {"code", "message"}}``), or ``status`` 0 when no answer came."""

    def __init__(
        self, status: int, message: str, data: Mapping[str, Any] | None = None, url: str = "", response: Any = None
    ) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status
        self.message = message
        self.data: dict[str, Any] = dict(data or {})
        self.url = url
        self.response: Any = response
        """The decoded answer body, as sent (``None`` when there was none)."""

    @property
    def field_errors(self) -> dict[str, str]:
        """``{field: code}`` for each field error in ``data``."""
        out: dict[str, str] = {}
        for key, value in self.data.items():
            if isinstance(value, Mapping):
                out[key] = str(cast(Mapping[str, Any], value).get("code", ""))
        return out


class MFARequiredError(ClientError):
    """The first factor succeeded and the server asks for a second one: send ``mfa_id`` with it
    (``auth_with_otp(..., mfa_id=...)``, ``auth_with_totp(mfa_id, code)``, …)."""

    def __init__(self, mfa_id: str, url: str, response: Any) -> None:
        super().__init__(401, "A second authentication factor is required.", None, url, response)
        self.mfa_id = mfa_id


@dataclass
class ListResult(Generic[R]):
    """One page of a list."""

    page: int
    per_page: int
    total_items: int
    total_pages: int
    items: list[R]
    next_cursor: str | None = None  # cursor paging (``cursor=``): the next page's, None after the last


@dataclass
class AuthResponse(Generic[R]):
    """A sign-in's answer: the token (also saved in the client's auth store) and the auth record."""

    token: str
    record: R
    meta: dict[str, Any] | None = None


@dataclass
class RecordEvent(Generic[R]):
    """A realtime message: ``action`` is ``create``, ``update`` or ``delete``."""

    action: str
    record: R


@dataclass
class BatchResult:
    """One request's answer within a batch."""

    status: int
    body: Any


# -- requests ------------------------------------------------------------------------------------
@dataclass
class Plan:
    """One request, before it is sent."""

    method: str
    path: str
    query: dict[str, QueryValue] = field(default_factory=dict[str, QueryValue])
    json: Any = None
    files: Files | None = None
    auth: bool = True  # send the auth store's token
    refresh: bool = True  # may refresh the token before sending


def list_query(
    *,
    page: int | None = None,
    per_page: int | None = None,
    filter: str | None = None,  # noqa: A002  # PocketBase's parameter name
    sort: str | None = None,
    expand: str | None = None,
    fields: str | None = None,
    skip_total: bool | None = None,
    search: str | None = None,
) -> dict[str, QueryValue]:
    """The list/view query parameters under their wire names (unset ones left out)."""
    if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
        raise ValueError(f"page must be an integer ≥ 1, not {page!r}")
    if per_page is not None and (isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1):
        raise ValueError(f"per_page must be an integer ≥ 1, not {per_page!r}")
    for name, value in (("filter", filter), ("sort", sort), ("expand", expand), ("fields", fields), ("search", search)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    raw: dict[str, QueryValue] = {
        "page": page,
        "perPage": per_page,
        "filter": filter,
        "sort": sort,
        "expand": expand,
        "fields": fields,
        "skipTotal": skip_total or None,
        "search": search or None,
    }
    return {k: v for k, v in raw.items() if v is not None}


Names: TypeAlias = "str | Sequence[str] | None"  # "views,price" or ["views", "price"]


def aggregate_query(
    *,
    group_by: Names = None,
    sums: Names = None,
    avgs: Names = None,
    mins: Names = None,
    maxs: Names = None,
    distinct: Names = None,
    filter: str | None = None,  # noqa: A002
    search: str | None = None,
    having: str | None = None,
    sort: str | None = None,
    page: int = 1,
    per_page: int = 30,
    skip_total: bool = False,
) -> dict[str, QueryValue]:
    """``…/aggregate``'s query parameters (docs/aggregates.md) under their wire names."""
    query = list_query(page=page, per_page=per_page, filter=filter, sort=sort, skip_total=skip_total, search=search)
    if having is not None:
        if not isinstance(having, str):
            raise TypeError(f"having must be a string, not {type(having).__name__}")
        query["having"] = having
    wire = {"groupBy": group_by, "sum": sums, "avg": avgs, "min": mins, "max": maxs, "distinct": distinct}
    for name, value in wire.items():
        if value is None:
            continue
        items = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(v, str) for v in items):
            raise TypeError(f"{name} must be a field name or a list of them")
        if items:
            query[name] = ",".join(items)
    return query


def seg(value: str) -> str:
    """One URL path segment, encoded (a record id or collection name never changes the path)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string for a URL path segment, not {value!r}")
    return quote(value, safe="")


def encode_query(query: Mapping[str, QueryValue]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        pairs.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    # quote_via=quote: spaces as %20, every reserved character encoded (granian refuses raw quotes)
    return urlencode(pairs, quote_via=quote)


def build_url(base_url: str, path: str, query: Mapping[str, QueryValue] | None = None) -> str:
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    qs = encode_query(query or {})
    return f"{url}?{qs}" if qs else url


def encode_json(value: Any) -> bytes:
    try:
        return msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"the request body cannot be sent as JSON: {exc}") from None


def _one_file(name: str, value: FileContent, opened: list[IO[bytes]]) -> tuple[str, IO[bytes] | bytes]:
    if isinstance(value, tuple):
        filename, content = value
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"files[{name!r}]: a (filename, content) pair needs a non-empty filename")
        if not isinstance(content, bytes | bytearray) and not hasattr(content, "read"):
            raise TypeError(f"files[{name!r}]: the content of {filename!r} must be bytes or a binary stream")
        return filename, content
    if isinstance(value, bytes | bytearray):
        return "file", bytes(value)
    if isinstance(value, PurePath):
        handle = open(os.fspath(value), "rb")  # noqa: SIM115  # closed by the sender after the request
        opened.append(handle)
        return value.name, handle
    if hasattr(value, "read"):
        raw_name = getattr(value, "name", None)
        filename = os.path.basename(raw_name) if isinstance(raw_name, str) and raw_name else "file"
        if isinstance(value, io.TextIOBase):
            raise TypeError(f"files[{name!r}]: open the file in binary mode ('rb')")
        return filename, value
    raise TypeError(
        f"files[{name!r}]: expected bytes, a path, a binary stream or (filename, content), not {type(value).__name__}"
    )


def multipart(
    body: Mapping[str, Any] | None, files: Files, opened: list[IO[bytes]]
) -> tuple[dict[str, str], list[tuple[str, tuple[str, IO[bytes] | bytes]]]]:
    """The form of a write with uploads: the JSON values as PocketBase's ``@jsonPayload`` part (so
    numbers, lists and nulls keep their types) and one part per file."""
    parts: list[tuple[str, tuple[str, IO[bytes] | bytes]]] = []
    for name, value in files.items():
        if not isinstance(name, str) or not name:
            raise ValueError("files: every key must be a field name")
        many = isinstance(value, list | Sequence) and not isinstance(value, tuple | bytes | bytearray | str)
        items = cast(Sequence[FileContent], value) if many else [cast(FileContent, value)]
        for item in items:
            parts.append((name, _one_file(name, item, opened)))
    data = {"@jsonPayload": encode_json(dict(body)).decode()} if body else {}
    return data, parts


def check_body(body: Any) -> Mapping[str, Any] | None:
    if body is None:
        return None
    if not isinstance(body, Mapping):
        raise TypeError(f"the body must be a mapping (a dict or TypedDict), not {type(body).__name__}")
    keys: Mapping[object, object] = cast(Mapping[object, object], body)
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"body keys must be strings, not {type(key).__name__}")
    return cast(Mapping[str, Any], body)


def decode(content: bytes) -> Any:
    if not content.strip():
        return None
    try:
        return msgspec.json.decode(content)
    except msgspec.DecodeError:
        return content.decode(errors="replace")


def error_of(status: int, url: str, payload: Any) -> ClientError:
    """The exception for a failed answer (PocketBase's ``{status, message, data}`` shape)."""
    if status == 401 and isinstance(payload, dict) and set(cast(dict[str, Any], payload)) == {"mfaId"}:
        return MFARequiredError(str(cast(dict[str, Any], payload)["mfaId"]), url, payload)
    if isinstance(payload, dict):
        body = cast(dict[str, Any], payload)
        message = str(body.get("message") or f"The request failed with status {status}.")
        data = body.get("data")
        return ClientError(status, message, cast(dict[str, Any], data) if isinstance(data, dict) else None, url, body)
    return ClientError(status, f"The request failed with status {status}.", None, url, payload)


def list_result(payload: Any) -> ListResult[Any]:
    if not isinstance(payload, dict):
        raise ClientError(0, "The server's list answer is not an object.", response=payload)
    body = cast(dict[str, Any], payload)
    return ListResult(
        page=int(body.get("page", 1)),
        per_page=int(body.get("perPage", 0)),
        total_items=int(body.get("totalItems", -1)),
        total_pages=int(body.get("totalPages", -1)),
        items=list(body.get("items") or []),
        next_cursor=body.get("nextCursor") if isinstance(body.get("nextCursor"), str) else None,
    )


def auth_response(payload: Any) -> AuthResponse[Any]:
    if not isinstance(payload, dict) or not isinstance(cast(dict[str, Any], payload).get("token"), str):
        raise ClientError(0, "The server's auth answer has no token.", response=payload)
    body = cast(dict[str, Any], payload)
    meta: Any = body.get("meta")
    return AuthResponse(
        token=body["token"],
        record=body.get("record"),
        meta=cast(dict[str, Any], meta) if isinstance(meta, dict) else None,
    )


# -- tokens --------------------------------------------------------------------------------------
def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only to read ``exp``/``type``); ``{}`` for anything else
    (an API key)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return cast(dict[str, Any], claims) if isinstance(claims, dict) else {}


def refresh_due(token: str, margin: float) -> str | None:
    """The collection id to refresh the token through when a refreshable record token expires within
    ``margin`` seconds (and has not expired yet), else ``None``."""
    claims = token_claims(token)
    if claims.get("type") != "auth" or claims.get("refreshable") is False:
        return None
    exp, collection = claims.get("exp"), claims.get("collectionId")
    if not isinstance(exp, int | float) or not isinstance(collection, str) or not collection:
        return None
    now = time.time()
    return collection if now < exp <= now + margin else None


# -- filters -------------------------------------------------------------------------------------
def _quote(text: str) -> str:
    # The baas lexer reads \\ and \' as escapes; both are escaped, so a value can never end the
    # string early (a trailing backslash included) whatever it holds.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def filter_value(name: str, value: Any) -> str:
    """One bound filter parameter as a literal of the filter language."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"filter parameter {name!r}: {value!r} is not a number the filter language has")
        text = repr(value)
        # the filter language has no exponent notation
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"filter parameter {name!r}: a datetime needs a timezone (naive datetimes are ambiguous)")
        utc = value.astimezone(dt.UTC)
        return _quote(utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z")
    if isinstance(value, dt.date):
        return _quote(value.isoformat())
    if isinstance(value, Mapping | list | tuple):
        # PocketBase's filter() sends objects and arrays as their JSON text
        return _quote(encode_json(value).decode())
    raise TypeError(
        f"filter parameter {name!r}: unsupported type {type(value).__name__} "
        "(use str, int, float, bool, None, datetime, date, or a JSON-able dict/list)"
    )


def bind_filter(expr: str, params: Mapping[str, Any] | None = None) -> str:
    """``expr`` with every ``{:name}`` replaced by ``params[name]`` as a safely quoted literal —
    PocketBase's ``pb.filter(expr, params)``. Never build filters by string formatting user input."""
    if not isinstance(expr, str):
        raise TypeError(f"the filter expression must be a string, not {type(expr).__name__}")
    if not params:
        return expr
    out = expr
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise TypeError("filter parameter names must be non-empty strings")
        out = out.replace("{:" + name + "}", filter_value(name, value))
    return out


# -- realtime ------------------------------------------------------------------------------------
def topic_key(
    topic: str,
    *,
    filter: str | None = None,  # noqa: A002
    fields: str | None = None,
    expand: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The subscription string: the topic plus PocketBase's ``?options=`` JSON when there are options
    (it is also the SSE event name of the subscription's messages)."""
    if not isinstance(topic, str) or not topic:
        raise ValueError("a realtime topic must be a non-empty string")
    query = {k: v for k, v in (("filter", filter), ("fields", fields), ("expand", expand)) if v is not None}
    options: dict[str, Any] = {}
    if query:
        options["query"] = query
    if headers:
        options["headers"] = dict(headers)
    if not options:
        return topic
    text = json.dumps(options, separators=(",", ":"))
    return topic + ("&" if "?" in topic else "?") + "options=" + quote(text, safe="")


@dataclass
class SSEMessage:
    id: str
    event: str
    data: str


class SSEParser:
    """Server-Sent Events, fed line by line."""

    def __init__(self) -> None:
        self._id = ""
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SSEMessage | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data and not self._event:
                return None
            msg = SSEMessage(self._id, self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return msg
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            self._id = value
        elif name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0, 5.0)
"""Seconds between realtime reconnect attempts (the last one repeats)."""


def redact(url: str) -> str:
    """A URL fit for a log line: the query string (file tokens, filters) left out."""
    return url.split("?", 1)[0]
