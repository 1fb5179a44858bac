"""docs/functions.md's examples, run: its baas.yaml and functions package, called as it says."""

from __future__ import annotations

import html
import re
from pathlib import Path

from baas.auth.mail import read_mailbox
from tests.harness import app_for, unique, user_token

DOC = Path(__file__).resolve().parents[2] / "docs" / "functions.md"


def fence(lang: str) -> str:
    return re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S).group(1)


async def test_the_documented_functions_answer_as_documented(tmp_path):
    pkg = unique("docfns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(fence("python"))
    (root / "baas.yaml").write_text(fence("yaml").replace("functions: functions", f"functions: {pkg}"))
    async with app_for(tmp_path, str(root / "baas.yaml")) as run:
        c = run.client
        r = await c.post("/api/functions/hello", json={"name": "Ann"})
        assert r.status_code == 200 and r.json() == {"hello": "Ann", "caller": "guest"}  # as in the text block
        r = await c.post("/api/functions/place-order", json={"total": 12})
        assert r.status_code == 400 and "call rule" in r.json()["message"]
        token, user_id = await user_token(run)
        r = await c.post("/api/functions/place-order", json={"total": 12}, headers={"Authorization": token})
        assert r.status_code == 200, r.text
        order = await c.get(f"/api/collections/orders/records/{r.json()['order']}", headers={"Authorization": token})
        assert order.json()["owner"] == user_id and order.json()["status"] == "new"
        # send-receipt: a protected file written as the system, a mail with the caller's token URL
        r = await c.post("/api/functions/send-receipt", json={"order": order.json()["id"]})
        assert r.status_code == 400 and "call rule" in r.json()["message"]
        r = await c.post(
            "/api/functions/send-receipt", json={"order": order.json()["id"]}, headers={"Authorization": token}
        )
        assert r.status_code == 200 and r.json()["receipt"].startswith("receipt_"), r.text
        (mail,) = read_mailbox(run.engine.settings.data_dir, "ann@example.com")
        assert mail.subject == "Your receipt"
        link = re.search(r'href="http://127\.0\.0\.1:8090(/api/files/[^"]+)"', mail.html)
        assert link and "token=" in link.group(1), mail.html
        got = await c.get(html.unescape(link.group(1)))
        assert got.status_code == 200 and got.text == f"Order {order.json()['id']}: 12 EUR, paid."
        assert (await c.get(html.unescape(link.group(1)).split("?")[0])).status_code == 404  # protected
        r = await c.post("/api/functions/close_all", json={}, headers={"Authorization": token})
        assert r.status_code == 403 and r.json()["message"] == "Only superusers can call this function."
        r = await c.post("/api/functions/close_all", json={}, headers={"Authorization": run.su})
        assert r.status_code == 200 and r.json() == {"closed": 1}
        r = await c.post("/api/functions/refund", json={})
        assert r.status_code == 400 and r.json() == {
            "status": 400,
            "message": "Nothing to refund.",
            "data": {"order": {"code": "validation_not_paid", "message": "The order is not paid."}},
        }
        r = await c.post("/api/functions/missing", json={})
        assert r.status_code == 404 and r.json()["message"] == "The requested function wasn't found."
