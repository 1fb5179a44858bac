"""Hooks: ordered, optionally tagged chains of async handlers around record operations.

A handler is ``async def handler(e) -> None``. It runs its own code, calls ``await e.next()`` to
run the rest of the chain (and, at its end, the operation itself), and may do more afterwards::

    async def stamp(e: RecordEvent) -> None:
        e.record["title"] = e.record["title"].strip()   # before the write
        await e.next()                                   # validate + write (inside the transaction)
        log.info("created %s", e.record["id"])           # after the write, still inside it

    eng.hooks.on_record_create.bind_for("posts", stamp, priority=10)

- Order: lower ``priority`` first; equal priorities in binding order.
- Tags: a handler bound with tags (``bind_for("posts", …)`` or ``tags=[…]``) runs only for
  events whose collection name or id is one of them.
- Not calling ``e.next()`` stops the chain: the operation does not happen (a write answers 400,
  see docs/plugins.md). Raising an `ApiError` (``BadRequest``, ``Forbidden`` …) aborts with that
  error in PocketBase's shape; any other exception is logged and answered with a plain 500.
- An empty hook point costs one attribute check (``hook.bound``): the API takes its plain path.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from baas.errors import ApiError

if TYPE_CHECKING:
    from baas.records.query import ListParams
    from baas.rules.context import RequestInfo
    from baas.schema.model import Collection

log = logging.getLogger("baas.hooks")

E = TypeVar("E", bound="Event")
Handler = Callable[[Any], Awaitable[None]]


class HookError(ApiError):
    """A handler raised something that is not an `ApiError`: logged, answered with a plain 500."""

    status = 500
    default_message = "Something went wrong while processing your request."


class Event:
    """What every hook event has: ``await e.next()`` runs the rest of the chain once."""

    __slots__ = ("_handlers", "_i", "_final", "_done", "_passing")

    def __init__(self) -> None:
        self._handlers: tuple[Handler, ...] = ()
        self._i = 0
        self._final: Callable[[Any], Awaitable[None]] | None = None
        self._done = False
        self._passing: BaseException | None = None

    async def next(self) -> None:
        """Run the next handler, or the operation itself after the last one. A second call from
        the same handler does nothing: the rest of the chain runs once."""
        i = self._i
        handlers = self._handlers
        if i < len(handlers):
            self._i = i + 1
            handler = handlers[i]
            try:
                await handler(self)
            except ApiError:
                raise
            except Exception as exc:
                if exc is self._passing:  # the operation's own error, passing through the chain
                    raise
                log.exception("hook handler %s failed", getattr(handler, "__qualname__", handler))
                raise HookError() from exc
        elif i == len(handlers):
            self._i = i + 1
            if self._final is not None:
                try:
                    await self._final(self)
                except ApiError:
                    raise
                except Exception as exc:  # not the handlers' fault: let it pass them unchanged
                    self._passing = exc
                    raise
            self._done = True


class RecordEvent(Event):
    """A record write: ``on_record_create/update/delete`` (before, inside the write transaction)
    and ``on_record_after_*_success`` (after the commit).

    - ``collection``: the `Collection` (read-only).
    - ``record``: before-hooks — the values about to be written, a mutable dict (changes are
      validated like the request's own); after ``await e.next()`` the stored values. After-hooks
      and delete hooks — the record (for delete: as it was).
    - ``original``: update hooks — the stored values before this update; else None.
    - ``request``: the `RequestInfo` (``request.auth`` is the requester, None for guests).
    - ``db``: before-hooks — the transaction's connection (``fetch``, ``fetchone``, ``fetchval``,
      ``execute``): what you write there commits or rolls back with the record. After-hooks —
      the database (``write(fn)`` opens a new transaction).
    - ``action``: ``"create"``, ``"update"`` or ``"delete"``.
    """

    __slots__ = ("collection", "record", "original", "request", "db", "action")

    def __init__(
        self,
        collection: Collection,
        record: dict[str, Any],
        request: RequestInfo,
        db: Any,
        action: str,
        original: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.collection = collection
        self.record = record
        self.original = original
        self.request = request
        self.db = db
        self.action = action

    @property
    def auth(self) -> dict[str, Any] | None:
        """The requester's auth record (``collectionName`` ``_superusers`` for superusers), or None."""
        return self.request.auth


