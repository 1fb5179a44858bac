"""Shared pieces of the webhook tests: secrets, the project file, reading the delivery log."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()

COLLECTIONS = """collections:
  - name: orders
    fields:
      - {name: title, type: text}
      - {name: total, type: number}
      - {name: n, type: number}
      - {name: note, type: text, hidden: true}
"""


def project(tmp_path: Path, webhooks: str) -> str:
    """A baas.yaml with the ``orders`` collection and the given ``webhooks:`` entries (YAML text)."""
    path = tmp_path / "baas.yaml"
    path.write_text(COLLECTIONS + "webhooks:\n" + webhooks)
    return str(path)


def hook(name: str, url: str, events: str = "[orders.*]", **extra: Any) -> str:
    """One ``webhooks:`` entry as YAML."""
    lines = [
        f"  - name: {name}",
        f"    url: {url}",
        f"    events: {events}",
        f"    secret: {extra.pop('secret', SECRET)}",
    ]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


async def deliveries(client: httpx.AsyncClient, token: str, name: str, state: str = "") -> list[dict[str, Any]]:
    q = f"?perPage=500&state={state}" if state else "?perPage=500"
    r = await client.get(f"/api/webhooks/{name}/deliveries{q}", headers={"Authorization": token})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
