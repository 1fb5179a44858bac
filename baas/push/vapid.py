"""The install's VAPID key pair (RFC 8292) and the ``Authorization: vapid`` header it signs.

One P-256 key pair per install, made on first use and kept in ``_params`` (id ``pushVapid``): the
public key in the clear (browsers subscribe with it as ``applicationServerKey``), the private key
sealed under the install secret, so a database dump alone cannot sign push messages. Every node of
a PostgreSQL cluster reads the same pair: the first to make one wins, the others read it back.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baas.auth.totp import seal, unseal
from baas.db import Database
from baas.ids import now_str

PARAM = "pushVapid"
JWT_LIFETIME = 12 * 3600  # seconds; RFC 8292 allows at most 24 hours


def b64url(data: bytes) -> str:
    """Unpadded base64url, as Web Push writes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding (``ValueError`` if it is not base64url)."""
    if not isinstance(text, str) or not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Vapid:
    """The key pair: ``public`` is the uncompressed point, base64url (what browsers are given)."""

    private: ec.EllipticCurvePrivateKey
    public: str

    def header(self, endpoint: str, subject: str) -> str:
        """The ``Authorization`` header for a request to ``endpoint``: a JWT for its origin."""
        parts = urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int(time.time()) + JWT_LIFETIME, "sub": subject}
        token = jwt.encode(claims, self.private, algorithm="ES256")
        return f"vapid t={token}, k={self.public}"


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """A P-256 public key as the 65-byte uncompressed point."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _pair(private: ec.EllipticCurvePrivateKey) -> Vapid:
    return Vapid(private, b64url(public_bytes(private.public_key())))


async def load(db: Database, install_secret: str) -> Vapid:
    """The install's key pair, made and stored on first use."""
    raw = await db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', [PARAM])
    if raw is None:
        made = ec.generate_private_key(ec.SECP256R1())
        pem = made.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        value = json.dumps({"public": _pair(made).public, "private": seal(install_secret, pem, PARAM)})
        # Another process or node may make one at the same moment: the first stored wins.
        await db.write(
            lambda c: c.execute(
                'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?) ON CONFLICT ("id") DO NOTHING',
                [PARAM, value, now_str()],
            )
        )
        raw = await db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', [PARAM])
    stored = json.loads(raw)
    plain = unseal(install_secret, stored["private"], PARAM)
    if plain is None:
        raise RuntimeError("the VAPID key was sealed under another install secret (BAAS_SECRET changed?)")
    private = serialization.load_pem_private_key(plain.encode(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return _pair(private)
