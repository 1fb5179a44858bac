"""Settings: from the command line and ``BAAS_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec


class Settings(msgspec.Struct, kw_only=True):
    """Where data lives and how the server listens."""

    data_dir: str = "baas_data"
    db_url: str = ""  # empty: SQLite at <data_dir>/data.db
    http: str = "127.0.0.1:8090"
    schema_file: str = ""
    # The baas.yaml whose plugins and functions load (docs/plugins.md): ``schema_file`` when empty.
    # ``baas serve`` applies --schema once and hands workers only this (BAAS_PROJECT).
    project_file: str = ""
    dev: bool = False
    max_body_size: int = 32 * 1024 * 1024
    readers: int = 4
    query_timeout: float = 30.0
    accept_data_loss: bool = False
    cache_mb: int = 64  # the query cache's memory per server process (docs/cache.md); 0 turns it off
    cache_min_us: int = 50  # reads faster than this are not kept (docs/cache.md)

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.data_dir) / 'data.db'}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = {
            "data_dir": os.environ.get("BAAS_DIR"),
            "db_url": os.environ.get("BAAS_DB"),
            "http": os.environ.get("BAAS_HTTP"),
            "schema_file": os.environ.get("BAAS_SCHEMA"),
            "project_file": os.environ.get("BAAS_PROJECT"),
        }
        # Field name -> value; the Struct's own __init__ takes them by keyword (mixed types: Any).
        values: dict[str, Any] = {k: v for k, v in env.items() if v}
        if (size := os.environ.get("BAAS_MAX_BODY_SIZE", "").strip()).isdigit() and int(size) > 0:
            values["max_body_size"] = int(size)
        if (mb := os.environ.get("BAAS_CACHE_MB", "").strip()).isdigit():
            values["cache_mb"] = int(mb)
        if (us := os.environ.get("BAAS_CACHE_MIN_US", "").strip()).isdigit():
            values["cache_min_us"] = int(us)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
