"""Scheduled jobs declared in ``baas.yaml``: one run per tick per cluster (docs/jobs.md)."""

from __future__ import annotations

from baas.jobs.scheduler import Scheduler

__all__ = ["Scheduler"]
