"""Side-by-side HTTP benchmark of baas and PocketBase (``python -m bench run``)."""

from __future__ import annotations
