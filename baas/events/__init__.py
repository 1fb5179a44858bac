"""The durable event stream: every record write appends an ``_events`` row in its own transaction
(baas/records/write.py); `EventBus` tails it in every process, `Consumer` reads it with a saved
position, `retention` prunes it. See docs/events.md."""

from __future__ import annotations

from baas.events.bus import EventBus
from baas.events.consumer import Consumer
from baas.events.stream import Event

__all__ = ["Event", "EventBus", "Consumer"]
