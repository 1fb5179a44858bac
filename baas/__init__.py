"""baas: a self-hostable backend-as-a-service, wire-compatible with PocketBase."""

__version__ = "0.1.0"
