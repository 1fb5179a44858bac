"""The dashboard's figures (``GET /api/logs/summary``, baas/logs/summary.py): per-step counts,
client and server errors, success rate, p50/p99 and the top errors, from entries with known times
and latencies; live requests counted; bad windows refused with 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baas.ids import format_dt
from baas.logs import store
from tests.harness import Api


def _entry(
    ms: int, status: int, us: int, url: str = "/api/x", error: str | None = None, method: str = "GET"
) -> store.Entry:
    return (ms, method, url, status, us, None, None, "t", "", "127.0.0.1", "127.0.0.1", error)


def near(got: float | None, want: float) -> bool:
    """A percentile from the log-scale histogram: within 4.5 % of the exact one."""
    return got is not None and abs(got - want) <= 0.045 * want


async def _summary(api: Api, **params: Any) -> dict[str, Any]:
    r = await api.call("GET", "/api/logs/summary", "su", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_steps_errors_and_percentiles(api: Api) -> None:
    # Two days ago, on a whole minute: three minutes, the middle one empty.
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(second=0, microsecond=0)
    ms = int(t0.timestamp() * 1000)
    first = [_entry(ms + i, 200, (i + 1) * 1000) for i in range(100)]  # 1 … 100 ms
    first[0] = _entry(ms, 404, 1000, error="The requested resource wasn't found.")
    first[1] = _entry(ms + 1, 500, 2000, error="unhandled RuntimeError")
    third = [_entry(ms + 120_000 + i, 200, 5000) for i in range(4)]
    third.append(_entry(ms + 120_500, 200, 900_000_000, url="/api/realtime"))  # a stream: not a latency
    third.append(_entry(ms + 120_600, 204, 5000, url="/api/realtime", method="POST"))  # a subscription call is
    outside = [_entry(ms - 1, 500, 1000), _entry(ms + 180_000, 500, 1000)]
    await api.engine.request_log.db.write(lambda conn: store.insert(conn, first + third + outside))

    out = await _summary(api, **{"from": format_dt(t0), "to": format_dt(t0 + timedelta(minutes=3)), "step": "60"})
    assert out["from"] == format_dt(t0) and out["step"] == 60
    assert [s["date"] for s in out["series"]] == [format_dt(t0 + timedelta(minutes=i)) for i in range(3)]
    a, b, c = out["series"]
    assert (a["requests"], a["clientErrors"], a["serverErrors"]) == (100, 1, 1)
    assert a["successRate"] == 0.99 and near(a["p50"], 50.0) and near(a["p99"], 99.0)
    assert b == {
        "date": b["date"],
        "requests": 0,
        "clientErrors": 0,
        "serverErrors": 0,
        "successRate": None,
        "p50": None,
        "p99": None,
    }
    assert c["requests"] == 6 and near(c["p50"], 5.0) and near(c["p99"], 5.0) and c["successRate"] == 1.0
    total = out["total"]
    assert total["requests"] == 106 and total["serverErrors"] == 1 and total["clientErrors"] == 1
    assert near(total["p50"], 48.0) and near(total["p99"], 99.0)  # 1 … 100 ms and five of 5 ms
    assert sorted(out["topErrors"], key=lambda e: e["status"]) == [
        {"status": 404, "error": "The requested resource wasn't found.", "count": 1},
        {"status": 500, "error": "unhandled RuntimeError", "count": 1},
    ]
    assert out["enabled"] is True and out["sampling"] == 1.0 and out["minLevel"] == 0 and out["dropped"] == 0
    assert out["uptime"] >= 0 and out["startedAt"] <= format_dt(datetime.now(UTC))


async def test_live_requests_are_counted(api: Api) -> None:
    # A fixed window reaching past now: an entry made in the very millisecond of a call is in both sums.
    now = datetime.now(UTC)
    window = {"from": format_dt(now - timedelta(minutes=30)), "to": format_dt(now + timedelta(minutes=30))}
    before = (await _summary(api, **window))["total"]["requests"]
    for _ in range(3):
        assert (await api.call("GET", "/api/collections/posts/records", "alice")).status_code == 200
    assert (await api.call("GET", "/api/collections/nope/records", "alice")).status_code == 404
    out = await _summary(api, **window)
    # the three lists, the 404 and the first summary call itself
    assert out["total"]["requests"] == before + 5
    assert out["total"]["clientErrors"] >= 1 and len(out["series"]) == 60 and out["step"] == 60
    assert sum(s["requests"] for s in out["series"]) == out["total"]["requests"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "yesterday"}, "Invalid from value"),
        ({"to": "2026-13-45"}, "Invalid to value"),
        ({"from": "2026-12-01 10:00:00Z", "to": "2026-12-01 09:00:00Z"}, "before to"),
        ({"from": "2026-01-01", "to": "2026-03-01"}, "31 days"),
        ({"step": "0"}, "Invalid step value"),
        ({"step": "9"}, "Invalid step value"),
        ({"step": "1m"}, "Invalid step value"),
        ({"step": "-60"}, "Invalid step value"),
        ({"from": "2026-11-01", "to": "2026-11-30", "step": "60"}, "more than 1440 steps"),
        ({"from": "1969-12-31 23:00:00Z", "to": "1970-01-01 00:30:00Z"}, "since 1970"),
        ({"step": "9" * 5000}, "Invalid step value"),
    ],
)
async def test_bad_windows_are_refused(api: Api, params: dict[str, str], message: str) -> None:
    r = await api.call("GET", "/api/logs/summary", "su", params=params)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"status", "message", "data"} and message in r.json()["message"]


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403)])
async def test_only_superusers_read_the_summary(api: Api, who: str | None, status: int) -> None:
    assert (await api.call("GET", "/api/logs/summary", who)).status_code == status
