"""The auth emails: PocketBase's default templates, its ``{PLACEHOLDER}`` syntax, a Jinja2 layout.

A collection's template options (``verificationTemplate``, ``resetPasswordTemplate``,
``confirmEmailChangeTemplate``, ``otp.emailTemplate``, ``authAlert.emailTemplate``) are
``{"subject": …, "body": …}`` with PocketBase's placeholders, replaced as plain text as PocketBase
does, so exported PocketBase collections send the same mails:

    {APP_NAME} {APP_URL} {TOKEN} {OTP} {OTP_ID} {ALERT_INFO} {RECORD:fieldName}

The body is HTML written by a superuser and trusted as such; every value put into it is
HTML-escaped. The result is wrapped in a Jinja2 layout (autoescaped), and the body itself is never
evaluated as a Jinja2 template, so a value or a template cannot run template code.
"""

from __future__ import annotations

import html
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from baas.auth.mail import Message, html_to_text
from baas.schema.model import Collection

_SIGNATURE = "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "verification": {
        "subject": "Verify your {APP_NAME} email",
        "body": "<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n"
        "<p>Click on the button below to verify your email address.</p>\n<p>\n"
        '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" '
        'rel="noopener">Verify</a>\n</p>\n'
        "<p><i>If you didn't recently register, please ignore this email.</i></p>\n" + _SIGNATURE,
    },
    "passwordReset": {
        "subject": "Reset your {APP_NAME} password",
        "body": "<p>Hello,</p>\n<p>Click on the button below to reset your password.</p>\n<p>\n"
        '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" '
        'rel="noopener">Reset password</a>\n</p>\n'
        "<p><i>If you didn't ask to reset your password, please ignore this email.</i></p>\n" + _SIGNATURE,
    },
    "emailChange": {
        "subject": "Confirm your {APP_NAME} new email address",
        "body": "<p>Hello,</p>\n<p>Click on the button below to confirm your new email address.</p>\n<p>\n"
        '  <a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" '
        'rel="noopener">Confirm new email</a>\n</p>\n'
        "<p><i>If you didn't ask to change your email address, please ignore this email.</i></p>\n" + _SIGNATURE,
    },
    "otp": {
        "subject": "OTP for {APP_NAME}",
        "body": "<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n"
        "<p><i>If you didn't ask for the one-time password, you can ignore this email.</i></p>\n" + _SIGNATURE,
    },
    "authAlert": {
        "subject": "Login from a new location",
        "body": "<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location:</p>\n"
        "<p><em>{ALERT_INFO}</em></p>\n<p><strong>If this wasn't you, you should immediately change your "
        "{APP_NAME} account password to revoke access from all other locations.</strong></p>\n"
        "<p>If this was you, you may disregard this email.</p>\n" + _SIGNATURE,
    },
}

_LAYOUT = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
<title>{{ subject }}</title>
<style>
body, html { padding: 0; margin: 0; color: #16161a; background: #fff; font-size: 14px; line-height: 20px;
  font-family: sans-serif; }
body { padding: 20px 30px; }
p { margin: 10px 0; }
.btn { display: inline-block; color: #fff !important; background: #16161a !important; text-decoration: none;
  line-height: 40px; min-width: 150px; text-align: center; padding: 0 20px; margin: 5px 0; font-weight: bold;
  border-radius: 6px; }
</style>
</head>
<body>
{{ content }}
</body>
</html>
"""

_env = Environment(autoescape=True, keep_trailing_newline=True)
_layout = _env.from_string(_LAYOUT)


def template_of(coll: Collection, kind: str) -> dict[str, str]:
    """The collection's ``{subject, body}`` for ``kind``, PocketBase's default where it has none."""
    if kind == "otp":
        custom = (coll.otp or {}).get("emailTemplate")
    elif kind == "authAlert":
        custom = (coll.authAlert or {}).get("emailTemplate")
    else:
        custom = {
            "verification": coll.verificationTemplate,
            "passwordReset": coll.resetPasswordTemplate,
            "emailChange": coll.confirmEmailChangeTemplate,
        }[kind]
    default = DEFAULT_TEMPLATES[kind]
    custom = custom if isinstance(custom, dict) else {}
    return {
        "subject": str(custom.get("subject") or default["subject"]),
        "body": str(custom.get("body") or default["body"]),
    }


def _replace(text: str, values: dict[str, str], escape: bool) -> str:
    for key, value in values.items():
        if key in text:
            text = text.replace(key, html.escape(value) if escape else value)
    return text


def placeholders(
    settings: dict[str, Any], coll: Collection, record: dict[str, Any], extra: dict[str, str] | None = None
) -> dict[str, str]:
    """``{APP_NAME}``, ``{APP_URL}``, ``{RECORD:field}`` (hidden fields left out) and ``extra``."""
    meta = settings.get("meta") or {}
    values = {"{APP_NAME}": str(meta.get("appName") or ""), "{APP_URL}": str(meta.get("appURL") or "").rstrip("/")}
    for f in coll.fields:
        if f.hidden or f.type == "password" or f.name == "tokenKey":
            continue
        value = record.get(f.name)
        values[f"{{RECORD:{f.name}}}"] = (
            ""
            if value is None
            else (value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value))
        )
    values.update(extra or {})
    return values


def render(
    coll: Collection,
    kind: str,
    settings: dict[str, Any],
    record: dict[str, Any],
    to: str,
    extra: dict[str, str] | None = None,
) -> Message:
    """The message of ``kind`` (verification, passwordReset, emailChange, otp, authAlert) to ``to``."""
    tpl = template_of(coll, kind)
    values = placeholders(settings, coll, record, extra)
    subject = " ".join(_replace(tpl["subject"], values, escape=False).split())
    content = _replace(tpl["body"], values, escape=True)
    body = _layout.render(subject=subject, content=Markup(content))
    return Message(to=[to], subject=subject, html=body, text=html_to_text(content), kind=kind)
