"""Webhook delivery through the real app on a real HTTP receiver (in-process server, receiver in a
thread): payload and signatures (checked by PyPI ``standardwebhooks``), filters, rotation, retries
after 500 and 429, dead letters, auto-disable, the private-target refusal, same-origin redirects
only, and one deadline per attempt. Waits poll for a condition; nothing asserts a duration."""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from typing import Any

import pytest

from baas.app import create_app
from baas.core import Engine
from baas.settings import Settings
from tests.harness import SU_EMAIL, SU_PASS, app_for, fresh_db_url, in_process, samples, sign_in, upsert_superuser
from tests.webhooks.common import OLD_SECRET, OTHER_SECRET, SECRET, deliveries, hook, project
from tests.webhooks.receiver import Received, Receiver, await_until


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAAS_WEBHOOKS_BACKOFF", "0.05")
    monkeypatch.setenv("BAAS_WEBHOOKS_BACKOFF_MAX", "0.2")


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")


async def create(app: Any, **values: Any) -> dict[str, Any]:
    r = await app.client.post("/api/collections/orders/records", json=values, headers={"Authorization": app.su})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_payload_signature_filter_and_old_record(tmp_path, allow_loopback):
    with Receiver([SECRET]) as rx, Receiver([SECRET]) as big:
        path = project(
            tmp_path,
            hook("all", rx.url + "/hook?x=1", headers="{X-Tenant: acme}")
            + hook("big", big.url, events="[orders.create]", filter="'total > 100'"),
        )
        async with app_for(tmp_path, path) as app:
            h = {"Authorization": app.su}
            small = await create(app, title="small", total=5, note="hidden!")
            large = await create(app, title="large", total=500, note="hidden!")
            r = await app.client.patch(f"/api/collections/orders/records/{small['id']}", json={"total": 6}, headers=h)
            assert r.status_code == 200, r.text
            r = await app.client.delete(f"/api/collections/orders/records/{small['id']}", headers=h)
            assert r.status_code == 204, r.text
            got = await await_until(lambda: len(rx.snapshot()) >= 4 and rx.snapshot(), "4 deliveries")
            assert all(g.verified == [True] for g in got), [g.headers for g in got]
            assert {g.path for g in got} == {"/hook?x=1"} and {g.headers["x-tenant"] for g in got} == {"acme"}
            assert [g.payload["type"] for g in got if g.payload["record"]["id"] == small["id"]] == [
                "orders.create",
                "orders.update",
                "orders.delete",
            ]
            by_type = {g.payload["type"]: g.payload for g in got if g.payload["record"]["id"] == small["id"]}
            upd = by_type["orders.update"]
            assert set(upd) == {"id", "type", "timestamp", "collection", "record", "oldRecord"}
            assert upd["collection"] == "orders" and upd["record"]["total"] == 6 and upd["oldRecord"]["total"] == 5
            assert by_type["orders.create"]["oldRecord"] is None and by_type["orders.delete"]["record"]["total"] == 6
            assert all("note" not in g.payload["record"] for g in got)  # hidden fields left out
            # The filtered webhook got only the large order's create.
            only = await await_until(lambda: big.snapshot(), "the filtered delivery")
            assert [g.payload["record"]["id"] for g in only] == [large["id"]] and only[0].verified == [True]
            log = await await_until(lambda: _at_least(app, "all", "delivered", 4), "4 recorded deliveries")
            assert all(d["log"][0]["status"] == 204 and d["id"].startswith("msg_") for d in log)
            assert {d["id"] for d in log} == {g.msg_id for g in got}