class RecordListEvent(Event):
    """``on_record_list_request``: ``params`` (a `ListParams`: filter, sort, page …) may be
    changed before ``e.next()``; ``result`` is the page (``{page, perPage, totalItems,
    totalPages, items}``) after it, and may be changed or replaced. A handler that answers by
    itself sets ``result`` without calling ``e.next()``."""

    __slots__ = ("collection", "request", "params", "result")

    def __init__(self, collection: Collection, request: RequestInfo, params: ListParams) -> None:
        super().__init__()
        self.collection = collection
        self.request = request
        self.params = params
        self.result: dict[str, Any] | None = None


class RecordViewEvent(Event):
    """``on_record_view_request``: ``record_id`` before ``e.next()``; ``result`` (the record as
    answered) after it, which may be changed or replaced."""

    __slots__ = ("collection", "request", "record_id", "result")

    def __init__(self, collection: Collection, request: RequestInfo, record_id: str) -> None:
        super().__init__()
        self.collection = collection
        self.request = request
        self.record_id = record_id
        self.result: dict[str, Any] | None = None


class RecordAuthEvent(Event):
    """``on_record_auth_request``: every successful sign-in (password, OTP, OAuth2, refresh …),
    after the collection's authRule passed and before MFA and the token.

    ``record`` (the auth record as answered), ``method`` (``"password"``, ``"otp"``, ``"oauth2"``,
    ``"refresh"`` …), ``token`` (empty before ``e.next()``, which issues it unless a handler set
    one), ``meta`` (added to the answer as ``meta`` when set), ``request`` (`RequestInfo` of the
    sign-in request). After ``e.next()``: ``result`` (``{token, record}``, or ``{mfaId}`` with
    ``status`` 401 when a second factor is due), which may be changed."""

    __slots__ = ("collection", "record", "method", "token", "meta", "request", "result", "status")

    def __init__(self, collection: Collection, record: dict[str, Any], method: str, request: RequestInfo) -> None:
        super().__init__()
        self.collection = collection
        self.record = record
        self.method = method
        self.token = ""
        self.meta: Any = None
        self.request = request
        self.result: dict[str, Any] | None = None
        self.status = 200


