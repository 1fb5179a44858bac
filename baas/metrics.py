"""Prometheus metrics of a server (``GET /metrics``, docs/metrics.md), with ``prometheus-client``.

Each server process counts what it answered. Under ``baas serve`` the master points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the workers start; each worker then keeps its
values in memory-mapped files there, and a scrape answered by any worker adds up every worker's
(prometheus-client's multiprocess mode). Without that variable (an engine in a test, an embedding
app) the values are this engine's own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from bisect import bisect_left
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from baas.ids import parse_dt

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: from a cached view (~100 µs) to a slow list or an upload (seconds).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def multiprocess_dir() -> str:
    return os.environ.get(MULTIPROC_ENV, "")


def fresh_metrics_dir(data_dir: str) -> str:
    """``<data dir>/.metrics/<this master's pid>``, emptied: a server counts from zero when it starts
    (Prometheus reads a restart from the counters going down), and two servers on one data dir
    keep apart."""
    root = Path(data_dir).resolve() / ".metrics"
    for old in root.iterdir() if root.is_dir() else []:
        if old.name == str(os.getpid()) or not _alive(old.name):  # a server that has stopped
            shutil.rmtree(old, ignore_errors=True)
    folder = root / str(os.getpid())
    folder.mkdir(parents=True)
    return str(folder)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Metrics:
    """The metrics one engine records; `exposition` is the text a scrape gets."""

    def __init__(self) -> None:
        if multiprocess_dir():
            # prometheus-client picks its value store when it is imported; `baas serve` sets the
            # folder after that (in the master, before forking): choose again, before any metric exists.
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter(
            "baas_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "baas_http_request_duration_seconds",
            "Time to answer an HTTP request (realtime streams left out), by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.realtime_clients = Gauge(
            "baas_realtime_clients", "Open realtime (SSE) streams.", registry=r, multiprocess_mode="livesum"
        )
        self.log_dropped = Counter(
            "baas_request_log_dropped",
            "Request log entries dropped: the queue was full or the database refused the batch.",
            registry=r,
        )
        self.job_runs = Counter(
            "baas_job_runs",
            "Finished runs of scheduled jobs, by job and outcome (success, failed, timeout, abandoned).",
            ["job", "status"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "baas_webhook_attempts",
            "Webhook delivery attempts, by outcome: delivered, retry (failed, tried again later) or dead.",
            ["outcome"],
            registry=r,
        )
        self.push_attempts = Counter(
            "baas_push_attempts",
            "Push delivery attempts, by outcome: delivered, retry, expired (the device is gone) or failed.",
            ["outcome"],
            registry=r,
        )
        self.cache_reads = Counter(
            "baas_query_cache_reads",
            "Reads that could go through the query cache, by result: hit (answered from memory), miss "
            "(read from the database, then kept) or bypass (a statement that is never cached: it reads a "
            "view or a collection with cache: false).",
            ["result"],
            registry=r,
        )
        self.cache_bytes = Gauge(
            "baas_query_cache_bytes",
            "Estimated memory held by the query cache (all processes).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache_entries = Gauge(
            "baas_query_cache_entries", "Results held by the query cache.", registry=r, multiprocess_mode="livesum"
        )
        self.db_waiting = Gauge(
            "baas_db_writes_waiting",
            "Writes queued for the database (SQLite: for the process's writer; PostgreSQL: connections "
            "of the pool in use), sampled once a second.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.event_lag = Histogram(
            "baas_event_delivery_lag_seconds",
            "Time from an event's write to its delivery to this process's listeners (realtime, hooks): "
            "one observation per delivered batch, for its oldest event.",
            buckets=BUCKETS,
            registry=r,
        )
        # Computed at each scrape from the database, so exported by a collector of its own rather
        # than a gauge: a consumer dropped since is gone from the next scrape.
        self.consumer_lags: dict[str, float] = {}
        self.memory = Gauge(
            "baas_process_resident_memory_bytes",
            "Resident memory of each server process (sampled when its request counts are flushed).",
            registry=r,
            multiprocess_mode="liveall",
        )
        # Requests are tallied in plain lists and handed to prometheus-client at most once a second
        # (and before every scrape): its per-request path (label lookup, locks, a bucket loop in
        # Python) measured ~5 % of the view benchmark's req/s; a tally costs a fraction of that.
        self._tally: dict[tuple[str, str, int], list[float]] = {}
        self._flush_at: asyncio.TimerHandle | None = None
        self.db_load: Callable[[], int] | None = None  # set by the engine: its database's queue
        # set by the engine: its query cache's (hits, misses, bypassed, bytes, entries)
        self.cache_stats: Callable[[], tuple[int, int, int, int, int]] | None = None
        self._cache_counted = (0, 0, 0)

    def observe(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """One answered request (``seconds`` None: not timed, e.g. a realtime stream)."""
        key = (method, route, status)
        t = self._tally.get(key)
        if t is None:
            t = self._tally[key] = [0.0] * (3 + len(BUCKETS) + 1)  # count, timed, sum, buckets, +Inf
        t[0] += 1
        if seconds is not None:
            t[1] += 1
            t[2] += seconds
            t[3 + bisect_left(BUCKETS, seconds)] += 1
        if self._flush_at is None:  # the first request since the last flush: flush within a second
            self._flush_at = asyncio.get_running_loop().call_later(1.0, self.flush)

    def flush(self) -> None:
        """Hand the tallies to prometheus-client (into this worker's files under ``baas serve``)."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        tally, self._tally = self._tally, {}
        for (method, route, status), t in tally.items():
            self.requests.labels(method, route, str(status)).inc(t[0])
            if t[1]:
                child = self.duration.labels(method, route)
                # prometheus-client observes one value at a time; its bucket counters and sum are
                # the documented Histogram's own (tests/metrics checks count, sum and buckets agree).
                child._sum.inc(t[2])
                for i, n in enumerate(t[3:]):
                    if n:
                        child._buckets[i].inc(n)
        self.memory.set(_resident_bytes())
        if self.db_load is not None:
            self.db_waiting.set(self.db_load())
        if self.cache_stats is not None:
            *counts, held, entries = self.cache_stats()
            for result, now, before in zip(("hit", "miss", "bypass"), counts, self._cache_counted, strict=True):
                if now > before:
                    self.cache_reads.labels(result).inc(now - before)
            self._cache_counted = (counts[0], counts[1], counts[2])
            self.cache_bytes.set(held)
            self.cache_entries.set(entries)

    def event_delivered(self, created: str) -> None:
        """A batch of events goes to the listeners; ``created`` is its oldest event's write time
        (the writing node's clock)."""
        written = parse_dt(created)
        if written is None:
            return
        self.event_lag.observe(max(0.0, (datetime.now(UTC) - written).total_seconds()))

    def exposition(self) -> bytes:
        """The Prometheus text format of every process's metrics (or this one's), with the
        consumer lags as sampled just before (`consumer_lags`)."""
        self.flush()
        out = CollectorRegistry(auto_describe=False)
        if multiprocess_dir():
            multiprocess.MultiProcessCollector(out)  # type: ignore[no-untyped-call]  # untyped upstream
        else:
            out.register(_Registered(self.registry))
        out.register(_ConsumerLags(self.consumer_lags))
        return generate_latest(out)


class _Registered(Collector):
    """One process's registry as a collector of another."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class _ConsumerLags(Collector):
    def __init__(self, lags: dict[str, float]) -> None:
        self.lags = dict(lags)

    def collect(self) -> Iterable[Metric]:
        g = GaugeMetricFamily(
            "baas_event_consumer_lag_seconds",
            "Age of the oldest event each durable consumer (webhooks, baas events tail) has not read; "
            "0 when it is caught up. Read from the database at each scrape.",
            labels=["consumer"],
        )
        for name, seconds in sorted(self.lags.items()):
            g.add_metric([name], seconds)
        yield g


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):  # not Linux
        return 0
