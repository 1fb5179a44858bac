"""Webhooks in baas.yaml: bad input is refused with the webhook's name and its line, before
anything is applied — by the loader (syntax, URL, events, secret, limits) and by the engine
(unknown collection, filter errors, an unset ``env:`` secret)."""

from __future__ import annotations

import base64

import pytest

from baas.core import Engine
from baas.errors import SchemaError
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.harness import PG_URL, create_pg_database, drop_pg_database
from tests.webhooks.common import SECRET

HEAD = f"""collections:
  - name: orders
    fields:
      - {{name: total, type: number}}
webhooks:
  - name: fine
    url: https://example.com/hook
    events: [orders.create]
    secret: {SECRET}
"""  # the bad webhook below starts on line 10

SHORT = "whsec_" + base64.b64encode(b"s" * 16).decode()

BAD_LOAD = [
    ("url without scheme", "url: example.com/hook\n    events: [orders.*]", "needs an http:// or https:// scheme"),
    ("ftp url", "url: ftp://example.com/x\n    events: [orders.*]", "needs an http:// or https:// scheme"),
    ("url without host", "url: 'https://'\n    events: [orders.*]", "has no host"),
    ("url with credentials", "url: https://u:p@example.com/\n    events: [orders.*]", "credentials"),
    ("bad event action", "url: https://e.com/\n    events: [orders.created]", "bad event type 'orders.created'"),
    ("event without action", "url: https://e.com/\n    events: [orders]", "bad event type 'orders'"),
    ("no events", "url: https://e.com/\n    events: []", "at least one event type"),
    ("secret too short", f"url: https://e.com/\n    events: [orders.*]\n    secret: {SHORT}", "too short: 16 bytes"),
    ("secret not base64", "url: https://e.com/\n    events: [orders.*]\n    secret: whsec_%%%", "valid base64"),
    (
        "secret without prefix",
        "url: https://e.com/\n    events: [orders.*]\n    secret: abcdef",
        "must start with whsec_",
    ),
    ("reserved header", "url: https://e.com/\n    events: [orders.*]\n    headers: {webhook-id: x}", "set by baas"),
    ("bad window", "url: https://e.com/\n    events: [orders.*]\n    retryWindow: soon", "retryWindow"),
    ("zero timeout", "url: https://e.com/\n    events: [orders.*]\n    timeout: 0", "timeout must be"),
    ("unknown option", "url: https://e.com/\n    events: [orders.*]\n    retries: 3", "unknown field `retries`"),
    (
        "rotation without end",
        f"url: https://e.com/\n    events: [orders.*]\n    previousSecret: {SECRET}",
        "previousSecretUntil",
    ),
]


@pytest.mark.parametrize("desc,body,message", BAD_LOAD, ids=[b[0] for b in BAD_LOAD])
def test_a_bad_webhook_names_itself_and_its_line(desc, body, message):
    if "secret:" not in body:
        body += f"\n    secret: {SECRET}"
    text = HEAD + "  - name: broken\n    " + body + "\n"
    with pytest.raises(SchemaError) as err:
        load_schema_text(text, "baas.yaml")
    assert err.value.path == "baas.yaml" and err.value.line == 10, err.value.describe()
    assert "webhook 'broken'" in err.value.message, err.value.message
    assert message in err.value.message, err.value.message


def test_a_webhook_declared_twice_is_refused():
    text = HEAD + f"  - name: fine\n    url: https://e.com/\n    events: [orders.*]\n    secret: {SECRET}\n"
    with pytest.raises(SchemaError, match="webhook 'fine': declared twice") as err:
        load_schema_text(text, "baas.yaml")
    assert err.value.line == 10


BAD_START = [
    ("unknown collection", "events: [ordres.create]", "unknown collection 'ordres'"),
    ("unknown auth event type", "events: [auth.logout]", "unknown event type 'auth.logout'"),
    ("filter syntax error", "events: [orders.*]\n    filter: 'total >'", "filter syntax error"),
    ("filter unknown field", "events: [orders.*]\n    filter: 'totl > 1'", "filter does not fit collection 'orders'"),
    ("unset env secret", "events: [orders.*]\n    secret: env:BAAS_TEST_NO_SUCH_SECRET", "BAAS_TEST_NO_SUCH_SECRET"),
]


@pytest.mark.parametrize("desc,body,message", BAD_START, ids=[b[0] for b in BAD_START])
async def test_the_engine_refuses_a_webhook_that_does_not_fit_and_applies_nothing(tmp_path, desc, body, message):
    if "secret:" not in body:
        body += f"\n    secret: {SECRET}"
    path = tmp_path / "baas.yaml"
    path.write_text(HEAD + "  - name: broken\n    url: https://e.com/\n    " + body + "\n")
    url = await create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    try:
        eng = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=url, schema_file=str(path)))
        with pytest.raises(SchemaError) as err:
            await eng.start()
        assert err.value.path == str(path) and err.value.line == 10, err.value.describe()
        assert "webhook 'broken'" in err.value.message and message in err.value.message, err.value.message
        await eng.db.close()
        fresh = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=url))
        await fresh.start()
        try:
            assert fresh.registry.get("orders") is None  # the collection of the same file was not created
            assert await fresh.db.fetchval('SELECT count(*) FROM "_webhooks"') == 0
        finally:
            await fresh.stop()
    finally:
        if PG_URL:
            await drop_pg_database(url)


async def test_an_env_secret_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_TEST_HOOK_SECRET", SECRET)
    path = tmp_path / "baas.yaml"
    path.write_text(HEAD.replace(f"secret: {SECRET}", "secret: env:BAAS_TEST_HOOK_SECRET"))
    url = await create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    try:
        eng = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=url, schema_file=str(path)))
        await eng.start()
        try:
            entry = eng.webhooks.catalog.entries["fine"]
            assert entry.keys() == [b"n" * 32]
            stored = await eng.db.fetchval('SELECT "config" FROM "_webhooks" WHERE "name" = ?', ["fine"])
            assert SECRET not in stored and "env:BAAS_TEST_HOOK_SECRET" in stored  # the file's text, not the value
        finally:
            await eng.stop()
    finally:
        if PG_URL:
            await drop_pg_database(url)
