"""`Draft`: one record write carried from the request to the answer (PocketBase's ``forms.RecordUpsert``).

A draft is filled in stages, each by the code that owns the stage (`baas.records.service` runs them):

1. the request: ``coll``, ``req``, ``action``, ``body``, ``record_id`` (update/delete) or
   ``new_id`` (create: where its uploads went), ``files``;
2. before the write lock: ``hashed`` (a new password, hashed), ``old_hash`` (the verified old
   password) and, for a create without before-hooks, the prepared ``values``;
3. inside the transaction (`baas.records.write`): ``values``/``errors``/``touched`` from the body
   (`apply_body`, the one body-to-values routine, also used for what before-hooks change),
   validation, the row written (``row``), ``current`` (the stored values before an update or delete);
4. after the commit: the after-success hooks and the answer, both from ``row``/``current``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from baas.errors import FieldError
from baas.rules.context import RequestInfo
from baas.schema.fields import AutodateField, Field, PasswordField
from baas.schema.model import Collection

if TYPE_CHECKING:  # only named in annotations: RecordFiles is a service the engine hands in
    from baas.records.files import RecordFiles

Action = Literal["create", "update", "delete"]

IGNORED_KEYS = frozenset({"collectionId", "collectionName", "expand", "@jsonPayload"})
AUTH_EXTRA_KEYS = frozenset({"passwordConfirm", "oldPassword"})


class _Unset:
    """The value of a key a before-hook removed from the record (the field goes back to its default)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(eq=False, slots=True)
class Draft:
    """One create, update or delete and everything worked out for it (see the module docstring)."""

    coll: Collection
    req: RequestInfo
    action: Action
    body: dict[str, Any] = field(default_factory=dict)
    record_id: str = ""  # update/delete: the target; after a create: the new record's id
    new_id: str | None = None  # create: the id for a body that names none (its uploads are stored there)
    files: RecordFiles | None = None  # the request's uploads; learns what the write kept and dropped
    hashed: str | None = None  # the body's new password, hashed before the write lock
    old_hash: str | None = None  # `check_old_password`'s answer, before the write lock
    prepared: bool = False  # values, errors, touched and manager are worked out
    values: dict[str, Any] = field(default_factory=dict)  # the record's values as they will be stored
    errors: dict[str, FieldError] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # fields the body (or a hook) set: validated, written
    manager: bool = False  # the requester may set ``verified`` (and more) through the manageRule
    current: dict[str, Any] | None = None  # update/delete: the stored values before this write
    row: tuple[Any, ...] | None = None  # create/update: the stored row, in the layout's field order

    @property
    def creating(self) -> bool:
        return self.action == "create"

    @property
    def message(self) -> str:
        """The error message of a failed write, as PocketBase words it."""
        return f"Failed to {self.action} record."


def split_key(key: str) -> tuple[str, str | None]:
    """(field name, modifier) of a body key: ``f+`` -> (f, "+"), ``+f`` -> (f, "^"), ``f-`` -> (f, "-")."""
    if key.endswith("+"):
        return key[:-1], "+"
    if key.startswith("+"):
        return key[1:], "^"
    if key.endswith("-"):
        return key[:-1], "-"
    return key, None


def values_mismatch() -> FieldError:
    return FieldError("validation_values_mismatch", "Values don't match.")


def _as_bool(f: Field, value: Any) -> Any:
    """The value a bool field would store, or the raw value when unreadable (never equal to a bool)."""
    try:
        return f.prepare(value)
    except FieldError:
        return value


def apply_body(draft: Draft, body: Mapping[str, Any], *, trusted: bool = False) -> None:
    """Turn ``body`` into ``draft.values``: each key's field prepares its value (modifiers ``f+``,
    ``+f``, ``f-`` after the plain keys), refused or unreadable keys go to ``draft.errors``, and
    the fields set go to ``draft.touched``.

    ``trusted``: the keys are field names set by server code (a before-hook's changes, unset ones
    as `UNSET`): no modifiers or ignored keys, no superuser-only checks, and an earlier error of a
    key it sets no longer applies. A client's body is never trusted."""
    superuser = trusted or draft.req.is_superuser
    modifiers: list[tuple[Field, str, Any]] = []
    for key, value in body.items():
        target = _target(draft, key, trusted)
        if target is None or not _may_set(draft, target[0], target[1], value, superuser):
            continue
        f, op = target
        draft.touched.add(f.name)
        if op is not None and value is not UNSET:
            modifiers.append((f, op, value))  # after the plain keys: `f+` adds to the value `f` set
        else:
            _set_value(draft, f, value)
    _apply_modifiers(draft, modifiers)


def _target(draft: Draft, key: str, trusted: bool) -> tuple[Field, str | None] | None:
    """The field a body key sets and its modifier; None for a key that sets nothing (ignored,
    unknown — then with an error — or an autodate field, which only the server sets)."""
    coll = draft.coll
    if trusted:
        name, op = key, None
        draft.errors.pop(name, None)  # the hook's value replaces the one that was refused
    elif key in IGNORED_KEYS or coll.type == "auth" and key in AUTH_EXTRA_KEYS:
        return None
    else:
        name, op = split_key(key)
    f = coll.field(name)
    if f is None or coll.type == "view":
        draft.errors[key] = FieldError("validation_unknown_field", "Unknown field.")
        if trusted:
            draft.values.pop(name, None)
        return None
    if isinstance(f, AutodateField):
        return None  # set by the server, never by the client (as PocketBase)
    return f, op


def _may_set(draft: Draft, f: Field, op: str | None, value: Any, superuser: bool) -> bool:
    """Whether the requester may set ``f`` to ``value``; a refusal goes to ``draft.errors``."""
    name, errors, auth = f.name, draft.errors, draft.coll.type == "auth"
    if name == "id" and not draft.creating:
        if value != draft.record_id:
            errors["id"] = FieldError("validation_id_change", "The record id cannot be changed.")
        return False
    if not superuser and (f.hidden and not isinstance(f, PasswordField) or auth and name == "tokenKey"):
        # Hidden fields (and an auth record's token key) are the superusers' to set.
        errors[name] = FieldError("validation_forbidden", "Only superusers can change this field.")
        return False
    if auth and name == "verified" and not (superuser or draft.manager):
        # As PocketBase: anyone may send the value the record already has (false on a sign-up);
        # only a superuser or a manageRule match may change it.
        if op is not None or _as_bool(f, value) != bool(draft.values.get("verified")):
            errors[name] = values_mismatch()
        return False
    return True


def _set_value(draft: Draft, f: Field, value: Any) -> None:
    """Store the value ``f`` prepares from ``value`` (`UNSET`: its default), or its error."""
    if value is UNSET:
        draft.values[f.name] = f.default()
    elif isinstance(f, PasswordField):  # kept as sent: validated, then hashed, by the write
        if isinstance(value, str):
            draft.values[f.name] = value
        else:
            draft.errors[f.name] = FieldError("validation_invalid_value", "Must be a string.")
    else:
        try:
            draft.values[f.name] = f.prepare(value)
        except FieldError as exc:
            draft.errors[f.name] = exc


def _apply_modifiers(draft: Draft, modifiers: list[tuple[Field, str, Any]]) -> None:
    """Apply ``f+``, ``+f`` and ``f-`` to the values the plain keys left (fields without an error)."""
    values, errors = draft.values, draft.errors
    for f, op, value in modifiers:
        if f.name in errors:
            continue
        try:
            values[f.name] = f.modify(values.get(f.name), op, value)
        except FieldError as exc:
            errors[f.name] = exc