async def test_rotation_signs_with_the_old_and_the_new_secret(tmp_path, allow_loopback):
    with Receiver([SECRET, OLD_SECRET, OTHER_SECRET]) as rx, Receiver([SECRET, OLD_SECRET]) as after:
        path = project(
            tmp_path,
            hook("rotating", rx.url, previousSecret=OLD_SECRET, previousSecretUntil="'2999-01-01 00:00:00Z'")
            + hook("rotated", after.url, previousSecret=OLD_SECRET, previousSecretUntil="'2001-01-01 00:00:00Z'"),
        )
        async with app_for(tmp_path, path) as app:
            await create(app, title="r")
            got = await await_until(lambda: rx.snapshot(), "a delivery")
            assert got[0].verified == [True, True, False]  # each secret alone verifies; a third does not
            assert len(got[0].headers["webhook-signature"].split(" ")) == 2
            done = await await_until(lambda: after.snapshot(), "a delivery after the overlap")
            assert done[0].verified == [True, False]  # past previousSecretUntil: the new secret only


async def test_a_failing_receiver_gets_everything_after_backoff(tmp_path, allow_loopback, fast_retries):
    def answer(n: int, _: Received) -> tuple[int, dict[str, str], bytes]:
        return (500, {}, b"down for maintenance") if n < 12 else (200, {}, b"ok")

    with Receiver([SECRET], answer=answer) as rx:
        async with app_for(tmp_path, project(tmp_path, hook("flaky", rx.url, disableAfter=1000))) as app:
            ids = [(await create(app, title=f"t{i}", n=i))["id"] for i in range(8)]

            def ok_ids() -> set[str]:
                return {g.payload["record"]["id"] for g in rx.snapshot() if g.n >= 12}

            await await_until(lambda: ok_ids() >= set(ids), "every record delivered after the failures")
            per_event: dict[str, set[str]] = defaultdict(set)
            for g in rx.snapshot():
                per_event[g.payload["id"]].add(g.msg_id)
                assert g.verified == [True]
            assert all(len(v) == 1 for v in per_event.values()), per_event  # a retry keeps its webhook-id
            log = await await_until(lambda: _at_least(app, "flaky", "delivered", 8), "8 recorded deliveries")
            failed = [a for d in log for a in d["log"] if a["status"] == 500]
            assert failed and all(a["response"] == "down for maintenance" for a in failed)
            assert sum(len(d["log"]) for d in log) == len(rx.snapshot())
            # /metrics counts the attempts by outcome, as the delivery log has them.
            scrape = samples((await app.client.get("/metrics", headers={"Authorization": app.su})).text)
            outcomes = {dict(k[1])["outcome"]: v for k, v in scrape.items() if k[0] == "baas_webhook_attempts_total"}
            assert outcomes.get("delivered") == 8 and outcomes.get("retry") == len(failed), outcomes


async def test_retry_after_is_honoured(tmp_path, allow_loopback, fast_retries):
    def answer(n: int, _: Received) -> tuple[int, dict[str, str], bytes]:
        return (429, {"Retry-After": "2"}, b"slow down") if n == 0 else (204, {}, b"")

    with Receiver([SECRET], answer=answer) as rx:
        async with app_for(tmp_path, project(tmp_path, hook("limited", rx.url))) as app:
            await create(app, title="x")
            got = await await_until(lambda: len(rx.snapshot()) >= 2 and rx.snapshot(), "the retry")
            # The backoff alone would retry after at most 0.2 s; the retry came no sooner than asked.
            assert got[1].at - got[0].at >= 1.9
            assert got[0].msg_id == got[1].msg_id
            log = await await_until(lambda: _states(app, "limited", "delivered"), "the delivery recorded")
            assert [a["status"] for a in log[0]["log"]] == [429, 204]


