"""One outgoing HTTP request to a checked target, shared by webhook deliveries and HTTP job targets.

Every hop's host is resolved and checked (`baas.webhooks.targets`), and the connection goes to the
checked address (Host header and TLS SNI keep the name). Redirects (at most 5) are followed only
within the same origin (scheme, host and port): the declared headers and the signature must never
reach another origin, so a redirect elsewhere fails the attempt (`RedirectRefused`). The whole
attempt — every DNS lookup and every hop — runs under one deadline (``timeout`` seconds), and at
most ``EXCERPT`` bytes of the answer are read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from baas.webhooks.targets import Target, TargetRefused, resolve

EXCERPT = 1024  # bytes of the answer kept (delivery log, job output)
HEADER_MASK = "******"  # what the API answers for a declared header's value (values are write-only)
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


class MaskWithoutValue(ValueError):
    """A header sent as `HEADER_MASK` ("keep the stored value") that has no stored value."""

    def __init__(self, name: object) -> None:
        super().__init__(f"header {name!r}: {HEADER_MASK!r} keeps a stored value, and this header has none")
        self.name = name


def unmask_headers(sent: dict[Any, Any], stored: dict[str, str]) -> dict[Any, Any]:
    """``sent`` with each value equal to `HEADER_MASK` replaced by the stored value of that header
    (names compared case-insensitively). The API answers masks, so a client that sends a webhook's
    or an HTTP job's view back keeps the values; `MaskWithoutValue` for a mask with nothing behind it."""
    by_lower = {k.lower(): v for k, v in stored.items()}
    out: dict[Any, Any] = {}
    for k, v in sent.items():
        if v == HEADER_MASK:
            if not isinstance(k, str) or k.lower() not in by_lower:
                raise MaskWithoutValue(k)
            v = by_lower[k.lower()]
        out[k] = v
    return out


def checked_client(connections: int) -> httpx.AsyncClient:
    """The HTTP client `pinned_request` wants: no redirects followed by httpx (each hop is checked
    here), no proxy settings from the environment (the target check must judge the address actually
    connected to), and a pool as large as the requests in flight (httpcore scans every pooled
    connection for each request, so a larger idle pool only costs CPU)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, verify=True, limits=limits)


class RedirectRefused(Exception):
    """A redirect to another origin, or too many redirects: the attempt fails and is not retried."""


@dataclass
class Answer:
    """The final (non-redirect) answer: status, the first ``EXCERPT`` bytes, and its headers."""

    status: int
    excerpt: bytes
    headers: httpx.Headers


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url`` (default ports made explicit)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(f"{url!r} has an invalid port") from None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


def host_header(target: Target) -> str:
    """The Host header for ``target``: IPv6 literals in brackets, the port unless it is 80/443."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port in (80, 443) else f"{host}:{target.port}"


def pinned_url(url: str, target: Target) -> str:
    """``url`` with its host replaced by the checked address."""
    parts = urlsplit(url)
    addr = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return urlunsplit((parts.scheme, f"{addr}:{target.port}", parts.path or "/", parts.query, ""))


async def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes | None,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
) -> Answer:
    """Make the request as the module docstring says. Raises `TimeoutError` when the deadline
    passes, `baas.webhooks.targets.TargetRefused`, `RedirectRefused` or ``httpx.HTTPError``.
    A 303 is followed like the other redirects (same method and body): a webhook or job target
    that wants a GET after a POST has no use for it, and one behaviour is easier to reason about."""
    start_origin = origin(url)
    async with asyncio.timeout(timeout):
        for _ in range(MAX_REDIRECTS + 1):
            target = await resolve(url, allow_private=allow_private)
            async with client.stream(
                method,
                pinned_url(url, target),
                content=content,
                headers={**headers, "host": host_header(target)},
                timeout=timeout,
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            ) as resp:
                excerpt = b""
                async for chunk in resp.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT:
                        break
                status, answer_headers = resp.status_code, resp.headers
            location = answer_headers.get("location")
            if status in REDIRECTS and location:
                url = urljoin(url, location)
                if origin(url) != start_origin:
                    raise RedirectRefused(f"redirect to another origin refused: {origin(url)}")
                continue
            return Answer(status, excerpt[:EXCERPT], answer_headers)
    raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects")
