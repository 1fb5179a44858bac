"""``POST /api/webhooks/in/{name}``: Standard Webhooks deliveries signed by an independent
implementation (PyPI ``standardwebhooks``), Stripe-scheme deliveries signed from Stripe's docs
(tests/inbound/stripekit.py), and every kind of bad delivery and bad declaration."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from baas.errors import SchemaError
from baas.ids import format_dt
from baas.schema.loader import load_schema_text
from tests.harness import app_for, unique
from tests.inbound.stripekit import stripe_signed

STD_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmnopqrstuv").decode()
STRIPE_SECRET = "whsec_stripe_0123456789abcdef"

SCHEMA = """
collections:
  - name: inbox
    fields:
      - {name: msg, type: text}
      - {name: kind, type: text}
functions: %(pkg)s
inboundWebhooks:
  - name: std
    scheme: standard
    secret: %(std)s
    function: record_it
  - name: small
    scheme: standard
    secret: %(std)s
    function: record_it
    maxBodySize: 200
    tolerance: 60
  - name: pay
    scheme: stripe
    secretEnv: INBOUND_TEST_STRIPE_SECRET
    function: record_it
  - name: flaky
    scheme: standard
    secret: %(std)s
    function: flaky
  - name: gated
    scheme: standard
    secret: %(std)s
    function: gated
  - name: disabled
    scheme: standard
    secret: %(std)s
    function: record_it
    enabled: false
"""

FUNCTIONS = """
from baas.functions import function

FAIL = {"left": 1}


@function()
async def record_it(ctx):
    rec = await ctx.system.create("inbox", {"msg": ctx.webhook["id"], "kind": ctx.body.get("type", "")})
    return {"stored": rec["id"], "webhook": ctx.webhook["name"], "scheme": ctx.webhook["scheme"],
            "context": ctx.request.context, "superuser": ctx.request.is_superuser}


@function(timeout=60)
async def gated(ctx):
    # Runs until the test creates the file the event names (an event, not a clock).
    import asyncio, os
    while not os.path.exists(ctx.body["gate"]):
        await asyncio.sleep(0.02)
    rec = await ctx.system.create("inbox", {"msg": ctx.webhook["id"], "kind": "gated"})
    return {"stored": rec["id"]}


@function()
async def flaky(ctx):
    if FAIL["left"]:
        FAIL["left"] -= 1
        raise RuntimeError("temporarily broken")
    return {"ok": True}
