"""An auth collection's options as the console edits them: which OAuth2 client secrets are set
(the collections API never answers them), a preview of each auth email rendered with sample
values, and a check of the option values PocketBase also refuses.

The preview renders through the very code that sends the mails (`baas.auth.emails.render`), with
the draft's subject and body, so what the console shows is what a user would get. Its values are
samples: no token, code or record is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from baas.auth import emails
from baas.errors import BadRequest, NotFound
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

# The template kinds: the names `emails.render` takes, and the option each one is stored under.
EMAIL_KINDS = {
    "verification": "verificationTemplate",
    "passwordReset": "resetPasswordTemplate",
    "emailChange": "confirmEmailChangeTemplate",
    "otp": "otp.emailTemplate",
    "authAlert": "authAlert.emailTemplate",
}
_SAMPLES = {
    "{TOKEN}": "SAMPLE.TOKEN.VALUE",
    "{OTP}": "12345678",
    "{OTP_ID}": "sampleotpid0001",
    "{ALERT_INFO}": "Firefox on Linux, 203.0.113.7",
}
PREVIEW_MESSAGE = "Failed to render the email preview."
# PocketBase's bounds (seconds): OTP/MFA sessions up to a day, tokens up to about three years.
_SESSION = (10, 86400)
_TOKEN = (10, 94670856)
_TOKENS = ("authToken", "verificationToken", "passwordResetToken", "emailChangeToken", "fileToken")
_TEMPLATES = ("verificationTemplate", "resetPasswordTemplate", "confirmEmailChangeTemplate")


def auth_collection(eng: Engine, name_or_id: str) -> Collection:
    """The applied auth collection ``name_or_id``; else 404 as the auth endpoints answer it."""
    coll = eng.registry.get(name_or_id)
    if coll is None or coll.type != "auth":
        raise NotFound("Missing or invalid auth collection context.")
    return coll


def secret_status(coll: Collection) -> dict[str, bool]:
    """Per OAuth2 provider name: whether a client secret is stored (the secret itself never leaves)."""
    providers = (coll.oauth2 or {}).get("providers") or []
    return {
        str(p.get("name")): bool(p.get("clientSecret"))
        for p in providers
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    }


def _sample_record(coll: Collection) -> dict[str, Any]:
    """Plausible values for ``{RECORD:field}``: what a field of each kind could hold."""
    out: dict[str, Any] = {}
    for f in coll.fields:
        if f.name == "id":
            out["id"] = "abc123def456ghi"
        elif f.name == "email" or f.type == "email":
            out[f.name] = "user@example.com"
        elif f.type == "bool":
            out[f.name] = True
        elif f.type == "number":
            out[f.name] = 42
        elif f.type in ("text", "editor", "url"):
            out[f.name] = f"sample {f.name}"
        elif f.type in ("date", "autodate"):
            out[f.name] = "2026-01-31 12:00:00.000Z"
    return out


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(PREVIEW_MESSAGE, {key: {"code": "validation_invalid_value", "message": "Must be a string."}})
    return value


async def email_preview(eng: Engine, coll: Collection, body: dict[str, Any]) -> dict[str, str]:
    """``{subject, html, text}`` of the ``kind`` mail of ``coll`` with the body's draft
    ``subject``/``body`` (the saved template, or PocketBase's default, where they are empty)."""
    kind = body.get("kind")
    if kind not in EMAIL_KINDS:
        raise BadRequest(
            PREVIEW_MESSAGE,
            {"kind": {"code": "validation_in_invalid", "message": "Must be one of " + ", ".join(EMAIL_KINDS) + "."}},
        )
    subject, text = _text(body, "subject"), _text(body, "body")
    draft = {"subject": subject or "", "body": text or ""}
    option = EMAIL_KINDS[kind]
    if "." in option:  # otp.emailTemplate, authAlert.emailTemplate: inside another option
        parent, key = option.split(".")
        coll_draft = msgspec.structs.replace(coll, **{parent: {**getattr(coll, parent), key: draft}})
    else:
        coll_draft = msgspec.structs.replace(coll, **{option: draft})
    settings = await eng.settings_store.load()
    msg = emails.render(coll_draft, kind, settings, _sample_record(coll), "user@example.com", dict(_SAMPLES))
    return {"subject": msg.subject, "html": msg.html, "text": msg.text}


# -- checking the options --------------------------------------------------------------------------


def _err(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _int_in(value: Any, low: int, high: int) -> dict[str, Any] | None:
    if value is None:
        return None  # not set: the server's default applies
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        return _err("validation_invalid_value", "Must be a whole number.")
    if value < low or value > high:
        return _err("validation_out_of_range", f"Must be between {low} and {high}.")
    return None


def check_options(coll: Collection) -> dict[str, Any]:
    """Errors (PocketBase's ``data`` shape) in the auth options of ``coll``: numbers out of
    PocketBase's ranges, identity fields that are not fields, templates that are not text, OAuth2
    providers without a name or client id. Values left out are fine (defaults apply)."""
    if coll.type != "auth":
        return {}
    errors: dict[str, Any] = {}
    for option, key, err in [*_session_errors(coll), *_template_errors(coll)]:
        if err:
            errors.setdefault(option, {})[key] = err
    providers = _providers_errors((coll.oauth2 or {}).get("providers"))
    if providers:
        errors.setdefault("oauth2", {})["providers"] = providers
    return errors


Found = list[tuple[str, str, "dict[str, Any] | None"]]


def _session_errors(coll: Collection) -> Found:
    """OTP, MFA, token durations and the password sign-in's identity fields."""
    out: Found = []
    for option in ("otp", "mfa"):
        opt = getattr(coll, option) or {}
        out.append((option, "duration", _int_in(opt.get("duration"), *_SESSION)))
        if "enabled" in opt and not isinstance(opt["enabled"], bool):
            out.append((option, "enabled", _err("validation_invalid_value", "Must be true or false.")))
    out.append(("otp", "length", _int_in((coll.otp or {}).get("length"), 4, 64)))
    rule = (coll.mfa or {}).get("rule")
    if rule is not None and not isinstance(rule, str):
        out.append(("mfa", "rule", _err("validation_invalid_value", "Must be a string.")))
    for option in _TOKENS:
        out.append((option, "duration", _int_in((getattr(coll, option) or {}).get("duration"), *_TOKEN)))
    identity = (coll.passwordAuth or {}).get("identityFields")
    names = {f.name for f in coll.fields}
    if identity is not None and (
        not isinstance(identity, list) or any(not isinstance(n, str) or n not in names for n in identity)
    ):
        out.append(
            ("passwordAuth", "identityFields", _err("validation_invalid_value", "Must name fields of the collection."))
        )
    return out


def _template_errors(coll: Collection) -> Found:
    """The templates' subject and body must be text; otp/authAlert hold theirs in ``emailTemplate``."""
    out: Found = []
    for option in _TEMPLATES:
        for key in ("subject", "body"):
            out.append((option, key, _template_error(getattr(coll, option), key)))
    for option in ("otp", "authAlert"):
        tpl = (getattr(coll, option) or {}).get("emailTemplate")
        if tpl is None:
            continue
        if not isinstance(tpl, dict):
            out.append((option, "emailTemplate", _err("validation_invalid_value", "Must be an object.")))
            continue
        inner = {k: e for k in ("subject", "body") if (e := _template_error(tpl, k))}
        out.append((option, "emailTemplate", inner or None))
    return out


def _providers_errors(providers: Any) -> dict[str, Any] | None:
    if providers is None:
        return None
    if not isinstance(providers, list):
        return _err("validation_invalid_value", "Must be a list.")
    out: dict[str, Any] = {}
    for i, p in enumerate(providers):
        perr = _provider_error(p, [q.get("name") for q in providers[:i] if isinstance(q, dict)])
        if perr:
            out[str(i)] = perr
    return out or None


def _template_error(tpl: Any, key: str) -> dict[str, Any] | None:
    value = tpl.get(key) if isinstance(tpl, dict) else None
    if value is not None and not isinstance(value, str):
        return _err("validation_invalid_value", "Must be text.")
    return None


def _provider_error(p: Any, before: list[Any]) -> dict[str, Any] | None:
    if not isinstance(p, dict):
        return {"name": _err("validation_invalid_value", "Must be an object.")}
    out: dict[str, Any] = {}
    name = p.get("name")
    if not isinstance(name, str) or not name:
        out["name"] = _err("validation_required", "Cannot be blank.")
    elif name in before:
        out["name"] = _err("validation_duplicated_provider", "The provider is listed twice.")
    if not isinstance(p.get("clientId"), str) or not p.get("clientId"):
        out["clientId"] = _err("validation_required", "Cannot be blank.")
    for key in ("clientSecret", "authURL", "tokenURL", "userInfoURL", "displayName"):
        if p.get(key) is not None and not isinstance(p.get(key), str):
            out[key] = _err("validation_invalid_value", "Must be text.")
    if isinstance(name, str) and name.startswith("oidc"):  # no defaults to fall back to
        for key in ("authURL", "tokenURL"):
            if not p.get(key):
                out[key] = _err("validation_required", "An OpenID Connect provider needs this URL.")
    return out or None


def refuse_bad_options(coll: Collection, message: str) -> None:
    """A 400 with ``message`` naming each bad auth option of ``coll``."""
    errors = check_options(coll)
    if errors:
        raise BadRequest(message, errors)
