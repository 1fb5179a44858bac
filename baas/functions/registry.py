"""Declaring functions (``@function``) and calling them (`Functions`, one per engine)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from baas import rules
from baas.errors import ApiError, BadRequest, Forbidden, NotFound, TooManyRequests
from baas.functions.context import Context
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.functions")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
# The rule of a function is compiled over a collection with no fields: it may read only
# ``@request.*`` (auth, body, query, headers, method) and ``@collection.*``.
_NO_FIELDS = Collection(name="_function_call", id="_function_call")


class FunctionError(ValueError):
    """A function declaration is invalid (bad name, rule, timeout, a name declared twice)."""


class FunctionTimeout(ApiError):
    status = 504
    default_message = "The function did not finish in time."


class FunctionFailed(ApiError):
    status = 500
    default_message = "Something went wrong while processing your request."


@dataclass
class Function:
    """A declared callable: ``fn(ctx)`` returning JSON-able data (sync or async)."""

    name: str
    fn: Callable[[Context], Any]
    rule: str | None = None
    timeout: float = 10.0
    max_concurrency: int = 4
    description: str = ""

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise FunctionError(f"function name {self.name!r}: use letters, digits, _ . - (at most 100)")
        if not (self.timeout > 0):
            raise FunctionError(f"function {self.name!r}: timeout must be a positive number of seconds")
        if not (isinstance(self.max_concurrency, int) and self.max_concurrency >= 1):
            raise FunctionError(f"function {self.name!r}: max_concurrency must be an integer >= 1")
        if self.rule:
            try:
                rules.parse(self.rule)
            except rules.RuleError as exc:
                raise FunctionError(f"function {self.name!r}: invalid rule: {exc}") from None

    def __call__(self, ctx: Context) -> Any:  # still callable directly (tests, other functions)
        return self.fn(ctx)


def function(
    name: str | None = None, *, rule: str | None = None, timeout: float = 10.0, max_concurrency: int = 4
) -> Callable[[Callable[[Context], Any]], Function]:
    """Declare ``fn(ctx)`` as a callable function. ``rule``: ``None`` superusers only, ``""``
    anyone, else an expression over ``@request.*``. ``timeout`` in seconds; ``max_concurrency``
    calls at once per server process (more answer 429)."""

    def decorate(fn: Callable[[Context], Any]) -> Function:
        return Function(name or fn.__name__, fn, rule, float(timeout), max_concurrency, inspect.getdoc(fn) or "")

    return decorate


@dataclass
class _Slot:
    spec: Function
    busy: int = 0
    source: str = ""


class Functions:
    """The engine's functions: registered while plugins load, called by the API and by jobs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._slots: dict[str, _Slot] = {}
        self.loaded = False  # set once the plugins (and so the functions package) have loaded

    def add(self, spec: Function, source: str = "") -> None:
        """Register ``spec``; a name declared twice is an error naming both places."""
        old = self._slots.get(spec.name)
        if old is not None and old.spec.fn is not spec.fn:
            raise FunctionError(f"function {spec.name!r} is declared twice ({old.source or '?'} and {source or '?'})")
        self._slots[spec.name] = _Slot(spec, source=source)

    def get(self, name: str) -> Function | None:
        slot = self._slots.get(name)
        return slot.spec if slot else None

    def names(self) -> list[str]:
        return sorted(self._slots)

    async def allowed(self, spec: Function, req: RequestInfo) -> bool:
        """Whether the call rule lets ``req`` call: superusers always; ``None`` nobody else."""
        if req.is_superuser or spec.rule == "":
            return True
        if spec.rule is None:
            return False
        db = self.engine.db
        try:
            sql = rules.compile_filter(
                spec.rule,
                collection=_NO_FIELDS,
                lookup=self.engine.registry.get,
                request=req,
                dialect=db.dialect,
                alias="m",
            )
        except rules.RuleError as exc:  # e.g. a field name: a function has no record to read
            raise BadRequest(f"The function's {spec.name!r} rule is invalid: {exc}") from None
        return bool(
            await db.fetchval(
                f'SELECT CASE WHEN ({sql.sql}) THEN 1 ELSE 0 END FROM (SELECT 1 AS "x") AS "m"', sql.params
            )
        )

    async def call(
        self,
        name: str,
        req: RequestInfo,
        body: dict[str, Any],
        *,
        check_rule: bool = True,
        timeout: float | None = None,
        webhook: dict[str, Any] | None = None,
    ) -> Any:
        """Run function ``name`` for ``req``: rule, concurrency cap, timeout. Errors are `ApiError`s
        (404 unknown, 403 locked, 400 refused by the rule, 429 busy, 504 timeout, 500 failure).
        ``webhook``: the verified inbound delivery (``ctx.webhook``) when an inbound webhook calls."""
        slot = self._slots.get(name)
        if slot is None:
            raise NotFound("The requested function wasn't found.")
        spec = slot.spec
        if check_rule:
            if spec.rule is None and not req.is_superuser:
                raise Forbidden("Only superusers can call this function.")
            if not await self.allowed(spec, req):
                raise BadRequest("Failed to call the function: the call rule refused it.")
        if slot.busy >= spec.max_concurrency:
            raise TooManyRequests(
                f"The function {name!r} is busy ({spec.max_concurrency} calls running); try again later."
            )
        slot.busy += 1
        try:
            return await asyncio.wait_for(
                self._run(spec, Context(self.engine, name, req, body, webhook=webhook)), timeout or spec.timeout
            )
        except TimeoutError:
            log.warning("function %s timed out after %ss", name, timeout or spec.timeout)
            raise FunctionTimeout(
                f"The function {name!r} did not finish within {timeout or spec.timeout:g}s."
            ) from None
        except ApiError:
            raise  # the function's own 4xx (or one from the records it touched)
        except Exception:
            log.exception("function %s failed", name)
            raise FunctionFailed() from None
        finally:
            slot.busy -= 1

    @staticmethod
    async def _run(spec: Function, ctx: Context) -> Any:
        if inspect.iscoroutinefunction(spec.fn):
            return await spec.fn(ctx)
        # A plain function runs on a thread; on a timeout the answer goes out but the thread
        # finishes on its own (Python cannot stop it): prefer async functions for long work.
        result = await asyncio.to_thread(spec.fn, ctx)
        if inspect.isawaitable(result):
            result = await result
        return result
