"""System fields and the collections every install has (``_superusers``, ``users``)."""

from __future__ import annotations

import zlib

from baas.schema.fields import AnyField, AutodateField, BoolField, EmailField, FileField, PasswordField, TextField
from baas.schema.model import Collection, Index


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id (``pbc_123…``, ``text123…``) so re-declared schemas keep their ids."""
    return f"{prefix}{zlib.crc32('/'.join(parts).encode())}"


def id_field(collection: str) -> TextField:
    return TextField(
        name="id",
        id=stable_id("text", collection, "id"),
        system=True,
        primaryKey=True,
        required=True,
        min=15,
        max=15,
        pattern="^[a-z0-9]+$",
        autogeneratePattern="[a-z0-9]{15}",
    )


def autodates(collection: str) -> list[AnyField]:
    return [
        AutodateField(name="created", id=stable_id("autodate", collection, "created"), onCreate=True, onUpdate=False),
        AutodateField(name="updated", id=stable_id("autodate", collection, "updated"), onCreate=True, onUpdate=True),
    ]


def auth_fields(collection: str) -> list[AnyField]:
    """The fields PocketBase puts on every auth collection."""
    return [
        PasswordField(
            name="password",
            id=stable_id("password", collection, "password"),
            system=True,
            hidden=True,
            required=True,
            min=8,
        ),
        TextField(
            name="tokenKey",
            id=stable_id("text", collection, "tokenKey"),
            system=True,
            hidden=True,
            required=True,
            min=30,
            max=60,
            autogeneratePattern="[a-zA-Z0-9]{50}",
        ),
        EmailField(name="email", id=stable_id("email", collection, "email"), system=True, required=True),
        BoolField(name="emailVisibility", id=stable_id("bool", collection, "emailVisibility"), system=True),
        BoolField(name="verified", id=stable_id("bool", collection, "verified"), system=True),
    ]


def auth_indexes(collection: str) -> list[Index]:
    """The unique indexes every auth collection has. The email one ignores case, so an address
    registered as ``alice@example.com`` cannot be taken again as ``Alice@Example.com``."""
    return [
        Index(name=f"idx_tokenKey_{collection}", columns=["tokenKey"], unique=True),
        Index(name=f"idx_email_{collection}", columns=["email"], unique=True, where="`email` != ''", nocase=["email"]),
    ]


def with_auth_indexes(collection: str, declared: list[Index]) -> list[Index]:
    """An auth collection's indexes: its system indexes first, whatever was declared, then the
    declared ones that are not a system index again (same name, or unique on the same column)."""
    system = auth_indexes(collection)
    names = {i.name for i in system}
    columns = [i.columns for i in system]
    rest = [
        i for i in declared if i.name not in names and not (i.unique and [c.lstrip("-") for c in i.columns] in columns)
    ]
    return system + rest


def superusers() -> Collection:
    name = "_superusers"
    return Collection(
        name=name,
        type="auth",
        id=stable_id("pbc_", name),
        system=True,
        fields=[id_field(name), *auth_fields(name), *autodates(name)],
        indexes=[*auth_indexes(name)],
    )


def users() -> Collection:
    name = "users"
    return Collection(
        name=name,
        type="auth",
        id="_pb_users_auth_",  # PocketBase's id, which its clients may know
        fields=[
            id_field(name),
            *auth_fields(name),
            TextField(name="name", id=stable_id("text", name, "name"), max=255),
            FileField(
                name="avatar",
                id=stable_id("file", name, "avatar"),
                maxSelect=1,
                mimeTypes=["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"],
            ),
            *autodates(name),
        ],
        indexes=[*auth_indexes(name)],
        listRule="id = @request.auth.id",
        viewRule="id = @request.auth.id",
        createRule="",
        updateRule="id = @request.auth.id",
        deleteRule="id = @request.auth.id",
        manageRule=None,
    )
