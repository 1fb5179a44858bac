"""Standard Webhooks signatures (https://www.standardwebhooks.com/): ``webhook-signature`` is
``v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">``, one per key, separated
by spaces while a rotated-out key still signs."""

from __future__ import annotations

import base64
import hmac


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` with ``key``."""
    mac = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")  # OpenSSL's one-shot HMAC
    return "v1," + base64.b64encode(mac).decode()


def headers(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every key in ``keys`` (newest first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(k, msg_id, timestamp, body) for k in keys),
    }
