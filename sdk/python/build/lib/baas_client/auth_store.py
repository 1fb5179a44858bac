"""Where a client keeps its token and auth record."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ._core import token_claims

SUPERUSERS = "_superusers"
Listener = Callable[[str, "dict[str, Any] | None"], None]


class AuthStore:
    """The token (a record token or an API key) and the auth record, in memory.

    ``on_change`` listeners run after every ``save``/``clear`` (also after an automatic refresh)."""

    def __init__(self) -> None:
        self._token = ""
        self._record: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def __repr__(self) -> str:  # never the token
        return f"<{type(self).__name__} valid={self.is_valid} record={(self._record or {}).get('id')!r}>"

    @property
    def token(self) -> str:
        return self._token

    @property
    def record(self) -> dict[str, Any] | None:
        return self._record

    @property
    def is_valid(self) -> bool:
        """A token is held and, if it is a JWT, it has not expired (an API key is always "valid"
        here: only the server knows whether it was revoked)."""
        if not self._token:
            return False
        exp = token_claims(self._token).get("exp")
        return not isinstance(exp, int | float) or exp > time.time()

    @property
    def is_superuser(self) -> bool:
        record = self._record or {}
        if record.get("collectionName") == SUPERUSERS:
            return True
        return token_claims(self._token).get("collectionId") == "pbc_3142635823"  # PocketBase's fixed id

    def save(self, token: str, record: dict[str, Any] | None = None) -> None:
        if not isinstance(token, str):
            raise TypeError("the token must be a string")
        with self._lock:
            self._token, self._record = token, record
            self._persist()
        self._notify()

    def clear(self) -> None:
        with self._lock:
            self._token, self._record = "", None
            self._persist()
        self._notify()

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(token, record)`` after each change; returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _persist(self) -> None:
        """Write the state somewhere (called under the lock); the memory store keeps nothing."""

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self._token, self._record)


class FileAuthStore(AuthStore):
    """An auth store kept in a JSON file (mode 0600), so a script stays signed in between runs."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path} is not a readable auth store file: {exc}") from None
        if isinstance(raw, dict):
            data = cast(dict[str, Any], raw)
            token, record = data.get("token"), data.get("record")
            self._token = token if isinstance(token, str) else ""
            self._record = cast(dict[str, Any], record) if isinstance(record, dict) else None

    def _persist(self) -> None:
        if not self._token:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"token": self._token, "record": self._record}, out)
        os.replace(tmp, self.path)
