"""Stripe-scheme signing for the inbound webhook tests, written from Stripe's documentation ("Verify
the signature manually"), not with baas's code: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the endpoint secret>``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

SECRET = "whsec_recipe_test_secret_0123456789"  # the recipe test's endpoint secret (the default below)


def stripe_signed(payload: dict, secret: str = SECRET, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A body and the header Stripe would send (its docs: "Verify the signature manually")."""
    body = json.dumps(payload).encode()
    t = str(int(time.time()) if at is None else at)
    sig = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}
