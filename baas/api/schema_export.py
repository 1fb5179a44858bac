"""``GET /api/schema/export``: the applied schema as ``baas.yaml``, as ``baas schema export`` writes it.

The console shows and downloads it; a script can fetch it to keep the schema file in version
control. The text comes from the same function as the CLI's (`baas.schema.loader.dump_schema`)
over the schema as applied now, so the two are the same document. Superusers only.
"""

from __future__ import annotations

from litestar import Response, get

from baas.api.deps import ApiRequest, superuser_engine
from baas.schema.loader import dump_schema

PATH = "/api/schema/export"


@get(PATH)
async def schema_export(request: ApiRequest) -> Response[bytes]:
    """The applied schema as baas.yaml text (``?download=1`` asks the browser to save it)."""
    eng = await superuser_engine(request)
    await eng.refresh_schema()  # another node may have applied a change since this one loaded it
    text = dump_schema(eng.registry.all())
    headers = {"Cache-Control": "no-store"}
    if request.query_params.get("download") in ("1", "true"):
        headers["Content-Disposition"] = 'attachment; filename="baas.yaml"'
    # application/yaml (RFC 9512); charset spelled out so browsers show non-ASCII names right.
    return Response(content=text.encode(), media_type="application/yaml; charset=utf-8", headers=headers)


ROUTES = [schema_export]
