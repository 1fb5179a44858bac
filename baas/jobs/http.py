"""The HTTP-request target of a job (``http: {url, method, headers, body}`` in ``baas.yaml``).

The target is checked as outgoing webhooks check theirs (`baas.webhooks.targets`): the host is
resolved and a loopback, private, link-local or otherwise non-public address is refused unless
the job sets ``allowPrivate: true`` or the server allows it (``BAAS_WEBHOOKS_ALLOW_PRIVATE``).
The request goes to the address that was checked, and every redirect (at most 5, same origin
only: the declared headers never go to another origin) is checked again. The whole request has
one deadline (the job's ``timeout``), and at most 1 KiB of the answer is read. A 2xx answer is
a success; anything else fails the attempt (so ``retries`` apply).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from baas.schema.jobs import HttpTarget
from baas.webhooks.http import RedirectRefused, pinned_request

EXCERPT = 1000  # characters of the answer kept as the run's output
_encode = msgspec.json.Encoder().encode


class HttpTargetFailed(Exception):
    """The request was answered with a non-2xx status (or could not be made)."""


def _content(body: Any) -> tuple[bytes | None, dict[str, str]]:
    if body is None:
        return None, {}
    if isinstance(body, str):
        return body.encode(), {}
    return _encode(body), {"content-type": "application/json"}


async def request(spec: HttpTarget, timeout: float) -> dict[str, Any]:
    """Make the request; ``{status, body}`` (an excerpt of the answer) on a 2xx, else
    `HttpTargetFailed` (a refused target: `baas.webhooks.targets.TargetRefused`; the deadline
    passed: `TimeoutError`)."""
    content, extra = _content(spec.body)
    headers = {**extra, **spec.headers, "user-agent": "baas-jobs"}
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        try:
            answer = await pinned_request(
                client,
                spec.method,
                spec.url,
                content=content,
                headers=headers,
                timeout=timeout,
                allow_private=spec.allowPrivate,
            )
        except RedirectRefused as exc:
            raise HttpTargetFailed(str(exc)) from None
    text = answer.excerpt.decode("utf-8", "replace")[:EXCERPT]
    if 200 <= answer.status < 300:
        return {"status": answer.status, "body": text}
    raise HttpTargetFailed(f"HTTP {answer.status}: {text}")
