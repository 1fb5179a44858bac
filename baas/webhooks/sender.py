"""One delivery attempt over HTTP: the POST, its same-origin redirects (each target checked again), the
outcome (status, latency, a short excerpt of the answer, whether to retry)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from baas.webhooks.http import RedirectRefused, pinned_request
from baas.webhooks.targets import TargetRefused


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
    """POST ``body`` to ``url`` (`baas.webhooks.http.pinned_request`: same-origin redirects only,
    each hop checked, one deadline of ``timeout`` seconds for the whole attempt)."""
    start = time.perf_counter()

    def took() -> float:
        return (time.perf_counter() - start) * 1000

    try:
        answer = await pinned_request(
            client, "POST", url, content=body, headers=headers, timeout=timeout, allow_private=allow_private
        )
    except TargetRefused as exc:
        return Outcome(False, 0, took(), error=f"refused: {exc}")
    except RedirectRefused as exc:
        return Outcome(False, 0, took(), error=str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(False, 0, took(), error=f"timed out after {timeout:g}s", retry=True)
    except httpx.HTTPError as exc:
        return Outcome(False, 0, took(), error=f"{type(exc).__name__}: {exc}"[:500], retry=True)
    status, text = answer.status, answer.excerpt.decode("utf-8", "replace")
    if 200 <= status < 300:
        return Outcome(True, status, took(), text)
    retry_after = retry_after_seconds(answer.headers.get("retry-after"))
    return Outcome(
        False,
        status,
        took(),
        text,
        error=f"HTTP {status}",
        retry=status >= 500 or status == 429,
        retry_after=retry_after if status in (429, 503) else None,
    )
