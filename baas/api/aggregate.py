"""``GET /api/collections/{collection}/aggregate``: counts, sums, averages, minima and maxima over
the records the requester may list, grouped (docs/aggregates.md; the work is
`baas.records.aggregate`'s)."""

from __future__ import annotations

from litestar import get

from baas.api.deps import ApiRequest, collection, engine, reader, request_info, to_json
from baas.records.aggregate import AggregateParams, aggregate_records
from baas.rules.scopes import check_scope

PATH = "/api/collections/{collection_name:str}/aggregate"


@get(PATH, media_type="application/json")
async def records_aggregate(request: ApiRequest, collection_name: str) -> bytes:
    """Groups of the records the list rule and ``filter`` let through (an API key needs ``list``)."""
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "list")
    return to_json(await aggregate_records(reader(request, req), coll, AggregateParams.from_query(req.query)))


ROUTES = [records_aggregate]
