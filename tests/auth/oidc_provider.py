"""A small, real OAuth2 / OpenID Connect provider for tests, served on 127.0.0.1 in a thread.

    with OIDCProvider() as idp:                     # idp.url == "http://127.0.0.1:PORT"
        idp.add_client("cid", "csecret")
        code, state = idp.authorize(auth_url + redirect_url)   # follows the authorize URL once

What it does, as real providers do:

- ``/.well-known/openid-configuration``: the discovery document.
- ``/authorize``: checks the client and the redirect URI, auto-approves ``idp.user`` and redirects
  to ``redirect_uri?code=…&state=…`` (the code remembers the PKCE challenge and the redirect URI).
- ``/token``: ``authorization_code`` grant; client authentication by HTTP Basic or in the body
  (``client_secret_basic``/``client_secret_post``, per client), the same ``redirect_uri``, the PKCE
  ``code_verifier`` (S256 and plain), single-use codes that expire after ``code_ttl`` seconds.
  Answers an access token, a refresh token and an RS256 ``id_token`` signed with the JWKS key.
- User info in each vendor's own shape, at its own path: ``/userinfo`` (OIDC), ``/google/userinfo``
  (Google v3), ``/github/user`` and ``/github/user/emails``, ``/gitlab/user``, ``/microsoft/me``,
  ``/discord/users/@me``. All need the bearer access token.
- ``/jwks``: the public key.

Knobs for failure tests: ``token_delay`` (seconds the token endpoint sleeps), ``fail`` (path ->
(status, body) answered instead of the real thing), ``code_ttl``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_USER: dict[str, Any] = {
    "sub": "u-1001",
    "numeric_id": 1001,
    "name": "Ada Lovelace",
    "username": "ada",
    "email": "ada@example.com",
    "email_verified": True,
    "picture": "https://images.example.com/ada.png",
}


@dataclass
class Client:
    client_id: str
    secret: str
    # "any", "basic" (client_secret_basic only) or "post" (client_secret_post only)
    auth_method: str = "any"
    # the id_token's iss for this client (Apple's tokens say https://appleid.apple.com)
    issuer: str = ""


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    challenge_method: str
    scope: str
    nonce: str
    user: dict[str, Any]
    expires: float
    used: bool = False


@dataclass
class Issued:
    client_id: str
    user: dict[str, Any]
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n: int) -> str:
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@dataclass
class OIDCProvider:
    """The provider's state; ``start()`` serves it, ``stop()`` shuts it down."""

    user: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_USER))
    code_ttl: float = 60.0
    token_ttl: int = 3600
    token_delay: float = 0.0
    fail: dict[str, tuple[int, Any]] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-" + secrets.token_hex(4)
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Issued] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> OIDCProvider:
        provider = self

        class Handler(_Handler):
            idp = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, *, auth_method: str = "any", issuer: str = "") -> Client:
        client = Client(client_id, secret, auth_method, issuer)
        self.clients[client_id] = client
        return client

    def authorize(self, url: str) -> tuple[str, str]:
        """Open an authorize URL the way a browser would and return the (code, state) the
        provider redirects with; fails the test on an error redirect or page."""
        r = httpx.get(url, follow_redirects=False, timeout=10)
        assert r.status_code == 302, f"authorize answered {r.status_code}: {r.text}"
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert "code" in query, f"authorize redirected with an error: {r.headers['location']}"
        return query["code"][0], query.get("state", [""])[0]

    def jwks(self) -> dict[str, Any]:
        pub = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": "RS256",
                    "n": _int_b64(pub.n),
                    "e": _int_b64(pub.e),
                }
            ]
        }

    def id_token(self, client: Client, user: dict[str, Any], nonce: str = "", **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": client.issuer or self.url,
            "sub": user["sub"],
            "aud": client.client_id,
            "iat": now,
            "exp": now + 300,
            "email": user.get("email", ""),
            "email_verified": user.get("email_verified", False),
            "name": user.get("name", ""),
            "preferred_username": user.get("username", ""),
            "picture": user.get("picture", ""),
        }
        if nonce:
            claims["nonce"] = nonce
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def discovery(self) -> dict[str, Any]:
        u = self.url
        return {
            "issuer": u,
            "authorization_endpoint": f"{u}/authorize",
            "token_endpoint": f"{u}/token",
            "userinfo_endpoint": f"{u}/userinfo",
            "jwks_uri": f"{u}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    # -- user info in each vendor's shape -----------------------------------------------------

    def user_shape(self, path: str, user: dict[str, Any]) -> Any:
        email, verified = user.get("email", ""), bool(user.get("email_verified"))
        if path in ("/userinfo", "/google/userinfo"):
            return {
                "sub": user["sub"],
                "name": user.get("name", ""),
                "preferred_username": user.get("username", ""),
                "picture": user.get("picture", ""),
                "email": email,
                "email_verified": verified,
            }
        if path == "/github/user":
            # GitHub shows only a public email; a private one comes from /user/emails
            return {
                "id": user["numeric_id"],
                "login": user.get("username", ""),
                "name": user.get("name", ""),
                "email": user.get("public_email"),
                "avatar_url": user.get("picture", ""),
            }
        if path == "/github/user/emails":
            return [
                {"email": "old@example.com", "verified": True, "primary": False},
                {"email": email, "verified": verified, "primary": True},
            ]
        if path == "/gitlab/user":
            return {
                "id": user["numeric_id"],
                "username": user.get("username", ""),
                "name": user.get("name", ""),
                "email": email,
                "avatar_url": user.get("picture", ""),
            }
        if path == "/microsoft/me":
            return {"id": user["sub"], "displayName": user.get("name", ""), "mail": email}
        if path == "/discord/users/@me":
            return {
                "id": user["sub"],
                "username": user.get("username", ""),
                "discriminator": "0",
                "avatar": "abc123",
                "email": email,
                "verified": verified,
            }
        return None


USER_PATHS = (
    "/userinfo",
    "/google/userinfo",
    "/github/user",
    "/github/user/emails",
    "/gitlab/user",
    "/microsoft/me",
    "/discord/users/@me",
)


class _Handler(BaseHTTPRequestHandler):
    idp: OIDCProvider

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test): nothing to answer

    def _error(self, status: int, error: str, description: str) -> None:
        self._send(status, {"error": error, "error_description": description})

    def _path(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query)

    def _failed(self, path: str) -> bool:
        if path in self.idp.fail:
            status, body = self.idp.fail[path]
            self._send(status, body)
            return True
        return False

    def do_GET(self) -> None:
        path, query = self._path()
        self.idp.requests.append(("GET", path))
        if self._failed(path):
            return
        if path == "/.well-known/openid-configuration":
            self._send(200, self.idp.discovery())
        elif path == "/jwks":
            self._send(200, self.idp.jwks())
        elif path == "/authorize":
            self._authorize({k: v[0] for k, v in query.items()})
        elif path in USER_PATHS:
            self._userinfo(path)
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path, _ = self._path()
        self.idp.requests.append(("POST", path))
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.idp.token_delay:
            time.sleep(self.idp.token_delay)
        if self._failed(path):
            return
        if path == "/token":
            self._token(form)
        else:
            self._send(404, {"error": "not_found"})

    # -- endpoints ---------------------------------------------------------------------------

    def _authorize(self, q: dict[str, str]) -> None:
        client = self.idp.clients.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if client is None or not redirect.startswith(("http://", "https://")):
            # Never redirect to an unverified URI: show the error to the user instead.
            self._send(400, {"error": "invalid_request", "error_description": "unknown client or bad redirect_uri"})
            return
        sep = "&" if "?" in redirect else "?"
        if q.get("response_type") != "code":
            self._send(
                302,
                b"",
                {
                    "Location": redirect
                    + sep
                    + urlencode({"error": "unsupported_response_type", "state": q.get("state", "")})
                },
            )
            return
        method = q.get("code_challenge_method", "plain") if q.get("code_challenge") else ""
        code = secrets.token_urlsafe(24)
        with self.idp._lock:
            self.idp.grants[code] = Grant(
                client.client_id,
                redirect,
                q.get("code_challenge", ""),
                method,
                q.get("scope", ""),
                q.get("nonce", ""),
                dict(self.idp.user),
                time.time() + self.idp.code_ttl,
            )
        self._send(302, b"", {"Location": redirect + sep + urlencode({"code": code, "state": q.get("state", "")})})

    def _client(self, form: dict[str, str]) -> Client | None:
        header = self.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            cid, secret, style = unquote_plus(cid), unquote_plus(secret), "basic"
        else:
            cid, secret, style = form.get("client_id", ""), form.get("client_secret", ""), "post"
        client = self.idp.clients.get(cid)
        if client is None or not secrets.compare_digest(client.secret, secret):
            return None
        if client.auth_method not in ("any", style):
            return None
        return client

    def _token(self, form: dict[str, str]) -> None:
        client = self._client(form)
        if client is None:
            self._error(401, "invalid_client", "client authentication failed")
            return
        if form.get("grant_type") != "authorization_code":
            self._error(400, "unsupported_grant_type", "only authorization_code")
            return
        with self.idp._lock:
            grant = self.idp.grants.get(form.get("code", ""))
            if grant is None or grant.used or grant.client_id != client.client_id:
                self._error(400, "invalid_grant", "unknown or used code")
                return
            grant.used = True  # single use, even when the rest of the request is wrong
        if time.time() > grant.expires:
            self._error(400, "invalid_grant", "the code expired")
            return
        if form.get("redirect_uri", "") != grant.redirect_uri:
            self._error(400, "invalid_grant", "redirect_uri does not match")
            return
        if grant.challenge:
            verifier = form.get("code_verifier", "")
            expected = (
                _b64(hashlib.sha256(verifier.encode()).digest()) if grant.challenge_method == "S256" else verifier
            )
            if not verifier or not secrets.compare_digest(expected, grant.challenge):
                self._error(400, "invalid_grant", "PKCE verification failed")
                return
        access = secrets.token_urlsafe(24)
        with self.idp._lock:
            self.idp.tokens[access] = Issued(client.client_id, grant.user, time.time() + self.idp.token_ttl)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.idp.token_ttl,
            "refresh_token": secrets.token_urlsafe(24),
            "scope": grant.scope,
        }
        if "openid" in grant.scope.split() or client.issuer:
            body["id_token"] = self.idp.id_token(client, grant.user, grant.nonce)
        self._send(200, body)

    def _userinfo(self, path: str) -> None:
        header = self.headers.get("authorization", "")
        issued = self.idp.tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        if issued is None or issued.expires < time.time():
            self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        self._send(200, self.idp.user_shape(path, issued.user))
