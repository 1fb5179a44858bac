"""Callable functions: Python callables of the project's ``functions/`` package, called over
``POST /api/functions/{name}`` and by scheduled jobs (docs/functions.md).

    from baas.functions import function

    @function(name="greet", rule="@request.auth.id != ''", timeout=5, max_concurrency=2)
    async def greet(ctx):
        return {"hello": ctx.body.get("name", "world"), "you": ctx.auth["id"]}
"""

from __future__ import annotations

from baas.functions.context import Context, RecordsService
from baas.functions.files import FilesService
from baas.functions.mail import MailFailed, MailService
from baas.functions.registry import Function, FunctionError, Functions, function

__all__ = [
    "Context",
    "FilesService",
    "Function",
    "FunctionError",
    "Functions",
    "MailFailed",
    "MailService",
    "RecordsService",
    "function",
]
