"""Outgoing webhooks (docs/webhooks.md): declared in baas.yaml or over the API, fanned out from the
durable event stream into ``_webhook_deliveries``, signed per Standard Webhooks, delivered at least
once and in order per record by any server process."""

from __future__ import annotations

from baas.webhooks.service import Webhooks

__all__ = ["Webhooks"]
