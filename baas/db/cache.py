"""A query cache that is never stale (docs/cache.md).

Results of the statements that API reads run (a list page, its count, a view, an expand) are kept
per statement text and bound values. The values carry everything the requester's rules read
(``@request.auth.id`` and the like are bound, never pasted), so one key never serves two requesters
who could see different rows. Each entry also notes the data version (``_data_versions``, bumped by
triggers in every writing transaction, see `baas.schema.ddl`) of every collection the statement
reads: the list's own, and those its rules, filter, sort and expand reach through relations.

Every read checks those versions against the database before it answers from the cache, and the
versions are read *before* a missed statement runs: an entry is never older than the versions it
is stored under, so once a write is acknowledged (its versions committed) no read anywhere answers
what preceded it. No invalidation message is waited for; on SQLite the check is ``PRAGMA
data_version`` (microseconds), on PostgreSQL one small indexed query per request.

Bounded by an estimate of the bytes held (least recently used entries go first). Statements that
read a view collection or one with ``cache: false``, or that call something that changes on its
own (``RANDOM()``, the clock), are never cached.

    cache = QueryCache(db, resolve, max_bytes=64 << 20)
    reads = cache.reads()              # one per request: a `Reads` for `baas.records.query.Reader`
    rows = await reads.fetch(sql, params)
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from baas.db.base import Database, Params, Row

# A table a statement reads: (collection id, may be cached). None: not a collection (a column, an alias).
Resolve = Callable[[str], "tuple[str, bool] | None"]

_IDENT = re.compile(r'"((?:[^"]|"")+)"')
# What changes without any write: a statement calling one of these functions (or naming the
# clock) is never cached.
_VOLATILE = re.compile(
    r"\b(?:random|randomblob|now|unixepoch|clock_timestamp|statement_timestamp|transaction_timestamp|"
    r"timeofday|txid_\w+|pg_\w+|nextval|gen_random_\w+|uuid_generate_\w+)\s*\(|"
    r"\b(?:current_timestamp|current_date|current_time|localtimestamp)\b|'now'|'localtime'",
    re.IGNORECASE,
)
Versions = tuple[tuple[str, int], ...]  # (collection id, its data version) per collection read
_ENTRY_OVERHEAD = 400  # an entry, its key tuple and the ordered dict's slot, roughly
_MEMO_MAX = 4096  # statement texts whose tables are remembered
CHEAP_FOR = 1000  # reads of a statement found cheap that go to the database before it is timed again


class _Entry:
    __slots__ = ("versions", "value", "size")

    def __init__(self, versions: Versions, value: Any, size: int) -> None:
        self.versions, self.value, self.size = versions, value, size


class QueryCache:
    """The process's cached results, shared by its requests. ``resolve`` names the collection
    behind a quoted identifier; ``max_bytes`` 0 turns the cache off."""

    def __init__(
        self, db: Database, resolve: Resolve, *, max_bytes: int = 64 << 20, min_seconds: float = 50e-6
    ) -> None:
        self.db = db
        self.resolve = resolve
        self.max_bytes = max_bytes
        # A statement read in less than this (or than two version checks) goes to the database
        # directly: a record by id on SQLite costs about what checking the versions does.
        self.min_seconds = min_seconds
        self.check_seconds = 0.0  # a version check, on average (moving)
        self._cheap: dict[str, int] = {}  # statement -> reads left before it is timed again
        # The schema mark the process's registry was loaded at (`loaded`): while the database's is
        # another (a schema change on another node, not loaded here yet), names in statements may
        # mean other collections than the versions read, and nothing is served from the cache.
        self.mark = 0
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.bypassed = 0  # statements not cacheable (a view, cache off, volatile)
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._tables: dict[str, tuple[str, ...] | None] = {}
        # Misses being read now: after a write, the requests that arrive while the first of them
        # reads the database wait for its result instead of all reading the same rows at once.
        self._flights: dict[tuple[tuple[Any, ...], Versions], asyncio.Future[Any]] = {}

    @property
    def entries(self) -> int:
        return len(self._entries)

    def stats(self) -> tuple[int, int, int, int, int]:
        """(hits, misses, bypassed, bytes, entries) so far: what the metrics report."""
        return self.hits, self.misses, self.bypassed, self.bytes, len(self._entries)

    def reads(self) -> CachedReads:
        """A `Reads` for one request: the database's reads, answered from the cache where they may."""
        return CachedReads(self)

    def clear(self) -> None:
        """Forget every entry and what each statement reads (the schema changed)."""
        self._entries.clear()
        self._tables.clear()
        self._cheap.clear()
        self.bytes = 0

    def cheap(self, sql: str) -> bool:
        """Whether ``sql`` was found cheaper to read than to cache (for its next `CHEAP_FOR` reads)."""
        left = self._cheap.get(sql)
        if left is None:
            return False
        if left <= 1:
            del self._cheap[sql]  # timed again at its next miss: the data may have grown
        else:
            self._cheap[sql] = left - 1
        return True

    def timed(self, sql: str, seconds: float) -> None:
        """A miss of ``sql`` took ``seconds`` to read (``min_seconds`` 0: every read is kept)."""
        if self.min_seconds and seconds < max(self.min_seconds, 2 * self.check_seconds):
            if len(self._cheap) >= _MEMO_MAX:
                self._cheap.pop(next(iter(self._cheap)))
            self._cheap[sql] = CHEAP_FOR

    def checked(self, seconds: float) -> None:
        """A version check took ``seconds``."""
        self.check_seconds += (seconds - self.check_seconds) / 16

    def loaded(self, mark: int | None) -> None:
        """The registry was (re)loaded at schema ``mark``: start again from nothing."""
        self.clear()
        self.mark = mark or 0

    def tables(self, sql: str) -> tuple[str, ...] | None:
        """The ids of the collections ``sql`` reads, in a fixed order; None: not cacheable; ():
        reads no collection (a constant; nothing to keep)."""
        try:
            return self._tables[sql]
        except KeyError:
            pass
        found: set[str] = set()
        ok = self.max_bytes > 0 and not _VOLATILE.search(sql)
        for name in _IDENT.findall(sql) if ok else ():
            target = self.resolve(name.replace('""', '"'))
            if target is None:
                continue  # a column or an alias
            if not target[1]:
                ok = False
                break
            found.add(target[0])
        ids = tuple(sorted(found)) if ok else None
        if len(self._tables) >= _MEMO_MAX:
            self._tables.pop(next(iter(self._tables)))
        self._tables[sql] = ids
        return ids

    def _get(self, key: tuple[Any, ...], versions: Versions) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.versions != versions:
            if _at_least(versions, entry.versions):  # written since: it can never be served again
                self._drop(key, entry)
            return None
        self._entries.move_to_end(key)
        return entry

    def _put(self, key: tuple[Any, ...], versions: Versions, value: Any) -> None:
        size = _size(value) + _size(key[2]) + _ENTRY_OVERHEAD  # the SQL text is the memo's, shared
        if size > self.max_bytes // 8:  # one huge page would push out everything else
            return
        old = self._entries.get(key)
        if old is not None:
            if not _at_least(versions, old.versions):  # a slower request's older result: keep the newer
                return
            self._drop(key, old)
        # Interned: the entries of one statement (a page per requester, say) share its text.
        self._entries[(key[0], sys.intern(key[1]), key[2])] = _Entry(versions, value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and self._entries:
            _, first = self._entries.popitem(last=False)
            self.bytes -= first.size

    def _drop(self, key: tuple[Any, ...], entry: _Entry) -> None:
        del self._entries[key]
        self.bytes -= entry.size


class CachedReads:
    """The reads of one request through the cache. The versions it reads are kept for the
    request: read before the first statement that needs them, they are as good for its later
    statements (whose rows are read later still). So a list and its count check them once."""

    def __init__(self, cache: QueryCache) -> None:
        self.cache = cache
        self.db = cache.db
        self.dialect = cache.db.dialect
        self._versions: dict[str, int] = {}

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await self._read("fetch", sql, params, self.db.fetch)
        return list(rows)  # callers may trim their copy; the cached list stays whole

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._read("one", sql, params, self.db.fetchone)
        return row

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._read("val", sql, params, self.db.fetchval)

    async def _read(self, kind: str, sql: str, params: Params, run: Callable[[str, Params], Awaitable[Any]]) -> Any:
        cache = self.cache
        ids = cache.tables(sql)
        if ids == () or cache.cheap(sql):
            return await run(sql, params)
        bound = _frozen(params) if ids is not None else None
        versions = await self._versions_of(ids) if ids is not None and bound is not None else None
        if versions is None:
            cache.bypassed += 1
            return await run(sql, params)
        key = (kind, sql, bound)
        entry = cache._get(key, versions)
        if entry is not None:
            cache.hits += 1
            return entry.value
        flight = cache._flights.get((key, versions))
        if flight is not None:  # the same read is on its way to the database: wait for it
            cache.hits += 1
            try:
                return await asyncio.shield(flight)
            except asyncio.CancelledError:
                if flight.cancelled():  # its request was cancelled, not this one: read it here
                    return await run(sql, params)
                raise
        cache.misses += 1
        return await self._miss(key, versions, run, params)

    async def _miss(
        self, key: tuple[Any, ...], versions: Versions, run: Callable[[str, Params], Awaitable[Any]], params: Params
    ) -> Any:
        """Read from the database (the requests that miss the same entry meanwhile wait for this
        one), keep the result, and time it: a statement that reads faster than a cache check is
        not worth keeping."""
        cache, sql = self.cache, key[1]
        flight = asyncio.get_running_loop().create_future()
        cache._flights[(key, versions)] = flight
        started = time.perf_counter()
        try:
            value = await run(sql, params)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                flight.cancel()
            else:
                flight.set_exception(exc)
                flight.exception()  # retrieved: no warning when nobody waited
            raise
        finally:
            del cache._flights[(key, versions)]
        flight.set_result(value)
        cache._put(key, versions, value)
        cache.timed(sql, time.perf_counter() - started)
        return value

    async def _versions_of(self, ids: tuple[str, ...]) -> Versions | None:
        known = self._versions
        if any(i not in known for i in ids):
            started = time.perf_counter()
            read = await self.db.data_versions(ids)
            self.cache.checked(time.perf_counter() - started)
            if read is None or read.get("", 0) != self.cache.mark:
                return None
            for i in ids:
                known.setdefault(i, read.get(i, 0))
        return tuple((i, known[i]) for i in ids)


def _at_least(a: Versions, b: Versions) -> bool:
    """Versions ``a`` are those of ``b`` or later; True too for versions of other collections (the
    schema changed while a request ran): the entry under ``b`` is to be replaced."""
    if len(a) != len(b) or any(x[0] != y[0] for x, y in zip(a, b, strict=True)):
        return True
    return all(x[1] >= y[1] for x, y in zip(a, b, strict=True))


_PLAIN = (str, int, float, bool, bytes, type(None))


def _frozen(params: Params) -> tuple[Any, ...] | None:
    """The bound values as a hashable key, each with its type (1, 1.0 and True are equal keys
    but not equal values to SQL; a list is not a tuple); None if one cannot be."""
    out: list[Any] = []
    for v in params:
        if isinstance(v, (list, tuple)):
            inner = _frozen(v)
            if inner is None:
                return None
            out.append((type(v), inner))
        elif isinstance(v, _PLAIN):
            out.append((type(v), v))
        else:
            return None
    return tuple(out)


def _size(value: Any) -> int:
    """Roughly the bytes a cached result holds in CPython: each object's header included
    (a str 49 + its length, an int 28, a float 24, a tuple 40 + 8 per item, a list 56 + 8 per item)."""
    if isinstance(value, str):
        return 49 + len(value)
    if isinstance(value, bytes):
        return 33 + len(value)
    if isinstance(value, tuple):
        return 40 + sum(8 + _size(v) for v in value)
    if isinstance(value, list):
        return 56 + sum(8 + _size(v) for v in value)
    if value is None or isinstance(value, bool):
        return 0  # shared singletons
    return 28
