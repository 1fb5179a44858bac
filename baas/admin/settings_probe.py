"""The settings page's two tests, PocketBase's ``/api/settings/test/email`` and ``/test/s3``.

    await send_test_email(eng, {"email": "me@example.com", "template": "verification"})
    await test_s3(eng, {"filesystem": "storage"})                  # the stored s3 section
    await test_s3(eng, {"filesystem": "storage", "s3": {...}})      # unsaved values over it

The email is the collection's real template (PocketBase's default where it has none) filled with
test values, sent through the mailer the auth flows use: SMTP when ``smtp.enabled``, else the dev
mailbox under the data dir. The S3 test writes, reads back and deletes a small probe object in
the bucket with the same storage code the file fields use. Both raise `BadRequest`; their
messages name what failed and never carry a password or secret key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from typing import TYPE_CHECKING, Any

import aiosmtplib
import certifi
import urllib3
from minio.error import S3Error

from baas.auth import emails
from baas.errors import BadRequest, FieldError
from baas.files.blob import StorageError
from baas.files.s3 import S3Storage
from baas.files.storage import iter_bytes
from baas.schema.fields.email import EmailField
from baas.settings_store import check_s3, merge, without_empty_secret

if TYPE_CHECKING:
    from baas.core import Engine

# PocketBase's template names (the request's ``template``) -> ours (baas.auth.emails).
TEMPLATES: dict[str, str] = {
    "verification": "verification",
    "password-reset": "passwordReset",
    "email-change": "emailChange",
    "otp": "otp",
    "login-alert": "authAlert",
}
EMAIL_FAILED = "Failed to send the test email."
S3_FAILED = "Failed to test the S3 storage."
PROBE = b"baas settings test\n"
# What the store's error codes most often mean, added to the message.
HINTS: dict[str, str] = {
    "NoSuchBucket": " (the bucket does not exist: create it first)",
    "InvalidAccessKeyId": " (the access key is unknown to the store)",
    "SignatureDoesNotMatch": " (the secret key does not match the access key)",
    "AccessDenied": " (the key may not write, read, list or delete in this bucket)",
    "AuthorizationHeaderMalformed": " (check the region)",
    "PermanentRedirect": " (the bucket is in another region or needs another endpoint)",
}
# The probe's client gives up quickly: a "Test connection" button must answer, not hang on an
# endpoint that drops packets (minio's own default waits 5 minutes and retries 5 times).
PROBE_TIMEOUT = urllib3.Timeout(connect=5, read=20)
PROBE_DEADLINE = 60.0  # seconds for the whole write/read/delete round trip


def _invalid(message: str, key: str, code: str, text: str) -> BadRequest:
    return BadRequest(message, {key: {"code": code, "message": text}})


def _scrub(text: str, *secrets_: str) -> str:
    """``text`` with any of the secrets in it masked (a server's error could echo what it was sent)."""
    for secret in secrets_:
        if secret:
            text = text.replace(secret, "******")
    return text


# -- email ---------------------------------------------------------------------------------------
async def send_test_email(eng: Engine, body: dict[str, Any]) -> None:
    """Send the ``template`` mail of an auth ``collection`` (default ``_superusers``) to ``email``."""
    email, template, name = body.get("email"), body.get("template"), body.get("collection") or "_superusers"
    try:
        if not isinstance(email, str) or not email:
            raise FieldError("validation_required", "Cannot be blank.")
        EmailField(name="email").validate(email)
    except FieldError as err:
        raise _invalid(EMAIL_FAILED, "email", err.code, err.message) from None
    if not isinstance(template, str) or template not in TEMPLATES:
        raise _invalid(EMAIL_FAILED, "template", "validation_in_invalid", f"Must be one of {', '.join(TEMPLATES)}.")
    coll = eng.registry.get(name) if isinstance(name, str) else None
    if coll is None or coll.type != "auth":
        raise _invalid(
            EMAIL_FAILED,
            "collection",
            "validation_invalid_auth_collection",
            "Must be a valid auth collection id or name.",
        )
    # A made-up record, as PocketBase's test does: each shown field holds a marker naming it.
    record: dict[str, Any] = {f.name: f"__test_{f.name}__" for f in coll.fields if not f.hidden}
    record.update({"id": "__test_id__", "email": email})
    extra = {
        "{TOKEN}": "__test_token__",
        "{OTP}": "123456",
        "{OTP_ID}": "__test_otp_id__",
        "{ALERT_INFO}": "TEST_IP TEST_USER_AGENT",
    }
    settings = await eng.settings_store.load()
    msg = emails.render(coll, TEMPLATES[template], settings, record, email, extra)
    try:
        await eng.mailer.send(msg, settings)
    except (aiosmtplib.SMTPException, OSError) as exc:
        smtp = settings.get("smtp") or {}
        reason = _scrub(f"{type(exc).__name__}: {exc}", str(smtp.get("password") or ""))
        raise BadRequest(f"{EMAIL_FAILED} {reason}") from None


# -- S3 ------------------------------------------------------------------------------------------
async def test_s3(eng: Engine, body: dict[str, Any]) -> None:
    """Write, read back and delete a probe object with the S3 settings of ``filesystem``: the
    stored ``s3`` section (``storage``, files) or ``backups.s3`` (``backups``), with the body's
    ``s3`` (unsaved values; an empty secret keeps the stored one) merged over it."""
    filesystem = body.get("filesystem")
    if filesystem not in ("storage", "backups"):
        raise _invalid(S3_FAILED, "filesystem", "validation_in_invalid", 'Must be "storage" or "backups".')
    draft = body.get("s3")
    if draft is not None and not isinstance(draft, dict):
        raise _invalid(S3_FAILED, "s3", "validation_invalid_value", "Must be an object.")
    settings = await eng.settings_store.load()
    stored = (settings.get("s3") if filesystem == "storage" else (settings.get("backups") or {}).get("s3")) or {}
    s3 = merge(stored, without_empty_secret({"s3": draft})["s3"]) if draft else dict(stored)
    if draft is None and not s3.get("enabled"):
        raise BadRequest(f"{S3_FAILED} S3 storage is not enabled (send unsaved values in s3 to test them).")
    if problems := check_s3({**s3, "enabled": True}):
        raise BadRequest(S3_FAILED, {"s3": problems})
    # The same storage code as file fields, on a client with short timeouts and one retry.
    pool = urllib3.PoolManager(
        timeout=PROBE_TIMEOUT,
        retries=urllib3.Retry(total=1, backoff_factor=0.2),
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )
    try:
        storage = S3Storage.from_settings(s3, http_client=pool)
    except StorageError as exc:
        raise BadRequest(f"{S3_FAILED} {exc}") from None
    try:
        await asyncio.wait_for(_probe(storage), PROBE_DEADLINE)
    except TimeoutError:
        raise BadRequest(f"{S3_FAILED} No answer from {storage.endpoint} within {PROBE_DEADLINE:.0f} s.") from None
    except (StorageError, S3Error) as exc:
        cause = exc if isinstance(exc, S3Error) else exc.__cause__
        hint = HINTS.get(cause.code or "", "") if isinstance(cause, S3Error) else ""
        text = _scrub(f"{exc}{hint}", str(s3.get("secret") or ""))
        raise BadRequest(f"{S3_FAILED} {text}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise BadRequest(f"{S3_FAILED} Cannot reach {storage.endpoint} ({type(exc).__name__}).") from None
    finally:
        await storage.close()


async def _probe(storage: S3Storage) -> None:
    # A top-level key, and a prefix without "/": moto's signature check (the S3 used by the tests)
    # mis-encodes a "/" in a list request's prefix; real stores accept both.
    prefix = f"baas_settings_test_{secrets.token_hex(4)}"
    key = prefix + ".txt"
    await storage.put(key, iter_bytes(PROBE), content_type="text/plain")
    try:
        blob = await storage.open(key)
        try:
            got = b"".join([chunk async for chunk in blob])
        finally:
            await blob.aclose()
        if got != PROBE:
            raise StorageError(f"the probe object read back differs from what was written ({len(got)} bytes)")
    finally:
        # delete_prefix lists then deletes: both permissions are checked, as file deletes need them.
        try:
            await storage.delete_prefix(prefix)
        except (StorageError, S3Error):
            with contextlib.suppress(StorageError, S3Error):
                await storage.delete(key)  # no list permission: still leave no probe behind
            raise
    if await storage.exists(key):
        raise StorageError("the probe object is still there after its delete")
