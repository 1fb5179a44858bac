"""OAuth2 sign-in as PocketBase does it: the providers, a collection's ``oauth2`` option, the
auth-methods entries, the code exchange (authlib, PKCE S256) and the provider's user in one shape.

A collection stores the option exactly as PocketBase does::

    {"enabled": true,
     "mappedFields": {"id": "", "name": "name", "username": "", "avatarURL": "avatar"},
     "providers": [{"name": "google", "clientId": "…", "clientSecret": "…", "authURL": "",
                    "tokenURL": "", "userInfoURL": "", "displayName": "", "pkce": null, "extra": {}}]}

Empty URLs fall back to the provider's real endpoints; ``pkce: null`` to the provider's default.
``extra`` takes PocketBase's OIDC options ``jwksURL`` and ``issuers`` (Apple reads ``jwksURL`` too).
The client secret is used for the token request only: it is never logged nor answered.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import string
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from baas.ids import format_dt

with warnings.catch_warnings():
    # authlib 1.7+ prefers the httpx2 fork and warns on plain httpx, which it still fully supports.
    # (Its deprecate module installs an "always" filter on import: load it first, then ignore.)
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

log = logging.getLogger("baas.oauth2")

ID_TOKEN_LEEWAY = 300  # seconds of clock skew allowed on id_token times, as PocketBase
_ALNUM = string.ascii_letters + string.digits


class OAuth2Error(Exception):
    """The provider refused the code or its user could not be read (``stage``: token, user)."""

    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage
        self.detail = detail


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def timeout() -> float:
    """Seconds allowed for each request to the provider (``BAAS_OAUTH2_TIMEOUT``, default 30 as PocketBase)."""
    try:
        return max(0.1, float(os.environ.get("BAAS_OAUTH2_TIMEOUT", "30")))
    except ValueError:
        return 30.0


@dataclass
class AuthUser:
    """A provider's user in PocketBase's ``meta`` shape (``raw`` is the provider's own answer)."""

    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatarURL: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    accessToken: str = ""
    refreshToken: str = ""
    expiry: str = ""

    def meta(self, is_new: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "email": self.email,
            "avatarURL": self.avatarURL,
            "avatarUrl": self.avatarURL,
            "accessToken": self.accessToken,
            "refreshToken": self.refreshToken,
            "expiry": self.expiry,
            "rawUser": self.raw,
            "isNew": is_new,
        }


def _s(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


def _truthy(value: Any) -> bool:
    """``email_verified`` arrives as a bool or as "true" (Apple, some OIDC servers)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1"))


# Each parser takes the provider's raw user and answers (id, name, username, email, avatarURL).
# An email is kept only when the provider vouches for it, where the provider says so.
def _oidc_user(raw: dict[str, Any]) -> tuple[str, ...]:
    email = _s(raw.get("email")) if _truthy(raw.get("email_verified")) else ""
    return _s(raw.get("sub")), _s(raw.get("name")), _s(raw.get("preferred_username")), email, _s(raw.get("picture"))


def _google_user(raw: dict[str, Any]) -> tuple[str, ...]:
    email = _s(raw.get("email")) if _truthy(raw.get("email_verified")) else ""
    return _s(raw.get("sub")), _s(raw.get("name")), "", email, _s(raw.get("picture"))


def _github_user(raw: dict[str, Any]) -> tuple[str, ...]:
    return (
        _s(raw.get("id")),
        _s(raw.get("name")),
        _s(raw.get("login")),
        _s(raw.get("email")),
        _s(raw.get("avatar_url")),
    )


def _gitlab_user(raw: dict[str, Any]) -> tuple[str, ...]:
    return (
        _s(raw.get("id")),
        _s(raw.get("name")),
        _s(raw.get("username")),
        _s(raw.get("email")),
        _s(raw.get("avatar_url")),
    )


def _microsoft_user(raw: dict[str, Any]) -> tuple[str, ...]:
    return _s(raw.get("id")), _s(raw.get("displayName")), "", _s(raw.get("mail")), ""


def _discord_user(raw: dict[str, Any]) -> tuple[str, ...]:
    uid, username = _s(raw.get("id")), _s(raw.get("username"))
    avatar = f"https://cdn.discordapp.com/avatars/{uid}/{_s(raw.get('avatar'))}.png"
    email = _s(raw.get("email")) if _truthy(raw.get("verified")) else ""
    return uid, f"{username}#{_s(raw.get('discriminator'))}", username, email, avatar


def _apple_user(raw: dict[str, Any]) -> tuple[str, ...]:
    email = _s(raw.get("email")) if _truthy(raw.get("email_verified")) else ""
    name = _s(raw.get("name"))
    if not name and isinstance(raw.get("user"), dict):
        parts = raw["user"].get("name") or {}
        name = f"{_s(parts.get('firstName'))} {_s(parts.get('lastName'))}".strip()
    return _s(raw.get("sub")), name, "", email, ""


@dataclass(frozen=True)
class Spec:
    """A provider's defaults: PocketBase's display name, scopes and endpoints."""

    display_name: str
    scopes: tuple[str, ...]
    parse: Callable[[dict[str, Any]], tuple[str, ...]]
    auth_url: str = ""
    token_url: str = ""
    user_info_url: str = ""
    pkce: bool = True
    source: str = "userinfo"  # where the user comes from: userinfo, id_token (apple) or oidc
    jwks_url: str = ""
    auth_params: tuple[tuple[str, str], ...] = ()


_OIDC = Spec("OIDC", ("openid", "email", "profile"), _oidc_user, source="oidc")
SPECS: dict[str, Spec] = {
    "google": Spec(
        "Google",
        ("https://www.googleapis.com/auth/userinfo.profile", "https://www.googleapis.com/auth/userinfo.email"),
        _google_user,
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v3/userinfo",
    ),
    # GitHub ignores the PKCE parameters; sending them is harmless (PocketBase does too).
    "github": Spec(
        "GitHub",
        ("read:user", "user:email"),
        _github_user,
        "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token",
        "https://api.github.com/user",
    ),
    "gitlab": Spec(
        "GitLab",
        ("read_user",),
        _gitlab_user,
        "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
        "https://gitlab.com/api/v4/user",
    ),
    "microsoft": Spec(
        "Microsoft",
        ("User.Read",),
        _microsoft_user,
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://graph.microsoft.com/v1.0/me",
    ),
    "discord": Spec(
        "Discord",
        ("identify", "email"),
        _discord_user,
        "https://discord.com/api/oauth2/authorize",
        "https://discord.com/api/oauth2/token",
        "https://discord.com/api/users/@me",
    ),
    # Apple has no userinfo endpoint: the user is the verified id_token's claims.
    "apple": Spec(
        "Apple",
        ("name", "email"),
        _apple_user,
        "https://appleid.apple.com/auth/authorize",
        "https://appleid.apple.com/auth/token",
        source="id_token",
        jwks_url="https://appleid.apple.com/auth/keys",
        auth_params=(("response_mode", "form_post"),),
    ),
    "oidc": _OIDC,
    "oidc2": _OIDC,
    "oidc3": _OIDC,
}
APPLE_ISSUER = "https://appleid.apple.com"


_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def resolve_secret(value: str) -> str:
    """A ``${NAME}`` client secret is read from the environment when used, so ``baas.yaml`` and the
    database need not hold the secret itself; any other value is the secret."""
    m = _ENV_REF.match(value)
    if m is None:
        return value
    if m.group(1) not in os.environ:
        log.warning("oauth2: the client secret variable %s is not set", m.group(1))
    return os.environ.get(m.group(1), "")


@dataclass
class Provider:
    """One configured provider of a collection: its stored config over the provider's defaults."""

    name: str
    spec: Spec
    client_id: str
    client_secret: str = field(repr=False)  # never in a repr, a log line or an answer
    auth_url: str = ""
    token_url: str = ""
    user_info_url: str = ""
    display_name: str = ""
    pkce: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Provider | None:
        spec = SPECS.get(str(cfg.get("name") or ""))
        if spec is None:
            return None
        pkce = cfg.get("pkce")
        extra = cfg.get("extra")
        return cls(
            name=cfg["name"],
            spec=spec,
            client_id=_s(cfg.get("clientId")),
            client_secret=resolve_secret(_s(cfg.get("clientSecret"))),
            auth_url=_s(cfg.get("authURL")) or spec.auth_url,
            token_url=_s(cfg.get("tokenURL")) or spec.token_url,
            user_info_url=_s(cfg.get("userInfoURL")) or spec.user_info_url,
            display_name=_s(cfg.get("displayName")) or spec.display_name or cfg["name"],
            pkce=spec.pkce if pkce is None else bool(pkce),
            extra=extra if isinstance(extra, dict) else {},
        )

    def auth_entry(self) -> dict[str, Any]:
        """This provider's entry in auth-methods: a fresh state and PKCE pair, and the authorize URL
        with ``redirect_uri=`` left last and empty for the client to append its own."""
        state = random_string(30)
        params = {"client_id": self.client_id, "response_type": "code", "state": state, **dict(self.spec.auth_params)}
        if self.spec.scopes:
            params["scope"] = " ".join(self.spec.scopes)
        verifier = challenge = method = ""
        if self.pkce:
            verifier = random_string(43)
            challenge, method = create_s256_code_challenge(verifier), "S256"
            params.update(code_challenge=challenge, code_challenge_method=method)
        # Sorted like Go's url.Values, so the URL reads the same as PocketBase's.
        url = self.auth_url + ("&" if "?" in self.auth_url else "?") + urlencode(sorted(params.items()))
        url += "&redirect_uri="
        return {
            "name": self.name,
            "displayName": self.display_name,
            "state": state,
            "authURL": url,
            "authUrl": url,
            "codeVerifier": verifier,
            "codeChallenge": challenge,
            "codeChallengeMethod": method,
        }


def providers(options: dict[str, Any]) -> list[Provider]:
    """The collection's configured providers PocketBase knows of, in their stored order."""
    out = []
    for cfg in options.get("providers") or []:
        p = Provider.from_config(cfg) if isinstance(cfg, dict) else None
        if p is not None:
            out.append(p)
    return out


def find_provider(options: dict[str, Any], name: str) -> Provider | None:
    return next((p for p in providers(options) if p.name == name), None)


def auth_methods(options: dict[str, Any]) -> dict[str, Any]:
    """The ``oauth2`` part of an auth-methods answer for a collection's ``oauth2`` option."""
    if not options.get("enabled"):
        return {"enabled": False, "providers": []}
    return {"enabled": True, "providers": [p.auth_entry() for p in providers(options)]}


def redact(options: dict[str, Any]) -> dict[str, Any]:
    """The option without client secrets, as PocketBase shows collections (even to superusers)."""
    out = dict(options)
    if isinstance(options.get("providers"), list):
        out["providers"] = [
            {k: v for k, v in p.items() if k != "clientSecret"} if isinstance(p, dict) else p
            for p in options["providers"]
        ]
    return out


def keep_secrets(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """``new`` with each provider's missing or empty clientSecret taken from the same-named provider
    of ``old``: an update that echoes a redacted collection keeps the stored secrets."""
    stored = {p.get("name"): p.get("clientSecret") for p in old.get("providers") or [] if isinstance(p, dict)}
    out = dict(new)
    if isinstance(new.get("providers"), list):
        out["providers"] = [
            {**p, "clientSecret": stored[p.get("name")]}
            if isinstance(p, dict) and not p.get("clientSecret") and stored.get(p.get("name"))
            else p
            for p in new["providers"]
        ]
    return out


# -- the code exchange and the user ---------------------------------------------------------------


async def exchange_code(p: Provider, code: str, code_verifier: str, redirect_url: str) -> dict[str, Any]:
    """Trade the authorization code for tokens at the provider's token endpoint.

    Client credentials go in an HTTP Basic header first and, when the provider refuses that,
    in the form body (what Go's oauth2 auto-detection does for PocketBase)."""
    body: dict[str, str] = {"code": code, "redirect_uri": redirect_url}
    if p.pkce:
        body["code_verifier"] = code_verifier
    last: OAuthError | None = None
    for method in ("client_secret_basic", "client_secret_post"):
        async with AsyncOAuth2Client(
            client_id=p.client_id, client_secret=p.client_secret, token_endpoint_auth_method=method, timeout=timeout()
        ) as client:
            try:
                token = await client.fetch_token(p.token_url, grant_type="authorization_code", **body)
            except OAuthError as exc:
                last = exc
                continue
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # network, timeout, bad URL, non-JSON
                raise OAuth2Error("token", type(exc).__name__) from None
        if not token.get("access_token"):
            raise OAuth2Error("token", "no access_token in the answer")
        return dict(token)
    raise OAuth2Error("token", f"provider answered {last.error if last else 'an error'}")


async def fetch_user(p: Provider, token: dict[str, Any]) -> AuthUser:
    """The provider's user for a fresh token, in the common shape."""
    if p.spec.source == "id_token" or (p.spec.source == "oidc" and not p.user_info_url):
        raw = await _id_token_claims(p, token)
        if p.spec.source == "id_token" and isinstance(token.get("user"), str):
            try:  # Apple sends the user's name once, beside the token
                raw["user"] = json.loads(token["user"])
            except ValueError:
                pass
    else:
        raw = await _get_json(p.user_info_url, token)
        if not isinstance(raw, dict):
            raise OAuth2Error("user", "the user info is not a JSON object")
    uid, name, username, email, avatar = p.spec.parse(raw)
    if p.name == "github" and not email:
        email = await _github_primary_email(p, token)
    if not uid:
        # An empty id would link every such account to the same record.
        raise OAuth2Error("user", "the provider answered no user id")
    expiry = ""
    if isinstance(token.get("expires_at"), (int, float)):
        expiry = format_dt(datetime.fromtimestamp(token["expires_at"], UTC))
    return AuthUser(
        id=uid,
        name=name,
        username=username,
        email=email,
        avatarURL=avatar,
        raw=raw,
        accessToken=_s(token.get("access_token")),
        refreshToken=_s(token.get("refresh_token")),
        expiry=expiry,
    )


async def _get(url: str, token: dict[str, Any] | None) -> httpx.Response:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.get('access_token', '')}"
    try:
        async with httpx.AsyncClient(timeout=timeout()) as client:
            return await client.get(url, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise OAuth2Error("user", type(exc).__name__) from None


async def _get_json(url: str, token: dict[str, Any]) -> Any:
    r = await _get(url, token)
    if r.status_code >= 400:
        raise OAuth2Error("user", f"user info answered {r.status_code}")
    try:
        return r.json()
    except ValueError:
        raise OAuth2Error("user", "the user info is not JSON") from None


async def _github_primary_email(p: Provider, token: dict[str, Any]) -> str:
    """A private GitHub email: the verified primary one from ``/user/emails`` (optional scope)."""
    r = await _get(p.user_info_url.rstrip("/") + "/emails", token)
    if r.status_code in (401, 403, 404):  # the scope was not granted: no email, not an error
        return ""
    if r.status_code >= 400:
        raise OAuth2Error("user", f"emails answered {r.status_code}")
    try:
        emails = r.json()
    except ValueError:
        raise OAuth2Error("user", "the emails answer is not JSON") from None
    for e in emails if isinstance(emails, list) else []:
        if isinstance(e, dict) and e.get("verified") is True and e.get("primary") is True:
            return _s(e.get("email"))
    return ""


async def _id_token_claims(p: Provider, token: dict[str, Any]) -> dict[str, Any]:
    """The id_token's claims after checking audience, times, issuer and (with a JWKS) signature.

    Apple: issuer https://appleid.apple.com, an expiry, and always a signature check. OIDC, as
    PocketBase: issuer only when ``extra.issuers`` is set, signature when ``extra.jwksURL`` is set
    (the token came straight from the provider over the back channel, which OIDC accepts)."""
    raw = token.get("id_token")
    if not isinstance(raw, str) or not raw:
        raise OAuth2Error("user", "no id_token in the token answer")
    apple = p.spec.source == "id_token"
    jwks_url = _s(p.extra.get("jwksURL")) or p.spec.jwks_url
    try:
        header = jws.extract_compact(raw.encode()).headers()
        if jwks_url:
            claims = jwt.decode(
                raw,
                await _key_set(jwks_url, _s(header.get("kid"))),
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
            ).claims
        else:
            claims = json.loads(jws.extract_compact(raw.encode()).payload)
        issuers = [APPLE_ISSUER] if apple else [i for i in p.extra.get("issuers") or [] if isinstance(i, str)]
        options: dict[str, Any] = {"aud": {"essential": True, "value": p.client_id}, "iat": {"essential": False}}
        if apple:
            options["exp"] = {"essential": True}
        if issuers:
            options["iss"] = {"essential": True, "values": issuers}
        jwt.JWTClaimsRegistry(leeway=ID_TOKEN_LEEWAY, **options).validate(claims)
    except (JoseError, ValueError) as exc:
        raise OAuth2Error("user", f"invalid id_token ({type(exc).__name__})") from None
    if not isinstance(claims, dict):
        raise OAuth2Error("user", "invalid id_token claims")
    return dict(claims)


async def _key_set(url: str, kid: str) -> KeySet:
    if not kid:
        raise OAuth2Error("user", "the id_token has no kid")
    r = await _get(url, None)
    if r.status_code >= 400:
        raise OAuth2Error("user", f"the JWKS answered {r.status_code}")
    try:
        data = r.json()
        keys = [k for k in data.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid]
        if not keys:
            raise OAuth2Error("user", "no JWKS key matches the id_token's kid")
        return KeySet.import_key_set({"keys": keys})
    except (ValueError, AttributeError, JoseError):
        raise OAuth2Error("user", "the JWKS is invalid") from None
