"""Where the schema comes from, besides a ``baas.yaml`` (planned by ``baas.cli.gen`` on a scratch
engine): a running server's ``GET /api/collections``, read with a superuser token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

PER_PAGE = 200


class TypegenError(Exception):
    """Bad input for ``baas gen types``: the message says what and where."""


def public_url(url: str) -> str:
    """``url`` without credentials, query or fragment: what the generated header may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def collections_from_url(url: str, token: str, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every collection of the server at ``url`` (all pages of ``GET /api/collections``)."""
    if not token:
        raise TypegenError("--url needs a superuser token: pass --token or set BAAS_TOKEN")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TypegenError(f"--url must be an http(s) URL like http://127.0.0.1:8090, got {public_url(url)!r}")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    out: list[dict[str, Any]] = []
    page, pages = 1, 1
    with httpx.Client(timeout=timeout, headers={"Authorization": token}) as http:
        while page <= pages:
            body = _get(http, f"{base}/api/collections", {"page": page, "perPage": PER_PAGE}, url)
            items = body.get("items")
            if not isinstance(items, list):
                raise TypegenError(f"{public_url(url)} did not answer a collection list (no 'items')")
            out.extend(i for i in items if isinstance(i, dict))
            pages = int(body.get("totalPages") or 1)
            page += 1
    return out


def _get(http: httpx.Client, endpoint: str, params: dict[str, Any], url: str) -> dict[str, Any]:
    shown = public_url(url)
    try:
        resp = http.get(endpoint, params=params)
    except httpx.HTTPError as exc:
        raise TypegenError(f"cannot reach {shown}: {exc or type(exc).__name__}") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    message = body.get("message", "") if isinstance(body, dict) else ""
    if resp.status_code in (401, 403):
        raise TypegenError(
            f"{shown} refused the token ({resp.status_code}{': ' + message if message else ''}); "
            "--token (or BAAS_TOKEN) must be a superuser's auth token"
        )
    if resp.status_code != 200 or not isinstance(body, dict):
        what = message or ("not JSON" if body is None else "an unexpected answer")
        raise TypegenError(f"GET {shown}/api/collections answered {resp.status_code}: {what}")
    return body
