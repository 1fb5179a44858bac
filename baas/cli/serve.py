"""The app factory granian's workers import; settings come from ``BAAS_*`` variables."""

from __future__ import annotations

import os

from baas.api.fast import Gateway
from baas.app import create_app
from baas.settings import Settings


def make_app() -> Gateway:
    return create_app(Settings.from_env(dev=os.environ.get("BAAS_DEV") == "1"))
