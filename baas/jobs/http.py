"""The HTTP-request target of a job (``http: {url, method, headers, body}`` in ``baas.yaml``).

The target is checked as outgoing webhooks check theirs (`baas.webhooks.targets`): the host is
resolved and a loopback, private, link-local or otherwise non-public address is refused unless
the job sets ``allowPrivate: true`` or the server allows it (``BAAS_WEBHOOKS_ALLOW_PRIVATE``).
The request goes to the address that was checked, and every redirect (at most 5) is checked
again. A 2xx answer is a success; anything else fails the attempt (so ``retries`` apply).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import msgspec

from baas.schema.jobs import HttpTarget
from baas.webhooks.targets import Target, resolve

EXCERPT = 1000  # characters of the answer kept as the run's output
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
_encode = msgspec.json.Encoder().encode


class HttpTargetFailed(Exception):
    """The request was answered with a non-2xx status (or could not be made)."""


def _pinned(url: str, target: Target) -> str:
    """``url`` aimed at the checked address (the Host header and TLS keep the name)."""
    parts = urlsplit(url)
    addr = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return urlunsplit((parts.scheme, f"{addr}:{target.port}", parts.path or "/", parts.query, ""))


def _content(body: Any) -> tuple[bytes | None, dict[str, str]]:
    if body is None:
        return None, {}
    if isinstance(body, str):
        return body.encode(), {}
    return _encode(body), {"content-type": "application/json"}


async def request(spec: HttpTarget, timeout: float) -> dict[str, Any]:
    """Make the request; ``{status, body}`` (an excerpt of the answer) on a 2xx, else
    `HttpTargetFailed` (a refused target: `baas.webhooks.targets.TargetRefused`)."""
    url, method = spec.url, spec.method
    content, extra = _content(spec.body)
    headers = {**extra, **spec.headers, "user-agent": "baas-jobs"}
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target = await resolve(url, allow_private=spec.allowPrivate)
            host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
            resp = await client.request(
                method,
                _pinned(url, target),
                content=content,
                headers={**headers, "host": host},
                timeout=timeout,
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            text = resp.text[:EXCERPT]
            location = resp.headers.get("location")
            if resp.status_code in REDIRECTS and location:
                url = urljoin(url, location)
                if resp.status_code == 303:  # "see other": the follow-up is a GET without the body
                    method, content = "GET", None
                continue
            if 200 <= resp.status_code < 300:
                return {"status": resp.status_code, "body": text}
            raise HttpTargetFailed(f"HTTP {resp.status_code}: {text}")
    raise HttpTargetFailed(f"more than {MAX_REDIRECTS} redirects")
