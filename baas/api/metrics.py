"""``GET /metrics`` (baas/metrics.py, docs/metrics.md); requests are counted by
baas/api/observe.py."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os

from litestar import Response, get

from baas.api.deps import ApiRequest, bearer_token, engine, request_info
from baas.errors import Forbidden, Unauthorized
from baas.events.consumer import consumer_lags

log = logging.getLogger("baas")
LAG_SECONDS = 2.0  # the consumer lag query's bound
TOKEN_ENV = "BAAS_METRICS_TOKEN"  # a scraper's bearer token; without it only superusers may scrape


@get("/metrics", media_type="text/plain; version=0.0.4; charset=utf-8")
async def metrics_view(request: ApiRequest) -> Response[bytes]:
    """Prometheus text format: with ``BAAS_METRICS_TOKEN`` set, ``Authorization: Bearer <it>``
    (what a scrape config sends); a superuser's token works either way."""
    expected = os.environ.get(TOKEN_ENV, "")
    given = bearer_token(request)
    if not (expected and given and hmac.compare_digest(given.encode(), expected.encode())):
        req = await request_info(request)
        if not req.auth:
            raise Unauthorized("The request requires a superuser's token or the metrics token.")
        if not req.is_superuser:
            raise Forbidden("Only superusers can perform this action.")
    eng = engine(request)
    try:  # a database that does not answer must not cost the scrape its other metrics
        eng.metrics.consumer_lags = await asyncio.wait_for(consumer_lags(eng.db), LAG_SECONDS)
    except Exception:
        log.warning("metrics: the event consumers' lag was not read", exc_info=True)
        eng.metrics.consumer_lags = {}
    body = eng.metrics.exposition()
    return Response(content=body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [metrics_view]
