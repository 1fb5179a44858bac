"""The web console at ``/_/``: static files from the top-level ``console/`` folder.

The console is hand-written ES modules and CSS (no build step) that talk to the public API
only, so serving it is plain file serving with strict security headers:

- a Content-Security-Policy allowing scripts, styles and connections from this origin only
  (no inline script or style, no ``eval``), images also from ``blob:``/``data:`` (upload previews);
- ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (no clickjacking of superuser actions);
- ``nosniff`` and ``no-referrer``.

The files ship as the ``baas_console`` package (``console/baas_console/`` in the source tree,
found through pyproject.toml's ``where``), so a wheel carries them; an editable install made before that mapping finds
them next to the ``baas`` package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from litestar import Response, get, route

from baas.api.deps import ApiRequest, engine, json_response, superuser_engine
from baas.errors import NotFound

PREFIX = "/_"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The files change with the installed version; revalidating is cheap on loopback and keeps
    # an upgraded server from running yesterday's console.
    "Cache-Control": "no-cache",
}
# Only these kinds are served: a stray file in the folder (a README, a .py) is not part of the site.
# Litestar adds "; charset=utf-8" to text/* types itself (naming it here would send it twice).
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


@lru_cache(maxsize=1)
def static_root() -> Path:
    """The folder holding index.html and the modules."""
    try:
        # import here: baas_console is optional (an editable install made before pyproject.toml mapped
        # it has none), and the fallback below finds the files next to the source tree then.
        import baas_console

        root = Path(baas_console.__file__).parent / "static"
        if root.is_dir():
            return root
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "console" / "baas_console" / "static"


def _file(rel: str, root: Path | None = None) -> Response[bytes]:
    root = root or static_root()
    path = (root / rel).resolve()
    kind = _TYPES.get(path.suffix)
    # resolve() folds ``..`` and symlinks: anything outside the root is not ours to serve.
    if kind is None or not path.is_relative_to(root.resolve()) or not path.is_file():
        raise NotFound("The requested resource wasn't found.")
    return Response(path.read_bytes(), media_type=kind, headers=HEADERS)


def _plugin_file(request: ApiRequest, rel: str) -> Response[bytes]:
    """``plugins/<name>/<file>``: a file of a plugin's console page (`PluginApp.console_page`),
    from that page's folder only and with the console's headers."""
    name, _, inner = rel.removeprefix("plugins/").partition("/")
    for page in engine(request).plugins.console_pages:
        if page.name == name and inner:
            return _file(inner, page.directory)
    raise NotFound("The requested resource wasn't found.")


def _preload_links() -> str:
    """A ``Link`` header value preloading every module: without it the browser finds them level by
    level (app.js, then the pages it imports, then theirs), one round of requests each."""
    root = static_root()
    modules = sorted(p.relative_to(root).as_posix() for p in (root / "js").rglob("*.js"))
    return ", ".join(f"<{PREFIX}/{m}>; rel=modulepreload" for m in modules)


# HEAD answers as GET without the body (uptime checks, link checkers); Litestar drops the body itself.
@route(PREFIX + "/", http_method=["GET", "HEAD"], include_in_schema=False)
async def console_index() -> Response[bytes]:
    """The console's single page (also at ``/_``: Litestar treats both alike, so index.html
    names its files by absolute path); its routes live in the URL fragment (``#/collections``)."""
    page = _file("index.html")
    page.headers["Link"] = _preload_links()
    return page


@route(PREFIX + "/{file_path:path}", http_method=["GET", "HEAD"], include_in_schema=False)
async def console_static(request: ApiRequest, file_path: str) -> Response[bytes]:
    rel = file_path.lstrip("/") or "index.html"
    if rel.startswith("plugins/"):
        return _plugin_file(request, rel)
    return _file(rel)


@get("/api/console/pages")
async def console_pages(request: ApiRequest) -> Response[bytes]:
    """The console pages plugins add (superusers only): ``{"pages": [{name, title, module}]}``."""
    eng = await superuser_engine(request)
    pages = [{"name": p.name, "title": p.title, "module": p.module} for p in eng.plugins.console_pages]
    return json_response({"pages": pages})


ROUTES = [console_index, console_static]  # the site (app.py)
API_ROUTES = [console_pages]  # in the API's route list and OpenAPI document (routes.py)