async def test_dead_letter_after_the_window_and_auto_disable(tmp_path, allow_loopback, fast_retries):
    def answer(n: int, r: Received) -> tuple[int, dict[str, str], bytes]:
        return (204, {}, b"") if r.path == "/w" else (503, {}, b"no")

    with Receiver([SECRET], answer=answer) as rx:
        path = project(
            tmp_path,
            # A window of a few seconds: room for the first attempt on a loaded machine, and with
            # backoff at 0.05-0.2 s for several retries before it closes.
            hook("windowed", rx.url, retryWindow="4s", events="[orders.create]")
            + hook("fragile", rx.url + "/f", disableAfter=3, events="[orders.update]")
            + hook("witness", rx.url + "/w", events="[orders.update]"),
        )
        async with app_for(tmp_path, path) as app:
            rec = await create(app, title="x")
            dead = await await_until(
                lambda: _states(app, "windowed", "dead"), "the delivery dead-lettered after its window"
            )
            assert "retry window over" in dead[0]["lastError"] and dead[0]["attempts"] >= 2
            for i in range(4):
                r = await app.client.patch(
                    f"/api/collections/orders/records/{rec['id']}", json={"n": i}, headers={"Authorization": app.su}
                )
                assert r.status_code == 200

            async def disabled() -> dict[str, Any] | None:
                r = await app.client.get("/api/webhooks/fragile", headers={"Authorization": app.su})
                return r.json() if not r.json()["enabled"] else None

            view = await await_until(disabled, "the webhook disabled")
            assert "disabled after 3 consecutive failed attempts" in view["disabledReason"]
            sent = len([g for g in rx.snapshot() if g.path == "/f"])
            assert sent == 3
            # Nothing is sent once disabled: another update goes through the worker (the witness
            # receives it, after the fragile delivery still queued), and /f gets nothing more.
            r = await app.client.patch(
                f"/api/collections/orders/records/{rec['id']}", json={"n": 99}, headers={"Authorization": app.su}
            )
            assert r.status_code == 200
            await await_until(
                lambda: any(g.path == "/w" and g.payload["record"]["n"] == 99 for g in rx.snapshot()), "the witness"
            )
            assert len([g for g in rx.snapshot() if g.path == "/f"]) == sent
            assert await _states(app, "fragile", "pending")  # the fourth update waits, unsent
            r = await app.client.patch(
                "/api/webhooks/fragile", json={"enabled": True}, headers={"Authorization": app.su}
            )
            assert r.status_code == 200 and r.json()["enabled"] and r.json()["failures"] == 0
            await await_until(lambda: len([g for g in rx.snapshot() if g.path == "/f"]) > sent, "sending again")


async def _states(app: Any, name: str, state: str) -> list[dict[str, Any]]:
    return await deliveries(app.client, app.su, name, state)


async def _at_least(app: Any, name: str, state: str, n: int) -> list[dict[str, Any]] | None:
    found = await _states(app, name, state)
    return found if len(found) >= n else None


async def test_loopback_targets_are_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.delenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    with Receiver([SECRET]) as rx:
        path = project(
            tmp_path,
            hook("refused", rx.url + "/no", events="[orders.create]")
            + hook("allowed", rx.url + "/yes", events="[orders.create]", allowPrivate="true"),
        )
        async with app_for(tmp_path, path) as app:
            await create(app, title="x")
            dead = await await_until(lambda: _states(app, "refused", "dead"), "the refused delivery")
            assert "127.0.0.1" in dead[0]["lastError"] and "loopback" in dead[0]["lastError"]
            await await_until(lambda: _states(app, "allowed", "delivered"), "the allowed delivery")
            assert [g.path for g in rx.snapshot()] == ["/yes"]


async def test_redirects_stay_on_their_origin(tmp_path, allow_loopback):
    # Two real receivers: "outer" redirects /away to "inner" (another origin) and /same to its own
    # /ok. The declared header and the signature must never reach inner; the same-origin hop is followed.
    with Receiver([SECRET], host="127.0.0.2") as inner:

        def redirect(n: int, r: Received) -> tuple[int, dict[str, str], bytes]:
            if r.path == "/away":
                return 307, {"Location": inner.url + "/inner"}, b""
            if r.path == "/same":
                return 308, {"Location": "/ok"}, b""
            return 204, {}, b""

        with Receiver([SECRET], answer=redirect) as outer:
            path = project(
                tmp_path,
                hook("away", outer.url + "/away", events="[orders.create]", headers="{Authorization: Bearer s3cr3t}")
                + hook("same", outer.url + "/same", events="[orders.create]", headers="{Authorization: Bearer ok}"),
            )
            async with app_for(tmp_path, path) as app:
                await create(app, title="x")
                dead = await await_until(lambda: _states(app, "away", "dead"), "the refused redirect")
                assert f"redirect to another origin refused: http://127.0.0.2:{inner.port}" in dead[0]["lastError"]
                assert dead[0]["attempts"] == 1  # not retried
                await await_until(lambda: _states(app, "same", "delivered"), "the same-origin redirect followed")
                got = {g.path: g for g in outer.snapshot()}
                assert got["/ok"].verified == [True] and got["/ok"].headers["authorization"] == "Bearer ok"
                assert set(got) == {"/away", "/same", "/ok"}
                assert inner.snapshot() == []  # neither the header nor the signed body left the origin


