"""``GET /metrics`` (baas/metrics.py, docs/metrics.md): who may scrape, the text parses with
prometheus-client's own parser, and the counters match the requests sent, in one process and
added up across the workers of a real ``baas serve``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.harness import Api, app_for, samples
from tests.servers import Stream, free_port, running_server

SU = ("metrics-su@example.com", "metrics-password-1")


def requests_of(scrape: dict, method: str, route: str, status: int) -> float:
    key = ("baas_http_requests_total", (("method", method), ("route", route), ("status", str(status))))
    return scrape.get(key, 0.0)


WHO = [(None, 401), ("alice", 403), ("su", 200)]


@pytest.mark.parametrize(("who", "status"), WHO, ids=["guest", "user", "superuser"])
async def test_only_superusers_scrape_without_the_metrics_token(api: Api, who: str | None, status: int) -> None:
    r = await api.call("GET", "/metrics", who)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert any(name == "baas_http_requests_total" for name, _ in samples(r.text))


async def test_the_metrics_token(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAAS_METRICS_TOKEN", "scrape-secret-123")
    ok = await api.client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert ok.status_code == 200, ok.text
    for wrong in ("Bearer scrape-secret-12", "Bearer ", "scrape-secret-1234"):
        assert (await api.client.get("/metrics", headers={"Authorization": wrong})).status_code == 401


async def test_counters_match_the_requests_in_one_process(api: Api) -> None:
    before = samples((await api.call("GET", "/metrics", "su")).text)
    rid = (await api.call("POST", "/api/collections/posts/records", "su", json={"title": "m"})).json()["id"]
    for _ in range(7):
        assert (await api.call("GET", f"/api/collections/posts/records/{rid}", "su")).status_code == 200
    for _ in range(3):
        assert (await api.call("GET", "/api/collections/posts/records/nope12345678901", "su")).status_code == 404
    for _ in range(2):
        assert (await api.call("GET", "/api/settings", "su")).status_code == 200
    assert (await api.client.get("/no/such/route")).status_code == 404
    after = samples((await api.call("GET", "/metrics", "su")).text)
    record = "/api/collections/{collection_name}/records/{record_id}"
    for method, route, status, n in [
        ("POST", "/api/collections/{collection_name}/records", 200, 1),
        ("GET", record, 200, 7),
        ("GET", record, 404, 3),
        ("GET", "/api/settings", 200, 2),
        ("GET", "<unmatched>", 404, 1),
        ("GET", "/metrics", 200, 1),  # the first scrape, counted once it was answered
    ]:
        got = requests_of(after, method, route, status) - requests_of(before, method, route, status)
        assert got == n, (method, route, status, got)
    labels = (("method", "GET"), ("route", record))
    count = after[("baas_http_request_duration_seconds_count", labels)]
    assert count - before.get(("baas_http_request_duration_seconds_count", labels), 0) == 10
    assert after[("baas_http_request_duration_seconds_sum", labels)] > 0
    inf = ("baas_http_request_duration_seconds_bucket", tuple(sorted((*labels, ("le", "+Inf")))))
    assert after[inf] == count  # the buckets add up to the count
    buckets = sorted(
        (float(dict(lab)["le"]), v)
        for (name, lab), v in after.items()
        if name == "baas_http_request_duration_seconds_bucket"
        and dict(lab)["route"] == record
        and dict(lab)["method"] == "GET"
    )
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative, as Prometheus reads them


async def test_counters_add_up_across_the_workers_of_a_server(tmp_path: Path) -> None:
    env = {"BAAS_METRICS_TOKEN": "scrape-secret-123"}
    async with running_server(tmp_path, "--workers", "2", superuser=SU, env=env) as srv:
        scrape_headers = {"Authorization": "Bearer scrape-secret-123"}
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            before = samples((await http.get("/metrics", headers=scrape_headers)).text)
            # Many short connections: the kernel spreads them over both workers (SO_REUSEPORT).
            for _ in range(40):
                async with httpx.AsyncClient(base_url=srv.url, timeout=30) as one:
                    assert (await one.get("/api/collections/users/records")).status_code == 200
            for _ in range(5):
                async with httpx.AsyncClient(base_url=srv.url, timeout=30) as one:
                    assert (await one.get("/api/collections/users/records/nope12345678901")).status_code == 404
            async with Stream(srv.url):
                during = samples((await http.get("/metrics", headers=scrape_headers)).text)
            after = samples((await http.get("/metrics", headers=scrape_headers)).text)
            for _ in range(100):  # the stream's end is counted once its worker has seen the peer go
                now = samples((await http.get("/metrics", headers=scrape_headers)).text)
                if now[("baas_realtime_clients", ())] == 0:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the closed stream is still counted")
            # A worker hands its counts over within a second of its first unreported request: poll.
            # (Routes nothing else asked for: the start-up's health checks may still be on their way.)
            records = "/api/collections/{collection_name}/records"
            record = records + "/{record_id}"
            for _ in range(100):
                after = samples((await http.get("/metrics", headers=scrape_headers)).text)
                health = requests_of(after, "GET", records, 200) - requests_of(before, "GET", records, 200)
                missing = requests_of(after, "GET", record, 404) - requests_of(before, "GET", record, 404)
                if (health, missing) == (40, 5):
                    break
                assert health <= 40 and missing <= 5, (health, missing)  # never more than were sent
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"the counters never reached the requests sent: {health} of 40, {missing} of 5")
        assert during[("baas_realtime_clients", ())] == 1
        assert after[("baas_process_resident_memory_bytes", ())] > 10_000_000  # both workers', added up


JOBS = """
jobs:
  - name: prune
    schedule: "0 0 1 1 *"
    task: events.prune
  - name: ping
    schedule: "0 0 1 1 *"
    http: {{url: "http://127.0.0.1:{port}/nobody-listens", allowPrivate: true}}
    timeout: 5
