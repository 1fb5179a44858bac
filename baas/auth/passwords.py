"""argon2id password hashes (argon2-cffi). Tests may lower the cost with BAAS_FAST_HASH=1."""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Production parameters: RFC 9106's second recommended option (64 MiB, t=3, p=4).
_strong = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    return _fast if os.environ.get("BAAS_FAST_HASH") == "1" else _strong


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(hashed: str, password: str) -> bool:
    """True if ``password`` matches; never raises on a malformed or empty hash."""
    if not hashed:
        # Burn comparable time so a missing account is not told apart by timing.
        _hasher().hash(password)
        return False
    try:
        return _strong.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
