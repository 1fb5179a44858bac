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
    coll, values, errors, touched = draft.coll, draft.values, draft.errors, draft.touched
    superuser = trusted or draft.req.is_superuser
    auth = coll.type == "auth"
    modifiers: list[tuple[Field, str, Any]] = []
    for key, value in body.items():
        if trusted:
            name, op = key, None
            errors.pop(name, None)
        elif key in IGNORED_KEYS or auth and key in AUTH_EXTRA_KEYS:
            continue
        else:
            name, op = split_key(key)
        f = coll.field(name)
        if f is None or coll.type == "view":
            errors[key] = FieldError("validation_unknown_field", "Unknown field.")
            if trusted:
                values.pop(name, None)
            continue
        if isinstance(f, AutodateField):
            continue  # set by the server, never by the client (as PocketBase)
        if name == "id" and not draft.creating:
            if value != draft.record_id:
                errors["id"] = FieldError("validation_id_change", "The record id cannot be changed.")
            continue
        if not superuser and (f.hidden and not isinstance(f, PasswordField) or auth and name == "tokenKey"):
            # Hidden fields (and an auth record's token key) are the superusers' to set.
            errors[name] = FieldError("validation_forbidden", "Only superusers can change this field.")
            continue
        if auth and name == "verified" and not (superuser or draft.manager):
            # As PocketBase: anyone may send the value the record already has (false on a sign-up);
            # only a superuser or a manageRule match may change it.
            if op is not None or _as_bool(f, value) != bool(values.get("verified")):
                errors[name] = values_mismatch()
            continue
        touched.add(name)
        if value is UNSET:
            values[name] = f.default()
        elif op is not None:
            modifiers.append((f, op, value))
        elif isinstance(f, PasswordField):  # kept as sent: validated, then hashed, by the write
            if isinstance(value, str):
                values[name] = value
            else:
                errors[name] = FieldError("validation_invalid_value", "Must be a string.")
        else:
            try:
                values[name] = f.prepare(value)
            except FieldError as exc:
                errors[name] = exc
    for f, op, value in modifiers:
        if f.name in errors:
            continue
        try:
            values[f.name] = f.modify(values.get(f.name), op, value)
        except FieldError as exc:
            errors[f.name] = exc
