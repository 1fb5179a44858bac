"""Rows to API records: column lists, value conversion, hidden and email visibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from baas.records.layout import Decoder, Fields, layout
from baas.rules.context import RequestInfo
from baas.schema.fields import Field
from baas.schema.model import Collection


def select_list(coll: Collection, alias: str = "m") -> tuple[str, Fields]:
    """The SELECT list for a collection's records and the fields in the same order (from the
    collection's `Layout`, rebuilt whenever the schema changes)."""
    lay = layout(coll)
    return lay.select(alias), lay.fields


def _text(raw: Any) -> Any:
    return "" if raw is None else raw


def number_value(raw: Any) -> Any:
    """A stored number as the API shows it: whole numbers as integers (0 for none)."""
    if type(raw) is int:
        return raw
    if raw is None:
        return 0
    f = float(raw)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _decoder(f: Field) -> Callable[[Any], Any]:
    """The fastest function that gives ``f.to_api(raw)``."""
    if type(f).to_api is not Field.to_api:
        return f.to_api
    fast: dict[str, Callable[[Any], Any]] = {"text": _text, "number": number_value, "bool": bool}
    return fast.get(f.kind(), f.to_api)


def _build_decoder(coll: Collection, fields: Fields, superuser: bool) -> Decoder:
    """A function from a row to the record's dict, generated once per collection version.

    Why generated: a page of records converts every value of every row, and a single dict
    display with the decoders bound beforehand costs a fraction of a loop over field objects.
    The source holds only ``repr()`` of validated field names and integer column positions."""
    env: dict[str, Any] = {"_cid": coll.id, "_cname": coll.name}
    parts = ['"collectionId": _cid', '"collectionName": _cname']
    for i, f in enumerate(fields):
        if f.type == "password" or (f.name == "tokenKey" and coll.type == "auth"):
            continue  # secrets never leave the server, not even to superusers
        if f.hidden and not superuser:
            continue
        decode = _decoder(f)
        if decode is _text and coll.type != "view":
            expr = f"row[{i}]"  # text columns of tables are NOT NULL: the stored value is the API value
        else:
            env[f"_d{i}"] = decode
            expr = f"_d{i}(row[{i}])"
        parts.append(f"{f.name!r}: {expr}")
    decoder: Decoder = eval(f"lambda row: {{{', '.join(parts)}}}", env)  # noqa: S307 - see docstring
    return decoder


def _decoders(coll: Collection, fields: Fields) -> tuple[Decoder, Decoder]:
    """(superuser decoder, everyone-else decoder) for rows in ``fields`` order: the layout's when
    ``fields`` are its own (every caller passes `select_list`'s), else built now."""
    lay = layout(coll)
    if fields is lay.fields:
        return lay.decoders(coll, _build_decoder)
    return _build_decoder(coll, fields, True), _build_decoder(coll, fields, False)


def row_to_record(coll: Collection, fields: Fields, row: tuple[Any, ...], req: RequestInfo | None) -> dict[str, Any]:
    """One row as PocketBase shows a record to the requester ``req`` (None: internal use)."""
    return rows_to_records(coll, fields, [row], req)[0]


def rows_to_records(
    coll: Collection, fields: Fields, rows: list[tuple[Any, ...]], req: RequestInfo | None
) -> list[dict[str, Any]]:
    """Rows as PocketBase shows records to the requester ``req`` (None: internal use)."""
    superuser = req is None or req.is_superuser
    decode = _decoders(coll, fields)[0 if superuser else 1]
    records = [decode(row) for row in rows]
    if coll.type == "auth" and not superuser:
        auth = req.auth if req else None
        me = auth.get("id") if auth and auth.get("collectionId") == coll.id else None
        for rec in records:
            if not rec.get("emailVisibility") and (me is None or rec.get("id") != me):
                rec.pop("email", None)  # PocketBase leaves the key out
    return records


def raw_record(coll: Collection, fields: Fields, row: tuple[Any, ...]) -> dict[str, Any]:
    """Every stored value (hidden ones included) as Python values, for the write path."""
    return {f.name: f.from_db(raw) for f, raw in zip(fields, row)}
