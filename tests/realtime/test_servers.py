"""Realtime across real server processes: two ``baas serve`` on one database (a subscriber held by
one, subscriptions, writes and OAuth2 redirects arriving at the other), and a real client that
never reads (dropped, while the others get everything)."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx

from tests.servers import Stream, running_server, second_server, stop_server

EMAIL, PASSWORD = "root@example.com", "root-password-1"


async def _setup(http: httpx.AsyncClient, url: str, coll: dict) -> dict[str, str]:
    r = await http.post(
        f"{url}/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
    )
    su = {"Authorization": r.json()["token"]}
    r = await http.post(f"{url}/api/collections", headers=su, json=coll)
    assert r.status_code == 200, r.text
    return su


async def test_two_processes_one_database(tmp_path):
    async with (
        running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as a,
        second_server(a) as b,
        httpx.AsyncClient(timeout=30) as http,
    ):
        su = await _setup(
            http,
            a.url,
            {
                "name": "notes",
                "listRule": "",
                "viewRule": "",
                "createRule": "",
                "fields": [{"name": "text", "type": "text"}],
            },
        )
        r = await http.post(
            f"{a.url}/api/collections/users/records",
            json={"email": "u@example.com", "password": "password-123", "passwordConfirm": "password-123"},
        )
        assert r.status_code == 200, r.text
        user = {
            "Authorization": (
                await http.post(
                    f"{a.url}/api/collections/users/auth-with-password",
                    json={"identity": "u@example.com", "password": "password-123"},
                )
            ).json()["token"]
        }
        for _ in range(100):  # B picks up the new collection within about a second
            if (await http.get(f"{b.url}/api/collections/notes/records")).status_code == 200:
                break
            await asyncio.sleep(0.05)

        async with Stream(a.url) as sse:
            # The subscription arrives at B, which does not hold the client: it goes through the
            # database to A, and B answers only once A has applied it.
            r = await http.post(
                f"{b.url}/api/realtime", json={"clientId": sse.client_id, "subscriptions": ["notes/*", "@oauth2"]}
            )
            assert r.status_code == 204, r.text
            r = await http.post(f"{b.url}/api/collections/notes/records", json={"text": "from B"})
            assert r.status_code == 200
            topic, msg = await sse.message()
            assert (topic, msg["action"], msg["record"]["text"]) == ("notes/*", "create", "from B")
            r = await http.delete(f"{b.url}/api/collections/notes/records/{msg['record']['id']}", headers=su)
            assert r.status_code == 204
            assert (await sse.message())[1]["action"] == "delete"

            # guest -> user through B, then another auth is refused (by A, through B)
            r = await http.post(
                f"{b.url}/api/realtime",
                headers=user,
                json={"clientId": sse.client_id, "subscriptions": ["notes/*", "@oauth2"]},
            )
            assert r.status_code == 204, r.text
            r = await http.post(
                f"{b.url}/api/realtime", headers=su, json={"clientId": sse.client_id, "subscriptions": ["notes/*"]}
            )
            assert r.status_code == 403, r.text
            r = await http.post(
                f"{b.url}/api/realtime", json={"clientId": sse.client_id[:8] + "z" * 32, "subscriptions": []}
            )
            assert r.status_code == 404, r.text

            # The OAuth2 popup flow: the provider redirects the browser to B.
            r = await http.get(f"{b.url}/api/oauth2-redirect", params={"state": sse.client_id, "code": "c0de"})
            assert r.status_code == 200, r.text
            event = await asyncio.wait_for(sse.events.get(), 30)  # a bound against hanging
            assert event["event"] == "@oauth2"
            assert json.loads(event["data"]) == {"state": sse.client_id, "code": "c0de"}
        assert "Traceback" not in a.log_text() + b.log_text()


async def test_a_client_that_never_reads_is_dropped(tmp_path):
    """Server buffer limit 64 KiB: a real socket that stops reading after PB_CONNECT is closed by
    the server once the kernel's buffers and then its own 64 KiB fill up; a reading subscriber
    receives every event."""
    async with (
        running_server(tmp_path, superuser=(EMAIL, PASSWORD), env={"BAAS_REALTIME_BUFFER": "65536"}) as srv,
        httpx.AsyncClient(timeout=30) as http,
    ):
        await _setup(
            http,
            srv.url,
            {
                "name": "blobs",
                "listRule": "",
                "viewRule": "",
                "createRule": "",
                "fields": [{"name": "body", "type": "editor"}],
            },
        )
        host, port = srv.url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.sendall(b"GET /api/realtime HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b'"}\n\n' not in head:
            head += sock.recv(4096)
        slow_id = head.split(b'"clientId":"')[1].split(b'"')[0].decode()
        try:
            async with Stream(srv.url) as ok:
                for cid in (slow_id, ok.client_id):
                    r = await http.post(f"{srv.url}/api/realtime", json={"clientId": cid, "subscriptions": ["blobs/*"]})
                    assert r.status_code == 204, r.text
                body = "x" * 200_000
                ids = []
                for _ in range(60):  # 12 MB of messages: far past the socket buffers + 64 KiB
                    r = await http.post(f"{srv.url}/api/collections/blobs/records", json={"body": body})
                    assert r.status_code == 200
                    ids.append(r.json()["id"])
                    assert (await ok.message())[1]["record"]["id"] == ids[-1]
            # The slow socket now gets what was in flight, then the end of the connection.
            sock.settimeout(20)
            total = 0
            while chunk := sock.recv(1 << 20):
                total += len(chunk)
            assert total < 60 * len(body) / 2, total
            assert "Traceback" not in srv.log_text()
        finally:
            sock.close()


async def test_a_stopping_server_ends_its_streams_with_a_reconnect_hint(tmp_path):
    """SIGTERM (a deploy, `docker stop`): every stream ends with an SSE ``retry:`` so clients come back
    soon, to whichever node answers then, instead of after their own default pause."""
    async with running_server(tmp_path) as srv, Stream(srv.url) as stream:
        assert srv.proc is not None
        await asyncio.get_running_loop().run_in_executor(None, stop_server, srv.proc)
        last = await asyncio.wait_for(stream.events.get(), 30)
        assert last == {"retry": "500"}, last