class LifecycleEvent(Event):
    """``on_start`` (the engine is up: database connected, schema loaded) and ``on_stop``
    (about to close the database)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class _Entry:
    __slots__ = ("id", "priority", "seq", "handler", "tags")

    def __init__(self, id: str, priority: int, seq: int, handler: Handler, tags: frozenset[str] | None) -> None:
        self.id, self.priority, self.seq, self.handler, self.tags = id, priority, seq, handler, tags


_seq = itertools.count(1)


class Hook(Generic[E]):
    """One hook point: an ordered chain of handlers. ``bound`` is False while it has none."""

    __slots__ = ("name", "bound", "_entries", "_untagged", "_tagged", "_cache")

    def __init__(self, name: str) -> None:
        self.name = name
        self.bound = False
        self._entries: list[_Entry] = []
        self._untagged: tuple[Handler, ...] = ()
        self._tagged = False
        self._cache: dict[tuple[str, str], tuple[Handler, ...]] = {}

    def bind(
        self,
        handler: Handler | None = None,
        *,
        priority: int = 0,
        id: str | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> Any:
        """Add ``handler``; return its id (``id``, or a generated one). A handler bound again under
        an existing id replaces it. Without ``handler``, a decorator: ``@hook.bind(priority=5)``."""
        if handler is None:

            def decorate(fn: Handler) -> Handler:
                self.bind(fn, priority=priority, id=id, tags=tags)
                return fn

            return decorate
        if not callable(handler):
            raise TypeError(f"{self.name}: a handler must be an async function, got {handler!r}")
        if isinstance(tags, str):
            tags = [tags]
        tag_set = frozenset(tags) if tags is not None else None
        if tag_set is not None and not tag_set:
            raise ValueError(f"{self.name}: empty tags would match no collection")
        hid = id or f"{self.name}-{next(_seq)}"
        old = next((e for e in self._entries if e.id == hid), None)
        seq = old.seq if old is not None else next(_seq)
        self._entries = [e for e in self._entries if e.id != hid]
        self._entries.append(_Entry(hid, priority, seq, handler, tag_set))
        self._rebuild()
        return hid

    def bind_for(
        self, tags: str | Iterable[str], handler: Handler | None = None, *, priority: int = 0, id: str | None = None
    ) -> Any:
        """`bind` for the collections named by ``tags`` (names or ids) only."""
        return self.bind(handler, priority=priority, id=id, tags=tags)

    def unbind(self, *ids_or_handlers: str | Handler) -> None:
        """Remove handlers by id or by the function itself."""
        drop = set(ids_or_handlers)
        self._entries = [e for e in self._entries if e.id not in drop and e.handler not in drop]
        self._rebuild()

    def unbind_all(self) -> None:
        self._entries = []
        self._rebuild()

    def __len__(self) -> int:
        return len(self._entries)

    def _rebuild(self) -> None:
        self._entries.sort(key=lambda e: (e.priority, e.seq))
        self._untagged = tuple(e.handler for e in self._entries if e.tags is None)
        self._tagged = any(e.tags is not None for e in self._entries)
        self._cache = {}
        self.bound = bool(self._entries)

    def chain_for(self, collection: Collection | None = None) -> tuple[Handler, ...]:
        """The handlers that run for an event on ``collection`` (untagged ones, plus those tagged
        with its name or id), in order. Empty: the caller skips the hook altogether."""
        if not self._tagged:
            return self._untagged
        if collection is None:
            return self._untagged
        key = (collection.id, collection.name)
        chain = self._cache.get(key)
        if chain is None:
            chain = self._cache[key] = tuple(
                e.handler for e in self._entries if e.tags is None or key[0] in e.tags or key[1] in e.tags
            )
        return chain

    async def trigger(
        self, event: E, final: Callable[[E], Awaitable[None]] | None = None, chain: tuple[Handler, ...] | None = None
    ) -> bool:
        """Run the chain for ``event`` with ``final`` (the operation) at its end; True when the
        chain reached ``final`` (False: a handler stopped it by not calling ``e.next()``)."""
        if chain is None:
            chain = self.chain_for(getattr(event, "collection", None))
        event._handlers = chain
        event._final = final
        await event.next()
        return event._done

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._entries)} handler(s)>"


class Hooks:
    """Every hook point of an engine (``eng.hooks``; a plugin's ``app.hooks``)."""

    def __init__(self) -> None:
        # Record writes, before: inside the write transaction, around the write (``e.next()``).
        self.on_record_create: Hook[RecordEvent] = Hook("on_record_create")
        self.on_record_update: Hook[RecordEvent] = Hook("on_record_update")
        self.on_record_delete: Hook[RecordEvent] = Hook("on_record_delete")
        # Record writes, after: once the transaction has committed.
        self.on_record_after_create_success: Hook[RecordEvent] = Hook("on_record_after_create_success")
        self.on_record_after_update_success: Hook[RecordEvent] = Hook("on_record_after_update_success")
        self.on_record_after_delete_success: Hook[RecordEvent] = Hook("on_record_after_delete_success")
        # Reads, around the query; the result may be changed.
        self.on_record_list_request: Hook[RecordListEvent] = Hook("on_record_list_request")
        self.on_record_view_request: Hook[RecordViewEvent] = Hook("on_record_view_request")
        # Sign-in: around MFA, the token and the answer.
        self.on_record_auth_request: Hook[RecordAuthEvent] = Hook("on_record_auth_request")
        # The engine's life.
        self.on_start: Hook[LifecycleEvent] = Hook("on_start")
        self.on_stop: Hook[LifecycleEvent] = Hook("on_stop")

    def points(self) -> dict[str, Hook[Any]]:
        """Every hook point by name."""
        return {k: v for k, v in vars(self).items() if isinstance(v, Hook)}


async def run_after(hook: Hook[RecordEvent], event: RecordEvent, chain: tuple[Handler, ...] | None = None) -> None:
    """Run an after-success chain. The write has committed: a failing handler is logged and the
    request still succeeds (answering an error would claim the write did not happen)."""
    try:
        await hook.trigger(event, None, chain)
    except HookError:
        pass  # logged where it happened
    except ApiError as exc:
        log.warning("%s handler refused after the commit (the write stands): %s", hook.name, exc.message)
    except Exception:
        log.exception("%s failed after the commit (the write stands)", hook.name)
