"""The workloads: which Lua script, with which arguments, against which collection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

LIST = "/api/collections/{coll}/records"


def list_path(coll: str, **params: str | int) -> str:
    """A records-list path with query parameters encoded."""
    return LIST.format(coll=coll) + "?" + urlencode(params)


@dataclass(frozen=True)
class Workload:
    """One benchmark workload."""

    name: str
    script: str
    request: str  # human-readable request for the report
    coll: str = "posts"
    path: str = ""  # fixed path (get.lua, readmix.lua)
    authed: bool = False
    writes: int = 0  # readmix.lua: percent of requests that PATCH a record of ``coll``

    def args(self, ids_dir: Path, token: str) -> dict[str, str]:
        """The key=value arguments for the Lua script."""
        args = {
            "coll": self.coll,
            "posts": str(ids_dir / "post_ids.txt"),
            "users": str(ids_dir / "user_ids.txt"),
        }
        if self.path:
            args["path"] = self.path
        if self.authed:
            args["token"] = token
        if self.writes:
            args["writes"] = str(self.writes)
        return args


WORKLOADS: list[Workload] = [
    Workload("create", "create.lua", "POST posts_new/records {title,body,views,published,author}", coll="posts_new"),
    Workload("view", "view.lua", "GET posts/records/:id (random seeded id)"),
    Workload("list", "get.lua", "GET posts/records?perPage=20", path=list_path("posts", perPage=20)),
    Workload(
        "list_skiptotal",
        "get.lua",
        "GET posts/records?perPage=20&skipTotal=1",
        path=list_path("posts", perPage=20, skipTotal=1),
    ),
    Workload(
        "filter_sort",
        "get.lua",
        "GET posts/records?filter=views>500 && published=true&sort=-views&perPage=20",
        path=list_path("posts", filter="views>500 && published=true", sort="-views", perPage=20),
    ),
    Workload(
        "list_authed",
        "get.lua",
        'GET posts_private/records?perPage=20 as a user (rule @request.auth.id != "")',
        coll="posts_private",
        path=list_path("posts_private", perPage=20),
        authed=True,
    ),
    Workload(
        "list_expand",
        "get.lua",
        "GET posts/records?perPage=20&skipTotal=1&expand=author",
        path=list_path("posts", perPage=20, skipTotal=1, expand="author"),
    ),
    # Read-mostly (95/5): the reads above while 5 % of requests update the collection they read,
    # so a cache must notice every write (baas's query cache, docs/cache.md).
    Workload(
        "filter_sort_mix",
        "readmix.lua",
        "95% filter_sort's GET, 5% PATCH posts/records/:id {views}",
        path=list_path("posts", filter="views>500 && published=true", sort="-views", perPage=20),
        writes=5,
    ),
    Workload(
        "list_mix",
        "readmix.lua",
        "95% list's GET (with total), 5% PATCH posts/records/:id {views}",
        path=list_path("posts", perPage=20),
        writes=5,
    ),
    Workload("update", "update.lua", "PATCH posts/records/:id {views} (random seeded id)"),
    Workload("mixed", "mixed.lua", "80% GET posts/records/:id, 20% PATCH {views}"),
    # Not wrk: bench/realtime.py (SSE subscribers, create-to-receive latency, messages lost).
    Workload(
        "realtime",
        "",
        "SSE: N subscribers on posts_rt/*, E creates 0.1 s apart; every message "
        "to every subscriber (req/s = messages delivered/s, p50/p99 = create-to-receive, "
        "errors = messages lost)",
        coll="posts_rt",
    ),
]

BY_NAME = {w.name: w for w in WORKLOADS}