"""


def _project(tmp_path: Path) -> str:
    pkg = unique("inboundfns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(SCHEMA % {"pkg": pkg, "std": STD_SECRET})
    return str(root / "baas.yaml")


def std_signed(payload: dict, msg_id: str, at: datetime | None = None, secret: str = STD_SECRET):
    body = json.dumps(payload)
    at = at or datetime.now(UTC)
    sig = Webhook(secret).sign(msg_id, at, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sig,
        "content-type": "application/json",
    }
    return body.encode(), headers


@pytest.fixture
async def run(tmp_path, monkeypatch):
    monkeypatch.setenv("INBOUND_TEST_STRIPE_SECRET", STRIPE_SECRET)
    async with app_for(tmp_path, _project(tmp_path)) as running:
        yield running


async def _inbox(run) -> list[str]:
    rows = await run.engine.db.fetch('SELECT "msg" FROM "inbox" ORDER BY "msg"')
    return [r[0] for r in rows]


async def test_standard_webhook_verified_and_handed_to_the_function(run):
    body, headers = std_signed({"type": "user.created", "data": {"id": 7}}, "msg_1")
    r = await run.client.post("/api/webhooks/in/std", content=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["webhook"] == "std" and out["scheme"] == "standard"
    assert out["context"] == "webhook" and out["superuser"] is True
    assert await _inbox(run) == ["msg_1"]
    # Several signatures (a sender rotating its secret): one valid v1 is enough.
    body, headers = std_signed({"type": "x"}, "msg_2")
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    r = await run.client.post("/api/webhooks/in/std", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert await _inbox(run) == ["msg_1", "msg_2"]


async def test_replay_of_a_message_id_is_an_idempotent_200(run):
    body, headers = std_signed({"type": "a"}, "msg_dup")
    assert (await run.client.post("/api/webhooks/in/std", content=body, headers=headers)).status_code == 200
    # The same delivery again, and the same id signed anew: the function does not run twice.
    r = await run.client.post("/api/webhooks/in/std", content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"duplicate": True, "id": "msg_dup"}
    body, headers = std_signed({"type": "b"}, "msg_dup")
    r = await run.client.post("/api/webhooks/in/std", content=body, headers=headers)
    assert r.json() == {"duplicate": True, "id": "msg_dup"}
    assert await _inbox(run) == ["msg_dup"]
    # Ids are per webhook: "small" has not seen it.
    body, headers = std_signed({"type": "c"}, "msg_dup")
    r = await run.client.post("/api/webhooks/in/small", content=body, headers=headers)
    assert r.status_code == 200 and "stored" in r.json()


async def test_a_failed_call_forgets_the_id_so_the_retry_runs(run):
    body, headers = std_signed({"type": "a"}, "msg_retry")
    r = await run.client.post("/api/webhooks/in/flaky", content=body, headers=headers)
    assert r.status_code == 500 and r.json()["status"] == 500
    assert "temporarily broken" not in r.text
    r = await run.client.post("/api/webhooks/in/flaky", content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"ok": True}
    r = await run.client.post("/api/webhooks/in/flaky", content=body, headers=headers)
    assert r.json() == {"duplicate": True, "id": "msg_retry"}


async def test_stripe_scheme_with_secret_from_the_environment(run):
    body, headers = stripe_signed({"id": "evt_9", "type": "payment_intent.succeeded"}, STRIPE_SECRET)
    r = await run.client.post("/api/webhooks/in/pay", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["scheme"] == "stripe", r.text
    assert await _inbox(run) == ["evt_9"]


def _tamper_body(body, headers):
    return body.replace(b'"a"', b'"b"'), headers


def _drop(name):
    def f(body, headers):
        return body, {k: v for k, v in headers.items() if k != name}

    return f


def _set(name, value):
    def f(body, headers):
        return body, {**headers, name: value}

    return f


# (description, webhook, change to a valid delivery, status, message fragment)
BAD: list = [
    ("unknown webhook name", "nope", None, 404, "wasn't found"),
    ("disabled webhook", "disabled", None, 404, "wasn't found"),
    ("body changed after signing", "std", _tamper_body, 401, "Invalid webhook signature"),
    ("signature from another secret", "std", "other-secret", 401, "Invalid webhook signature"),
    ("missing webhook-signature", "std", _drop("webhook-signature"), 400, "Missing webhook-id"),
    ("missing webhook-id", "std", _drop("webhook-id"), 400, "Missing webhook-id"),
    ("missing webhook-timestamp", "std", _drop("webhook-timestamp"), 400, "Missing webhook-id"),
    ("timestamp not a number", "std", _set("webhook-timestamp", "yesterday"), 400, "Unix time"),
    ("no v1 signature", "std", _set("webhook-signature", "v2,abc"), 400, "no v1 signature"),
    ("garbage signature", "std", _set("webhook-signature", "v1,not-base64!!"), 401, "Invalid webhook signature"),
    ("id changed after signing", "std", _set("webhook-id", "msg_other"), 401, "Invalid webhook signature"),
    ("stale timestamp", "std", "stale", 401, "outside the tolerance"),
    ("timestamp from the future", "small", "future", 401, "outside the tolerance"),
    ("body over maxBodySize", "small", "big", 413, "too large"),
    ("signed body that is not JSON", "std", "notjson", 400, "not valid JSON"),
    ("signed body that is a JSON list", "std", "list", 400, "JSON object"),
    ("stripe: missing header", "pay", _drop("Stripe-Signature"), 400, "Missing Stripe-Signature"),
    ("stripe: header without t", "pay", _set("Stripe-Signature", "v1=abcd"), 400, "one t= timestamp"),
    ("stripe: header without v1", "pay", "stripe-no-v1", 400, "one t= timestamp"),
    ("stripe: wrong secret", "pay", "stripe-other", 401, "Invalid webhook signature"),
    ("stripe: stale", "pay", "stripe-stale", 401, "outside the tolerance"),
    ("stripe: event without id", "pay", "stripe-noid", 400, "no id"),
]


@pytest.mark.parametrize("desc,name,change,status,fragment", BAD, ids=[b[0] for b in BAD])
async def test_bad_deliveries_are_refused_in_the_error_shape(run, desc, name, change, status, fragment):
    payload = {"type": "a"}
    now = datetime.now(UTC)
    if name == "pay":
        at = int(time.time()) - 3600 if change == "stripe-stale" else None
        event = {"type": "a"} if change == "stripe-noid" else {"id": "evt_bad", "type": "a"}
        secret = "whsec_some_other_secret_value" if change == "stripe-other" else STRIPE_SECRET
        body, headers = stripe_signed(event, secret, at)
        if change == "stripe-no-v1":
            headers["Stripe-Signature"] = headers["Stripe-Signature"].split(",")[0]
    elif change == "other-secret":
        body, headers = std_signed(payload, "m1", secret="whsec_" + base64.b64encode(b"x" * 32).decode())
    elif change == "stale":
        body, headers = std_signed(payload, "m1", at=now - timedelta(minutes=6))
    elif change == "future":
        body, headers = std_signed(payload, "m1", at=now + timedelta(minutes=2))
    elif change == "big":
        body, headers = std_signed({"pad": "x" * 300}, "m1")
    elif change in ("notjson", "list"):
        raw = "not json {" if change == "notjson" else "[1, 2]"
        at = datetime.now(UTC)
        headers = {
            "webhook-id": "m1",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(STD_SECRET).sign("m1", at, raw),
        }
        body = raw.encode()
    else:
        body, headers = std_signed(payload, "m1")
    if callable(change):
        body, headers = change(body, headers)
    r = await run.client.post(f"/api/webhooks/in/{name}", content=body, headers=headers)
    assert r.status_code == status, r.text
    data = r.json()
    assert data["status"] == status and fragment in data["message"] and data["data"] == {}, data
    assert STD_SECRET not in r.text and STRIPE_SECRET not in r.text
    assert await _inbox(run) == []  # the function never ran
    # And the server keeps serving: a valid delivery still goes through.
    body, headers = std_signed({"type": "ok"}, "m_after")
    assert (await run.client.post("/api/webhooks/in/std", content=body, headers=headers)).status_code == 200


def _yaml(entry: str, functions: str = "") -> str:
    return f"collections: []\n{functions}inboundWebhooks:\n{entry}"


# (description, the declaration, message fragment, line)
BAD_DECLARATIONS = [
    ("unknown scheme", "  - {name: a, scheme: github, secret: x, function: f}\n", "Invalid enum value 'github'", 4),
    ("secret too short", "  - {name: a, scheme: stripe, secret: whsec_x, function: f}\n", "secret too short", 4),
    (
        "standard secret without whsec_",
        "  - {name: a, scheme: standard, secret: abcdefabcdefabcdefabcdef, function: f}\n",
        "starts with whsec_",
        4,
    ),
    (
        "standard secret not base64",
        "  - {name: a, scheme: standard, secret: 'whsec_%%%%', function: f}\n",
        "not valid base64",
        4,
    ),
    (
        "standard secret under 24 bytes",
        "  - {name: a, scheme: standard, secret: whsec_YWJj, function: f}\n",
        "secret too short",
        4,
    ),
    ("no secret at all", "  - {name: a, scheme: stripe, function: f}\n", "exactly one of secret or secretEnv", 4),
    (
        "both secret and secretEnv",
        "  - {name: a, scheme: stripe, secret: whsec_0123456789abcdef, secretEnv: X, function: f}\n",
        "exactly one of secret or secretEnv",
        4,
    ),
    ("no function", "  - {name: a, scheme: stripe, secretEnv: X}\n", "function", 4),
    ("bad name", "  - {name: 'a/b', scheme: stripe, secretEnv: X, function: f}\n", "the name may hold", 4),
    (
        "declared twice",
        "  - {name: a, scheme: stripe, secretEnv: X, function: f}\n"
        "  - {name: a, scheme: stripe, secretEnv: X, function: f}\n",
        "declared twice",
        5,
    ),
    ("unknown option", "  - {name: a, scheme: stripe, secretEnv: X, function: f, tolerence: 5}\n", "tolerence", 4),
    ("zero tolerance", "  - {name: a, scheme: stripe, secretEnv: X, function: f, tolerance: 0}\n", "tolerance", 4),
    (
        "huge body limit",
        "  - {name: a, scheme: stripe, secretEnv: X, function: f, maxBodySize: 999999999}\n",
        "maxBodySize",
        4,
    ),
]


@pytest.mark.parametrize("desc,entry,fragment,line", BAD_DECLARATIONS, ids=[b[0] for b in BAD_DECLARATIONS])
def test_bad_declarations_name_the_webhook_and_line(desc, entry, fragment, line):
    text = "collections: []\n\n\ninboundWebhooks:\n" + entry.replace("  - ", "  - ", 1)
    text = "collections: []\n\ninboundWebhooks:\n" + entry
    with pytest.raises(SchemaError) as err:
        load_schema_text(text)
    assert fragment in err.value.message and "inbound webhook" in err.value.message, err.value.message
    assert err.value.line == line


async def test_server_start_refuses_unknown_function_and_unset_secret_env(tmp_path, monkeypatch):
    pkg = unique("inboundbad")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    path = root / "baas.yaml"
    path.write_text(
        f"collections: []\nfunctions: {pkg}\ninboundWebhooks:\n"
        "  - {name: a, scheme: stripe, secretEnv: INBOUND_TEST_UNSET_VAR, function: record_it}\n"
    )
    monkeypatch.delenv("INBOUND_TEST_UNSET_VAR", raising=False)
    with pytest.raises(SchemaError) as err:
        async with app_for(tmp_path, str(path)):
            pass
    assert "INBOUND_TEST_UNSET_VAR" in err.value.message and err.value.line == 4
    path.write_text(
        f"collections: []\nfunctions: {pkg}\ninboundWebhooks:\n"
        f"  - {{name: a, scheme: standard, secret: {STD_SECRET}, function: nope}}\n"
    )
    with pytest.raises(SchemaError) as err:
        async with app_for(tmp_path, str(path)):
            pass
    assert "unknown function 'nope'" in err.value.message and err.value.line == 4


async def _state(run, hook: str, msg_id: str):
    return await run.engine.db.fetchval(
        'SELECT "state" FROM "_inbound_messages" WHERE "webhook" = ? AND "message_id" = ?', [hook, msg_id]
    )


async def test_a_retry_while_the_first_call_runs_gets_409_and_the_function_runs_once(run, tmp_path):
    gate = tmp_path / "gate"
    body, headers = std_signed({"gate": str(gate)}, "msg_slow")
    first = asyncio.create_task(run.client.post("/api/webhooks/in/gated", content=body, headers=headers))
    deadline = time.monotonic() + 30
    while await _state(run, "gated", "msg_slow") != "processing":
        assert time.monotonic() < deadline and not first.done()
        await asyncio.sleep(0.02)
    r = await run.client.post("/api/webhooks/in/gated", content=body, headers=headers)
    assert r.status_code == 409, r.text
    assert r.json()["status"] == 409 and "retry later" in r.json()["message"]
    gate.write_text("go")
    r = await first
    assert r.status_code == 200 and "stored" in r.json(), r.text
    assert await _state(run, "gated", "msg_slow") == "done"
    r = await run.client.post("/api/webhooks/in/gated", content=body, headers=headers)
    assert r.json() == {"duplicate": True, "id": "msg_slow"}
    assert await _inbox(run) == ["msg_slow"]


async def test_a_stale_processing_claim_is_taken_over(run, tmp_path):
    # A process that died mid-call left its claim; its lease is over.
    past = format_dt(datetime.now(UTC) - timedelta(minutes=5))
    await run.engine.db.write(
        lambda conn: conn.execute(
            'INSERT INTO "_inbound_messages" ("webhook", "message_id", "received", "state", "lease") '
            "VALUES (?, ?, ?, 'processing', ?)",
            ["std", "msg_dead", past, past],
        )
    )
    body, headers = std_signed({"type": "a"}, "msg_dead")
    r = await run.client.post("/api/webhooks/in/std", content=body, headers=headers)
    assert r.status_code == 200 and "stored" in r.json(), r.text
    assert await _inbox(run) == ["msg_dead"]
    assert await _state(run, "std", "msg_dead") == "done"