class Trickler:
    """A real TCP server that answers every request one byte of headers at a time, each byte well
    within the per-read timeout, so only a deadline for the whole attempt can end it."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(600):  # at most a minute; the deadline ends the attempt long before
                    if self.stop.wait(self.step):
                        return
                    conn.sendall(b"a")
                conn.sendall(b"\r\ncontent-length: 0\r\n\r\n")
            except OSError:
                return

    def __enter__(self) -> Trickler:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()


async def test_a_trickling_receiver_times_out_within_the_attempt_deadline(tmp_path, allow_loopback):
    with Trickler(step=0.1) as slow:
        path = project(tmp_path, hook("slow", slow.url, events="[orders.create]", timeout=1, retryWindow="1s"))
        async with app_for(tmp_path, path) as app:
            await create(app, title="x")

            async def attempted() -> list[dict[str, Any]]:
                return [d for d in await _states(app, "slow", "") if d["log"]]

            found = await await_until(attempted, "a recorded attempt")
            assert found[0]["log"][0]["error"].startswith("timed out after 1s"), found[0]["log"]


async def test_job_results_reach_a_webhook(tmp_path, allow_loopback):
    with Receiver([SECRET]) as rx:
        path = project(tmp_path, hook("jobs", rx.url, events="[job.*]"))
        with open(path, "a") as fh:
            fh.write('jobs:\n  - name: prune\n    schedule: "@every 1s"\n    task: events.prune\n')
        async with app_for(tmp_path, path) as app:
            await create(app, title="not a job event")
            got = await await_until(lambda: rx.snapshot(), "a job result")
            p = got[0].payload
            assert p["type"] == "job.success" and p["record"]["job"] == "prune" and p["collection"] == ""
            assert got[0].verified == [True]
            assert all(g.payload["type"].startswith("job.") for g in rx.snapshot())


async def test_a_process_with_sending_off_leaves_delivery_to_another(tmp_path, allow_loopback, monkeypatch):
    """``BAAS_WEBHOOKS_SEND=0``: the API process writes (its event is in the stream) but the other
    engine on the same database fans out and sends."""
    with Receiver([SECRET]) as rx:
        path = project(tmp_path, hook("split", rx.url, events="[orders.create]"))
        async with fresh_db_url(tmp_path, migrated=True) as url:
            monkeypatch.setenv("BAAS_WEBHOOKS_SEND", "0")
            async with in_process(tmp_path, data_dir=tmp_path / "a", db_url=url, schema_file=path) as (client, api):
                monkeypatch.delenv("BAAS_WEBHOOKS_SEND")
                await upsert_superuser(api, SU_EMAIL, SU_PASS)
                token = await sign_in(client)
                r = await client.post(
                    "/api/collections/orders/records", json={"title": "x"}, headers={"Authorization": token}
                )
                assert r.status_code == 200, r.text
                sender = Engine(Settings(data_dir=str(tmp_path / "b"), db_url=url, schema_file=path))
                create_app(sender.settings, sender)
                await sender.start()
                try:
                    got = await await_until(lambda: rx.snapshot(), "the delivery from the other engine")
                    assert got[0].payload["record"]["id"] == r.json()["id"] and got[0].verified == [True]
                    owner = await sender.db.fetchval('SELECT "owner" FROM "_webhook_deliveries"')
                    assert owner == sender.webhooks.owner != api.webhooks.owner
                finally:
                    await sender.stop()
