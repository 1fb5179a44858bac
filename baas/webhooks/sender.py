"""One delivery attempt over HTTP: the POST, its redirects (each target checked again), the
outcome (status, latency, a short excerpt of the answer, whether to retry)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from baas.webhooks.targets import Target, TargetRefused, resolve

EXCERPT = 1024  # bytes of the receiver's answer kept in the delivery log
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Outcome:
    """What one attempt came to. ``retry``: a timeout, a network error, 5xx or 429;
    ``retry_after``: the receiver's Retry-After in seconds (None if absent)."""

    ok: bool
    status: int = 0
    latency_ms: float = 0.0
    response: str = ""
    error: str = ""
    retry: bool = False
    retry_after: float | None = None


def _pinned_url(url: str, target: Target) -> str:
    """``url`` with its host replaced by the checked address (the Host header keeps the name)."""
    parts = urlsplit(url)
    addr = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return urlunsplit((parts.scheme, f"{addr}:{target.port}", parts.path or "/", parts.query, ""))


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def send(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
) -> Outcome:
    """POST ``body`` to ``url``. Redirects are followed up to 5 times, re-sending the same POST,
    each new target checked like the first (a redirect to a private address is refused)."""
    start = time.perf_counter()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = await resolve(url, allow_private=allow_private)
            host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
            async with client.stream(
                "POST",
                _pinned_url(url, target),
                content=body,
                headers={**headers, "host": host},
                timeout=timeout,
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            ) as resp:
                excerpt = b""
                async for chunk in resp.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT:
                        break
                status = resp.status_code
                location = resp.headers.get("location")
                retry_after = retry_after_seconds(resp.headers.get("retry-after"))
            latency = (time.perf_counter() - start) * 1000
            text = excerpt[:EXCERPT].decode("utf-8", "replace")
            if status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if 200 <= status < 300:
                return Outcome(True, status, latency, text)
            return Outcome(
                False,
                status,
                latency,
                text,
                error=f"HTTP {status}",
                retry=status >= 500 or status == 429,
                retry_after=retry_after if status in (429, 503) else None,
            )
        return Outcome(False, 0, (time.perf_counter() - start) * 1000, error=f"more than {MAX_REDIRECTS} redirects")
    except TargetRefused as exc:
        return Outcome(False, 0, (time.perf_counter() - start) * 1000, error=f"refused: {exc}")
    except httpx.TimeoutException:
        return Outcome(
            False, 0, (time.perf_counter() - start) * 1000, error=f"timed out after {timeout:g}s", retry=True
        )
    except httpx.HTTPError as exc:
        return Outcome(
            False, 0, (time.perf_counter() - start) * 1000, error=f"{type(exc).__name__}: {exc}"[:500], retry=True
        )
