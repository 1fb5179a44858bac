"""The endpoints behind the console's schema pages: the import plan, the auth email preview, the
OAuth2 secret status, the auth options check on save, and a view's fields following its query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Console

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}],
}
HOSTILE = "<script>window.__xss = 1</script>"


async def _user_token(c: Console, su: str) -> str:
    body = {"email": "ann@example.com", "password": "ann-password-1", "passwordConfirm": "ann-password-1"}
    assert (await c.call("POST", "/api/collections/users/records", su, json=body)).status_code == 200
    return await c.sign_in("ann@example.com", "ann-password-1", "users")


# -- the import plan ------------------------------------------------------------------------------


async def test_import_plan_lists_creates_and_drops_and_applies_nothing(console: Console) -> None:
    su = await console.sign_in()
    assert (await console.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    assert (await console.call("POST", "/api/collections/posts/records", su, json={"title": "kept"})).status_code == 200
    export = [{"name": "notes", "type": "base", "fields": [{"name": "text", "type": "text"}]}]
    r = await console.call("POST", "/api/collections/import/plan", su, json={"collections": export})
    assert r.status_code == 200, r.text
    assert [(c["action"], c["collection"]) for c in r.json()["changes"]] == [("create", "notes")]
    # deleteMissing: posts (with a record) and users are dropped; posts' drop loses data
    r = await console.call(
        "POST", "/api/collections/import/plan", su, json={"collections": export, "deleteMissing": True}
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    drops = {c["collection"]: c["destructive"] for c in plan["changes"] if c["action"] == "drop"}
    assert drops == {"posts": True, "users": False} and plan["destructive"] is True
    # nothing was applied
    assert (await console.call("GET", "/api/collections/notes", su)).status_code == 404
    assert (await console.call("GET", "/api/collections/posts", su)).status_code == 200
    # the import itself does what the plan said, only with consent
    body = {"collections": export, "deleteMissing": True}
    assert (await console.call("PUT", "/api/collections/import", su, json=body)).status_code == 400
    r = await console.call("PUT", "/api/collections/import", su, json={**body, "acceptDataLoss": True})
    assert r.status_code == 204, r.text
    assert (await console.call("GET", "/api/collections/posts", su)).status_code == 404


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({}, "collections"),
        ({"collections": []}, "collections"),
        ({"collections": "posts"}, "collections"),
        ({"collections": [{"name": "x", "type": "nope"}]}, "collection"),
        ({"collections": [{"name": "bad name!", "type": "base"}]}, None),
    ],
    ids=["missing", "empty", "not a list", "unknown type", "bad name"],
)
async def test_import_plan_refuses_bad_input(console: Console, body: dict[str, Any], key: str | None) -> None:
    su = await console.sign_in()
    r = await console.call("POST", "/api/collections/import/plan", su, json=body)
    assert r.status_code == 400, r.text
    out = r.json()
    assert out["status"] == 400 and out["message"].startswith("Failed to import collections.")
    if key:
        assert key in out["data"]
    assert (await console.call("GET", "/api/collections/x", su)).status_code == 404


# -- the email preview ----------------------------------------------------------------------------


async def test_email_preview_renders_the_draft_with_sample_values(console: Console) -> None:
    su = await console.sign_in()
    body = {"kind": "otp", "subject": "Code for {RECORD:email}", "body": "<p>Your code: {OTP}</p>"}
    r = await console.call("POST", "/api/collections/users/email-preview", su, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["subject"] == "Code for user@example.com"
    assert "<p>Your code: 12345678</p>" in out["html"] and "12345678" in out["text"]
    # nothing saved, and no mail sent
    assert (await console.call("GET", "/api/collections/users", su)).json()["otp"] == {}
    # empty: the saved template, else PocketBase's default
    r = await console.call("POST", "/api/collections/users/email-preview", su, json={"kind": "verification"})
    assert r.status_code == 200 and r.json()["subject"].startswith("Verify your")
    assert "/_/#/auth/confirm-verification/SAMPLE.TOKEN.VALUE" in r.json()["html"]


async def test_email_preview_subject_is_text_in_the_page(console: Console) -> None:
    su = await console.sign_in()
    body = {"kind": "verification", "subject": HOSTILE, "body": "<b>{RECORD:name}</b>"}
    r = await console.call("POST", "/api/collections/users/email-preview", su, json=body)
    assert r.status_code == 200
    out = r.json()
    assert out["subject"] == HOSTILE  # the subject line is plain text …
    assert "<title>&lt;script&gt;" in out["html"] and "<script>" not in out["html"]  # … escaped in the HTML
    assert "<b>sample name</b>" in out["html"]  # {RECORD:…} gets a sample value


@pytest.mark.parametrize(
    ("collection", "body", "status", "key"),
    [
        ("users", {}, 400, "kind"),
        ("users", {"kind": "welcome"}, 400, "kind"),
        ("users", {"kind": "otp", "subject": 3}, 400, "subject"),
        ("users", {"kind": "otp", "body": ["x"]}, 400, "body"),
        ("posts", {"kind": "otp"}, 404, None),
        ("nothing", {"kind": "otp"}, 404, None),
    ],
    ids=["no kind", "unknown kind", "subject not text", "body not text", "not auth", "unknown collection"],
)
async def test_email_preview_refuses_bad_input(
    console: Console, collection: str, body: dict[str, Any], status: int, key: str | None
) -> None:
    su = await console.sign_in()
    assert (await console.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    r = await console.call("POST", f"/api/collections/{collection}/email-preview", su, json=body)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status
    if key:
        assert key in r.json()["data"]


# -- OAuth2 secrets: write-only -------------------------------------------------------------------


async def test_oauth2_secret_status_says_set_never_what(console: Console) -> None:
    su = await console.sign_in()
    providers = [
        {"name": "github", "clientId": "gh", "clientSecret": "gh-secret-value"},
        {"name": "google", "clientId": "g"},
    ]
    r = await console.call(
        "PATCH", "/api/collections/users", su, json={"oauth2": {"enabled": True, "providers": providers}}
    )
    assert r.status_code == 200, r.text
    assert "gh-secret-value" not in r.text
    r = await console.call("GET", "/api/collections/users/oauth2-secrets", su)
    assert r.status_code == 200 and r.json() == {"providers": {"github": True, "google": False}}
    assert "gh-secret-value" not in r.text
    # the console echoes the collection without secrets (an empty one): the stored secret stays
    shown = (await console.call("GET", "/api/collections/users", su)).json()["oauth2"]
    shown["providers"][0]["clientSecret"] = ""
    assert (await console.call("PATCH", "/api/collections/users", su, json={"oauth2": shown})).status_code == 200
    stored = console.engine.registry.get("users")
    assert stored is not None and stored.oauth2["providers"][0]["clientSecret"] == "gh-secret-value"


async def test_console_endpoints_are_for_superusers_only(console: Console) -> None:
    su = await console.sign_in()
    ann = await _user_token(console, su)
    calls = [
        ("GET", "/api/collections/users/oauth2-secrets", None),
        ("POST", "/api/collections/users/email-preview", {"kind": "otp"}),
        ("POST", "/api/collections/import/plan", {"collections": [POSTS]}),
    ]
    for method, url, body in calls:
        assert (await console.call(method, url, json=body)).status_code == 401, url
        r = await console.call(method, url, ann, json=body)
        assert r.status_code == 403 and r.json()["status"] == 403, url


async def test_a_user_cannot_read_secrets_through_the_collection(console: Console) -> None:
    su = await console.sign_in()
    ann = await _user_token(console, su)
    assert (await console.call("GET", "/api/collections/users", ann)).status_code == 403


# -- the auth options check on save ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"otp": {"enabled": True, "duration": 0}}, ("otp", "duration")),
        ({"otp": {"length": 2}}, ("otp", "length")),
        ({"otp": {"length": "eight"}}, ("otp", "length")),
        ({"mfa": {"duration": 10**9}}, ("mfa", "duration")),
        ({"mfa": {"rule": 5}}, ("mfa", "rule")),
        ({"authToken": {"duration": -1}}, ("authToken", "duration")),
        ({"fileToken": {"duration": 1.5}}, ("fileToken", "duration")),
        ({"passwordAuth": {"identityFields": ["nope"]}}, ("passwordAuth", "identityFields")),
        ({"verificationTemplate": {"subject": 1}}, ("verificationTemplate", "subject")),
        ({"otp": {"emailTemplate": "x"}}, ("otp", "emailTemplate")),
        ({"oauth2": {"providers": [{"name": "github"}]}}, ("oauth2", "providers", "0", "clientId")),
        ({"oauth2": {"providers": [{"name": "oidc", "clientId": "c"}]}}, ("oauth2", "providers", "0", "authURL")),
        (
            {"oauth2": {"providers": [{"name": "github", "clientId": "a"}, {"name": "github", "clientId": "b"}]}},
            ("oauth2", "providers", "1", "name"),
        ),
        ({"oauth2": {"providers": "github"}}, ("oauth2", "providers")),
    ],
)
async def test_bad_auth_options_are_refused_with_the_option_named(
    console: Console, options: dict[str, Any], path: tuple[str, ...]
) -> None:
    su = await console.sign_in()
    before = (await console.call("GET", "/api/collections/users", su)).json()
    r = await console.call("PATCH", "/api/collections/users", su, json=options)
    assert r.status_code == 400, r.text
    data = r.json()["data"]
    for key in path:
        data = data[key]
    assert data["code"].startswith("validation_")
    # nothing half-written; the plan answers the same
    assert (await console.call("GET", "/api/collections/users", su)).json() == before
    r = await console.call(
        "POST", "/api/collections/plan", su, json={"action": "update", "target": "users", "collection": options}
    )
    assert r.status_code == 400
    r = await console.call("POST", "/api/collections", su, json={"name": "members", "type": "auth", **options})
    assert r.status_code == 400 and (await console.call("GET", "/api/collections/members", su)).status_code == 404


async def test_good_auth_options_are_saved_as_sent(console: Console) -> None:
    su = await console.sign_in()
    options = {
        "passwordAuth": {"enabled": False, "identityFields": ["email"]},
        "otp": {"enabled": True, "duration": 300, "length": 6},
        "mfa": {"enabled": True, "duration": 900, "rule": "verified = true"},
        "authToken": {"duration": 3600},
        "fileToken": {"duration": 60},
        "resetPasswordTemplate": {"subject": "Reset", "body": "<p>{TOKEN}</p>"},
    }
    r = await console.call("PATCH", "/api/collections/users", su, json=options)
    assert r.status_code == 200, r.text
    for key, value in options.items():
        assert r.json()[key] == value
    methods = (await console.call("GET", "/api/collections/users/auth-methods")).json()
    assert methods["otp"] == {"enabled": True, "duration": 300} and methods["password"]["enabled"] is False


# -- views ----------------------------------------------------------------------------------------


async def test_view_plan_shows_the_derived_fields_and_a_changed_query_derives_them_again(console: Console) -> None:
    su = await console.sign_in()
    assert (await console.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    view = {"name": "titles", "type": "view", "listRule": "", "viewQuery": "SELECT id, title FROM posts"}
    r = await console.call("POST", "/api/collections/plan", su, json={"action": "create", "collection": view})
    assert r.status_code == 200, r.text
    assert r.json()["changes"][0]["fields"] == [{"name": "id", "type": "text"}, {"name": "title", "type": "text"}]
    r = await console.call("POST", "/api/collections", su, json=view)
    assert r.status_code == 200, r.text
    ids = {f["name"]: f["id"] for f in r.json()["fields"]}
    # the console sends the new query without fields: they follow it, ids kept by name
    r = await console.call(
        "PATCH", "/api/collections/titles", su, json={"viewQuery": "SELECT id, title, views FROM posts"}
    )
    assert r.status_code == 200, r.text
    fields = {f["name"]: f for f in r.json()["fields"]}
    assert fields["views"]["type"] == "number" and fields["title"]["id"] == ids["title"]
    assert (r.json()["createRule"], r.json()["updateRule"], r.json()["deleteRule"]) == (None, None, None)
    r = await console.call("PATCH", "/api/collections/titles", su, json={"viewQuery": "SELECT title FROM posts"})
    assert r.status_code == 400 and "viewQuery" in r.json()["data"]


async def test_a_change_that_breaks_a_view_names_the_view(console: Console) -> None:
    su = await console.sign_in()
    assert (await console.call("POST", "/api/collections", su, json=POSTS)).status_code == 200
    view = {"name": "titles", "type": "view", "viewQuery": "SELECT id, title FROM posts"}
    assert (await console.call("POST", "/api/collections", su, json=view)).status_code == 200
    fields = (await console.call("GET", "/api/collections/posts", su)).json()["fields"]
    for f in fields:
        if f["name"] == "title":
            f["name"] = "headline"
    body = {"action": "update", "target": "posts", "collection": {"fields": fields}}
    r = await console.call("POST", "/api/collections/plan", su, json=body)
    assert r.status_code == 400 and "View 'titles'" in r.json()["message"], r.text
    r = await console.call("PATCH", "/api/collections/posts", su, json={"fields": fields})
    assert r.status_code == 400 and "View 'titles'" in r.json()["message"], r.text
    names = [f["name"] for f in (await console.call("GET", "/api/collections/posts", su)).json()["fields"]]
    assert "title" in names and "headline" not in names
