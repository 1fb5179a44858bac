"""Every HTTP route, in one list."""

from __future__ import annotations

from baas.api import auth, batch, collections, health, records, settings

ROUTES = [*health.ROUTES, *records.ROUTES, *auth.ROUTES, *collections.ROUTES, *batch.ROUTES, *settings.ROUTES]
