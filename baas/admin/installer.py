"""The first superuser's installer tokens (``/api/installer``; the creation itself is
`baas.auth.superusers.create_first_superuser`).

A new install has no superuser. ``baas serve`` then prints a one-time console link holding a
short-lived *installer* token (a JWT signed with the install secret, ``type: "installer"``), as
PocketBase's installer link does. With that token, and only while no superuser exists, the first
one can be created; after that creation is refused, so the link is spent once used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baas.auth import tokens

if TYPE_CHECKING:
    from baas.core import Engine

KIND = "installer"
# The token is shown in a terminal and may end up in a scrollback or a log: keep it short-lived.
DURATION = 30 * 60
# Signed with the install secret plus this constant instead of a record's tokenKey: no record's
# key can be this string (tokenKeys are random), so an installer token never verifies as a
# record's token and no record token verifies as an installer token (its `type` differs too).
_KEY = "installer"
_FIRST = 'SELECT "id" FROM "_superusers" LIMIT 1'


def issue_installer_token(secret: str, duration: int = DURATION) -> str:
    """A new installer token for the console link printed by ``baas serve``."""
    return tokens.issue(secret, {"id": KIND}, "_superusers", _KEY, duration, kind=KIND, refreshable=False)


def valid_installer_token(secret: str, token: str) -> bool:
    """Whether ``token`` is an unexpired installer token signed with ``secret``."""
    return bool(token) and tokens.verify(token, secret, _KEY, kind=KIND) is not None


async def superuser_exists(eng: Engine) -> bool:
    """Whether any superuser exists (the installer is spent)."""
    return await eng.db.fetchone(_FIRST) is not None
