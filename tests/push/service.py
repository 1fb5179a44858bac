"""A local push service for the push tests: ``http.server`` in a thread that keeps every request,
answers as told, and the device side of Web Push written here from the RFCs with ``cryptography``
alone — a subscription's key pair, the aes128gcm decode (RFC 8188 with RFC 8291's key derivation)
and the VAPID check (RFC 8292: an ES256 JWT for the endpoint's origin) — so that a test proves
what baas sent can be read by a device, without the library that encrypted it."""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.servers import free_port


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 with SHA-256, one expand block (every length here is at most 32)."""
    prk = _hmac(salt, ikm)
    return _hmac(prk, info + b"\x01")[:length]


@dataclass
class Device:
    """A browser's side of one subscription: its ECDH key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def keys(self) -> dict[str, str]:
        return {"p256dh": b64u(self.public), "auth": b64u(self.auth)}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8188 §2 header (salt, rs, idlen, keyid = the sender's public key), RFC 8291 §3.4 keys."""
        salt, rs, idlen = body[:16], struct.unpack("!I", body[16:20])[0], body[20]
        sender = body[21 : 21 + idlen]
        records = body[21 + idlen :]
        assert idlen == 65 and sender[0] == 4, "keyid must be the sender's uncompressed P-256 key"
        assert rs >= 18
        shared = self.key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender))
        ikm = _hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + sender, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        out = b""
        chunks = [records[i : i + rs] for i in range(0, len(records), rs)]
        for seq, chunk in enumerate(chunks):
            iv = nonce[:4] + struct.pack("!Q", int.from_bytes(nonce[4:], "big") ^ seq)
            plain = AESGCM(cek).decrypt(iv, chunk, None)
            plain = plain.rstrip(b"\x00")  # padding, then the delimiter: 2 on the last record, 1 before
            last = seq == len(chunks) - 1
            assert plain[-1:] == (b"\x02" if last else b"\x01"), "bad record delimiter"
            out += plain[:-1]
        return out


def check_vapid(authorization: str, endpoint_origin: str, public_key: str) -> dict[str, Any]:
    """The claims of a ``vapid t=…, k=…`` header after checking it: ``k`` is ``public_key``, the
    JWT is ES256 signed by it, for ``endpoint_origin``, expiring within 24 hours, with a ``sub``."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    head_b64, claims_b64, sig_b64 = parts["t"].split(".")
    head = json.loads(unb64u(head_b64))
    assert head["alg"] == "ES256", head
    sig = unb64u(sig_b64)
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(public_key))
    key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(unb64u(claims_b64))
    assert claims["aud"] == endpoint_origin, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith(("mailto:", "https:")), claims
    return dict(claims)


@dataclass
class Pushed:
    path: str
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str]]


@dataclass
class PushService:
    """Keeps what arrives; ``answer(path)`` gives (status, headers), default 201 as push services do."""

    answer: Callable[[str], Reply] = lambda path: (201, {})
    received: list[Pushed] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def got(self, path_suffix: str) -> list[Pushed]:
        with self._lock:
            return [p for p in self.received if p.path.endswith(path_suffix)]

    def start(self) -> PushService:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner._lock:
                    owner.received.append(Pushed(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = owner.answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
