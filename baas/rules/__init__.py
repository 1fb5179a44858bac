"""The filter and rule language (PocketBase's grammar), compiled to SQL with bound parameters.

Knows nothing of HTTP: the request is plain data in `RequestInfo`.

    >>> sql = compile_filter('title ~ "hello" && author.name = "Ann"', collection=posts,
    ...                      lookup=registry.get, request=RequestInfo(), dialect="sqlite", alias="m")
    >>> rows = await db.fetch(f'SELECT "id" FROM "posts" AS "m" WHERE {sql.sql}', sql.params)
"""

from __future__ import annotations

from collections.abc import Callable

from baas.rules import ast
from baas.rules.compile import Compiler, SortKey, order_by
from baas.rules.context import RequestInfo
from baas.rules.errors import RuleError, RuleForbidden
from baas.rules.parser import parse
from baas.rules.sql import SQL
from baas.schema.model import Collection

__all__ = [
    "SQL",
    "RuleError",
    "RuleForbidden",
    "RequestInfo",
    "SortKey",
    "ast",
    "parse",
    "compile_filter",
    "compile_sort",
    "order_by",
    "sort_keys",
]


def compile_filter(
    expr: str,
    *,
    collection: Collection,
    lookup: Callable[[str], Collection | None],
    request: RequestInfo,
    dialect: str,
    alias: str,
    client: bool = False,
    stored: bool = True,
) -> SQL:
    """A boolean SQL expression over ``"<alias>"`` (the collection's table) with ``?`` params.

    ``client`` marks a filter sent by the requester rather than a collection rule written by an
    admin: for non-superusers it may not use ``@collection``, ``@request`` or hidden fields, and
    sees auth emails only where ``emailVisibility`` allows (as PocketBase). ``stored``: False
    when ``alias`` holds record versions that may not be the table's (events)."""
    return Compiler(collection, lookup, request, dialect, alias, client, stored=stored).filter(expr)


def compile_sort(
    sort: str,
    *,
    collection: Collection,
    lookup: Callable[[str], Collection | None],
    request: RequestInfo,
    dialect: str,
    alias: str,
    client: bool = True,
) -> SQL:
    """An ORDER BY list (without the keyword) for ``-views,+title,@random,@rowid,author.name``."""
    return Compiler(collection, lookup, request, dialect, alias, client).sort(sort)


def sort_keys(
    sort: str,
    *,
    collection: Collection,
    lookup: Callable[[str], Collection | None],
    request: RequestInfo,
    dialect: str,
    alias: str,
    client: bool = True,
) -> list[SortKey]:
    """The keys of `compile_sort`'s ORDER BY one by one (cursor paging compares rows with them)."""
    return Compiler(collection, lookup, request, dialect, alias, client).sort_keys(sort)
