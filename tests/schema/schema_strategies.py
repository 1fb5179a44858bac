"""Hypothesis strategies for whole ``baas.yaml`` schemas: base, auth and view collections with
fields of every type and their options, indexes, rules and relations between them."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

TABLES = ["c0", "c1", "c2"]
RULES = [None, "", "id != ''"]
SCALAR = ("text", "number", "bool", "email", "url", "date", "editor")  # one column, indexable


def _bounds(lo: int, hi: int) -> st.SearchStrategy[tuple[Any, Any]]:
    num = st.one_of(st.none(), st.integers(lo, hi), st.sampled_from([0, 0.5, -2.25]))
    return st.tuples(num, num).map(lambda t: t if None in t or t[0] <= t[1] else (t[1], t[0]))


def field(kind: str, name: str, targets: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """One field of type ``kind`` with a random choice of its options."""
    common = {
        "name": st.just(name),
        "type": st.just(kind),
        "required": st.booleans(),
        "presentable": st.booleans(),
        "hidden": st.booleans(),
    }
    options: dict[str, st.SearchStrategy[Any]] = {
        "text": {
            "min": st.sampled_from([0, 1]),
            "max": st.sampled_from([0, 50]),
            "pattern": st.sampled_from(["", "^[a-z0-9]*$"]),
            "autogeneratePattern": st.sampled_from(["", "[a-z]{5}", "x-\\d{2,4}"]),
        },
        "number": {"onlyInt": st.booleans()},
        "bool": {},
        "email": {
            "onlyDomains": st.sampled_from([None, [], ["example.com"]]),
            "exceptDomains": st.sampled_from([None, ["spam.example"]]),
        },
        "url": {"onlyDomains": st.sampled_from([None, ["example.com"]])},
        "editor": {"maxSize": st.sampled_from([0, 1000]), "convertURLs": st.booleans()},
        "date": {"min": st.sampled_from(["", "2020-01-01 00:00:00.000Z"]), "max": st.just("")},
        "autodate": {"onCreate": st.booleans(), "onUpdate": st.booleans()},
        "select": {"values": st.just(["a", "b", "c"]), "maxSelect": st.integers(1, 3)},
        "json": {"maxSize": st.sampled_from([0, 1000])},
        "relation": {
            "collection": st.sampled_from(targets),
            "maxSelect": st.integers(1, 3),
            "cascadeDelete": st.booleans(),
        },
        "file": {
            "maxSelect": st.integers(1, 2),
            "maxSize": st.sampled_from([0, 1000]),
            "mimeTypes": st.sampled_from([None, ["image/png"]]),
            "protected": st.booleans(),
        },
    }[kind]
    needed = {"select": ("values",), "relation": ("collection",)}.get(kind, ())
    common.update({k: options.pop(k) for k in needed})
    base = st.fixed_dictionaries(common, optional=options)
    if kind == "number":
        return st.tuples(base, _bounds(-10, 10)).map(
            lambda t: {
                **t[0],
                **({} if t[1][0] is None else {"min": t[1][0]}),
                **({} if t[1][1] is None else {"max": t[1][1]}),
            }
        )
    return base


@st.composite
def collection(draw: Any, name: str, targets: list[str]) -> dict[str, Any]:
    ctype = draw(st.sampled_from(["base", "base", "auth"]))
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "text",
                    "number",
                    "bool",
                    "email",
                    "url",
                    "editor",
                    "date",
                    "autodate",
                    "select",
                    "json",
                    "relation",
                    "file",
                ]
            ),
            max_size=5,
        )
    )
    fields = [draw(field(k, f"f{i}", targets)) for i, k in enumerate(kinds)]
    out: dict[str, Any] = {"name": name, "type": ctype, "fields": fields}
    for rule in ("listRule", "viewRule", "createRule", "updateRule", "deleteRule"):
        value = draw(st.sampled_from(RULES))
        if value is not None:
            out[rule] = value
    if ctype == "auth":
        out["manageRule"] = draw(st.sampled_from([None, "id != ''"]))
        if draw(st.booleans()):
            out["authToken"] = {"duration": draw(st.sampled_from([60, 3600]))}
    indexable = [f["name"] for f in fields if f["type"] in SCALAR]
    indexes = []
    for cols in (
        draw(
            st.lists(
                st.lists(st.sampled_from(indexable), min_size=1, max_size=2, unique=True),
                max_size=2,
                unique_by=lambda c: tuple(sorted(c)),
            )
        )
        if indexable
        else []
    ):
        idx: dict[str, Any] = {"columns": cols, "unique": draw(st.booleans())}
        texty = [c for c in cols if next(f for f in fields if f["name"] == c)["type"] in ("text", "email")]
        if texty and draw(st.booleans()):
            idx["nocase"] = texty[:1]
        indexes.append(idx)
    if indexes:
        out["indexes"] = indexes
    return out


@st.composite
def schemas(draw: Any) -> str:
    """A schema file's text: 1-3 tables (relations among them), up to two views (one may read the other)."""
    names = TABLES[: draw(st.integers(1, 3))]
    colls = [draw(collection(n, names)) for n in names]
    views = []
    if draw(st.booleans()):
        src = colls[0]
        cols = [f["name"] for f in src["fields"] if f["type"] != "autodate"][:2]
        views.append(
            {
                "name": "v0",
                "type": "view",
                "listRule": draw(st.sampled_from(RULES)),
                "viewQuery": f"SELECT {', '.join(['id', *cols])} FROM {src['name']}",
            }
        )
        if draw(st.booleans()):  # declared first: the planner orders views by what they read
            views.insert(0, {"name": "v1", "type": "view", "viewQuery": "SELECT id FROM v0"})
    order = draw(st.permutations(colls + views))
    return yaml.safe_dump({"collections": list(order)}, sort_keys=False)
