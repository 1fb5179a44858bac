"""``email`` and ``url``: strings checked for format and allowed or excluded domains."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from baas.errors import FieldError
from baas.schema.fields.base import Field

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def check_domain(domain: str, only: list[str] | None, exclude: list[str] | None, kind: str) -> None:
    domain = domain.lower()
    if only and domain not in [d.lower() for d in only]:
        raise FieldError(f"validation_{kind}_domain_not_allowed", "Domain is not allowed.")
    if exclude and domain in [d.lower() for d in exclude]:
        raise FieldError(f"validation_{kind}_domain_not_allowed", "Domain is not allowed.")


class EmailField(Field, tag="email", kw_only=True):
    exceptDomains: list[str] | None = None
    onlyDomains: list[str] | None = None

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value == "":
            return
        if len(value) > 255 or not _EMAIL.match(value):
            raise FieldError("validation_is_email", "Must be a valid email address.")
        check_domain(value.rsplit("@", 1)[1], self.onlyDomains, self.exceptDomains, "email")


class URLField(Field, tag="url", kw_only=True):
    exceptDomains: list[str] | None = None
    onlyDomains: list[str] | None = None

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value == "":
            return
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https", "ftp", "ftps", "mailto", "ws", "wss")
            or not (parts.netloc or parts.scheme == "mailto")
            or " " in value
        ):
            raise FieldError("validation_is_url", "Must be a valid URL.")
        check_domain(parts.hostname or "", self.onlyDomains, self.exceptDomains, "url")
