"""Run the real PocketBase binary with the test dataset, for side-by-side filter comparisons."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.rules.dataset import COLLECTIONS, ROWS, record
from tests.servers import free_port

EMAIL, PASSWORD = "root@example.com", "rootpassword123"


def _free_port() -> int:
    return free_port()  # tests/servers.py: ports that parallel workers cannot collide on


def binary() -> str | None:
    return shutil.which("pocketbase")


class PocketBase:
    """One PocketBase process on a temp dir, seeded with `tests.rules.dataset`."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def start(self) -> None:
        exe = binary()
        assert exe
        subprocess.run(
            [exe, "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(self.dir)], check=True, capture_output=True
        )
        self.proc = subprocess.Popen(
            [
                exe,
                "serve",
                "--http",
                f"127.0.0.1:{self.port}",
                "--dir",
                str(self.dir),
                # no migration files may be written next to the data dir
                "--automigrate=false",
                "--migrationsDir",
                str(self.dir / "migrations"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client.get("/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("pocketbase did not start")
            time.sleep(0.05)
        r = self.client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
        )
        r.raise_for_status()
        self.client.headers["Authorization"] = r.json()["token"]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        self.client.close()

    def seed(self) -> None:
        # A fresh PocketBase ships an auth collection named "users": make room for ours.
        r = self.client.delete("/api/collections/users")
        assert r.status_code == 204, r.text
        for coll in COLLECTIONS:
            fields = []
            for f in coll.fields:
                spec: dict[str, Any] = {"name": f.name, "type": f.type}
                for opt in ("values", "maxSelect", "collectionId"):
                    if hasattr(f, opt):
                        spec[opt] = getattr(f, opt)
                fields.append(spec)
            r = self.client.post(
                "/api/collections",
                json={"id": coll.id, "name": coll.name, "type": "base", "fields": fields, "listRule": ""},
            )
            assert r.status_code == 200, r.text
            for row in ROWS[coll.name]:
                r = self.client.post(f"/api/collections/{coll.name}/records", json=record(coll, row))
                assert r.status_code == 200, r.text

    def ids(self, collection: str, expr: str, sort: str = "") -> list[str]:
        params = {"filter": expr, "perPage": 500, "fields": "id", "skipTotal": 1}
        if sort:
            params["sort"] = sort
        r = self.client.get(f"/api/collections/{collection}/records", params=params)
        if r.status_code != 200:
            raise ValueError(f"{r.status_code} {r.text}")
        return [item["id"] for item in r.json()["items"]]
