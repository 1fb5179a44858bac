"""argon2id password hashes (argon2-cffi). Tests may lower the cost with BAAS_FAST_HASH=1.

Hashing runs on a small dedicated thread pool: it keeps argon2 off the event loop, and bounds
how many 19 MiB work areas exist at once (a burst of sign-ups must not balloon memory).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Production parameters: OWASP's argon2id recommendation (19 MiB, t=2, p=1).
_strong = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
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


_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_async(hashed: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_pool, verify_password, hashed, password)
