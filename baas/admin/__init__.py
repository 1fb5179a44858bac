"""Superuser and console services: collection changes, the first-superuser installer, file
access, and the rule check and playground. They take the engine (or its pieces) and raise
domain errors from `baas.errors`; the HTTP routes in ``baas/api/`` parse requests and shape
answers around them and nothing here knows of HTTP."""
