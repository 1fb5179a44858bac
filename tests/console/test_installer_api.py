"""``/api/installer``: the first superuser is created only with a valid installer token and only
while no superuser exists; every refusal leaves the database as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from baas.admin.installer import issue_installer_token
from baas.auth import tokens
from tests.harness import SU, Console

GOOD = {"email": "first@example.com", "password": "first-password-1", "passwordConfirm": "first-password-1"}

# name -> token made from the engine (None: no token sent)
BAD_TOKENS: dict[str, Callable[[Any], str | None]] = {
    "no token": lambda eng: None,
    "garbage": lambda eng: "not-a-jwt",
    "signed with another secret": lambda eng: issue_installer_token("another-secret-of-a-sufficient-length-xx"),
    "expired": lambda eng: issue_installer_token(eng.secret, duration=-60),
    "an auth token shape of another kind": lambda eng: tokens.issue(
        eng.secret, {"id": "installer"}, "_superusers", "installer", 600, kind="auth"
    ),
    "installer claims signed as a record token": lambda eng: tokens.issue(
        eng.secret, {"id": "installer"}, "_superusers", "", 600, kind="installer"
    ),
}


async def test_status_says_whether_a_superuser_exists(fresh: Console) -> None:
    r = await fresh.call("GET", "/api/installer")
    assert r.status_code == 200 and r.json() == {"superuserExists": False}
    r = await fresh.call("POST", "/api/installer", json={**GOOD, "token": issue_installer_token(fresh.engine.secret)})
    assert r.status_code == 204, r.text
    assert (await fresh.call("GET", "/api/installer")).json() == {"superuserExists": True}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_create_is_refused_without_a_valid_installer_token(fresh: Console, case: str) -> None:
    token = BAD_TOKENS[case](fresh.engine)
    r = await fresh.call("POST", "/api/installer", json={**GOOD, **({"token": token} if token is not None else {})})
    assert r.status_code == 401, r.text
    assert r.json()["status"] == 401 and "installer token" in r.json()["message"]
    assert await fresh.superusers() == 0


async def test_valid_token_creates_a_superuser_who_can_sign_in(fresh: Console) -> None:
    token = issue_installer_token(fresh.engine.secret)
    r = await fresh.call("POST", "/api/installer", json={**GOOD, "token": token})
    assert r.status_code == 204, r.text
    su = await fresh.sign_in(GOOD["email"], GOOD["password"])
    r = await fresh.call("GET", "/api/collections", su)
    assert r.status_code == 200
    # The token itself never signs anything in: it is not an auth token.
    assert (await fresh.call("GET", "/api/collections", token)).status_code == 401


async def test_token_in_authorization_header_works_too(fresh: Console) -> None:
    r = await fresh.call("POST", "/api/installer", issue_installer_token(fresh.engine.secret), json=GOOD)
    assert r.status_code == 204, r.text
    assert await fresh.superusers() == 1


async def test_create_is_refused_once_a_superuser_exists(console: Console) -> None:
    token = issue_installer_token(console.engine.secret)
    r = await console.call("POST", "/api/installer", json={**GOOD, "token": token})
    assert r.status_code == 400 and r.json()["message"].startswith("A superuser already exists"), r.text
    assert await console.superusers() == 1
    r = await console.client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": GOOD["email"], "password": GOOD["password"]},
    )
    assert r.status_code == 400  # nobody was created
    await console.sign_in(*SU)


async def test_used_link_is_spent(fresh: Console) -> None:
    token = issue_installer_token(fresh.engine.secret)
    assert (await fresh.call("POST", "/api/installer", json={**GOOD, "token": token})).status_code == 204
    again = {**GOOD, "email": "second@example.com", "token": token}
    r = await fresh.call("POST", "/api/installer", json=again)
    assert r.status_code == 400, r.text
    assert await fresh.superusers() == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "validation_is_email"),
        ({"password": "short", "passwordConfirm": "short"}, "password", "validation_min_text_constraint"),
        ({"passwordConfirm": "something-else-1"}, "passwordConfirm", "validation_values_mismatch"),
        ({"email": ""}, "email", "validation_required"),
    ],
    ids=["bad email", "short password", "confirmation differs", "no email"],
)
async def test_invalid_superuser_is_a_field_error_and_creates_nothing(
    fresh: Console, body: dict, field: str, code: str
) -> None:
    token = issue_installer_token(fresh.engine.secret)
    r = await fresh.call("POST", "/api/installer", json={**GOOD, **body, "token": token})
    assert r.status_code == 400, r.text
    assert r.json()["data"][field]["code"] == code, r.text
    assert await fresh.superusers() == 0
