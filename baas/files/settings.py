"""The ``s3`` settings section (PocketBase's shape), its checks and how it is shown.

    "s3": {"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "",
           "secret": "", "forcePathStyle": false}

As in PocketBase the ``secret`` is write-only: ``GET /api/settings`` leaves it out, and a PATCH
that sends it empty (or not at all) keeps the stored one.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

S3_DEFAULTS: dict[str, Any] = {"enabled": False, "bucket": "", "region": "", "endpoint": "", "accessKey": "",
                               "secret": "", "forcePathStyle": False}
_REQUIRED = ("bucket", "region", "endpoint", "accessKey", "secret")


def check_s3(s3: Any) -> dict[str, Any]:
    """Field errors of an enabled ``s3`` section (PocketBase requires every field then)."""
    if not isinstance(s3, dict) or not s3.get("enabled"):
        return {}
    errors: dict[str, Any] = {}
    for key in _REQUIRED:
        if not isinstance(s3.get(key), str) or not s3[key].strip():
            errors[key] = {"code": "validation_required", "message": "Cannot be blank."}
    endpoint = s3.get("endpoint")
    if "endpoint" not in errors and isinstance(endpoint, str):
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
            errors["endpoint"] = {"code": "validation_invalid_url",
                                  "message": "Must be a URL such as https://s3.example.com (no path)."}
    return errors


def without_empty_secret(body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body with an empty ``s3.secret`` dropped, so the stored secret is kept."""
    s3 = body.get("s3")
    if isinstance(s3, dict) and s3.get("secret") in ("", None):
        body = {**body, "s3": {k: v for k, v in s3.items() if k != "secret"}}
    return body


def public(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them: the S3 secret left out, as PocketBase does."""
    out = copy.copy(settings)
    if isinstance(out.get("s3"), dict):
        out["s3"] = {k: v for k, v in out["s3"].items() if k != "secret"}
    return out