"""


async def test_job_outcomes_and_the_database_queue(tmp_path: Path) -> None:
    project = tmp_path / "baas.yaml"
    project.write_text(JOBS.format(port=free_port()))
    async with app_for(tmp_path, str(project)) as run:
        for name in ("prune", "prune", "ping"):
            await run.engine.jobs.run_now(name, wait=True)
        scrape = samples((await run.client.get("/metrics", headers={"Authorization": run.su})).text)
        runs = {tuple(v for _, v in k[1]): n for k, n in scrape.items() if k[0] == "baas_job_runs_total"}
        assert runs == {("prune", "success"): 2, ("ping", "failed"): 1}, runs
        assert scrape[("baas_db_writes_waiting", ())] >= 0  # sampled: present, a count


async def test_health_is_cheap_for_everyone_and_a_readiness_view_for_superusers(api: Api) -> None:
    plain = {"code": 200, "message": "API is healthy.", "data": {}}
    for who in (None, "alice"):
        r = await api.call("GET", "/api/health", who)
        assert r.status_code == 200 and r.json() == plain
    stale = await api.client.get("/api/health", headers={"Authorization": "not-a-token"})
    assert stale.status_code == 200 and stale.json() == plain  # a probe with an old token is still answered
    r = await api.call("GET", "/api/health", "su")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["checks"] == {"database": "ok", "writer": "ok", "storage": "ok"}
    assert data["canBackup"] is True and data["realIP"]
    # Storage that cannot be reached: not ready, and the check says why.
    bad = {"enabled": True, "bucket": "b", "region": "r", "endpoint": f"http://127.0.0.1:{free_port()}"}
    r = await api.call("PATCH", "/api/settings", "su", json={"s3": {**bad, "accessKey": "a", "secret": "s"}})
    assert r.status_code == 200, r.text
    r = await api.call("GET", "/api/health", "su")
    assert r.status_code == 503 and r.json()["message"] == "API is not ready.", r.text
    checks = r.json()["data"]["checks"]
    assert checks["database"] == "ok" and checks["writer"] == "ok" and checks["storage"] != "ok"
    assert (await api.call("GET", "/api/health")).json() == plain  # guests still see it alive


async def test_event_stream_lag(api: Api) -> None:
    """Delivered events are observed in the lag histogram (one observation per batch, its oldest
    event's age); a durable consumer behind shows the age of its oldest unread event, 0 once it
    has read everything, and is gone from the scrape once dropped."""
    from datetime import UTC, datetime, timedelta

    from baas.events.consumer import consumer_lags, drop_consumer
    from baas.ids import format_dt

    def lag_buckets(scrape: dict) -> dict[str, float]:
        return {dict(k[1])["le"]: v for k, v in scrape.items() if k[0] == "baas_event_delivery_lag_seconds_bucket"}

    delivered = asyncio.Event()
    unlisten = api.engine.events.listen(lambda events: delivered.set())
    consumer = api.engine.events.consumer("metrics-test")
    await consumer.position()  # registered "now": the post below is its first unread event
    try:
        before = samples((await api.call("GET", "/metrics", "su")).text)
        r = await api.call("POST", "/api/collections/posts/records", "su", json={"title": "lag", "published": True})
        assert r.status_code == 200, r.text
        await asyncio.wait_for(delivered.wait(), 30)
        scrape = samples((await api.call("GET", "/metrics", "su")).text)
        count = ("baas_event_delivery_lag_seconds_count", ())
        assert scrape[count] >= before.get(count, 0) + 1
        assert ("baas_event_consumer_lag_seconds", (("consumer", "metrics-test"),)) in scrape

        # A batch whose oldest event was written 2 s ago lands above the 1 s bucket, within 2.5 s.
        old = lag_buckets(scrape)
        api.engine.metrics.event_delivered(format_dt(datetime.now(UTC) - timedelta(seconds=2)))
        new = lag_buckets(samples((await api.call("GET", "/metrics", "su")).text))
        assert new["1.0"] == old["1.0"] and new["2.5"] == old["2.5"] + 1

        unread = await api.engine.db.fetchval(
            'SELECT "created" FROM "_events" WHERE "id" > ? ORDER BY "id" LIMIT 1', [await consumer.position()]
        )
        written = datetime.fromisoformat(unread.replace("Z", "+00:00"))
        lags = await consumer_lags(api.engine.db, now=written + timedelta(seconds=5))
        assert lags["metrics-test"] == 5.0

        while await consumer.read():
            pass
        await consumer.commit()
        scrape = samples((await api.call("GET", "/metrics", "su")).text)
        assert scrape[("baas_event_consumer_lag_seconds", (("consumer", "metrics-test"),))] == 0.0
        assert await drop_consumer(api.engine.db, "metrics-test")
        scrape = samples((await api.call("GET", "/metrics", "su")).text)
        assert ("baas_event_consumer_lag_seconds", (("consumer", "metrics-test"),)) not in scrape
    finally:
        unlisten()
