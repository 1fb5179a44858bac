"""Domain errors and PocketBase's error shape; the HTTP mapping lives in ``baas.api``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FieldError(Exception):
    """One field's validation failure: a PocketBase error code and a human message."""

    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params or {}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.params:
            out["params"] = self.params
        return out


class ApiError(Exception):
    """An error with a status code and PocketBase's ``{status, message, data}`` shape."""

    status = 400
    default_message = "Something went wrong while processing your request."

    def __init__(self, message: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.data = data or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        data = {k: (v.as_dict() if isinstance(v, FieldError) else v) for k, v in self.data.items()}
        return {"status": self.status, "message": self.message, "data": data}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401
    default_message = "The request requires valid record authorization token."


class Forbidden(ApiError):
    status = 403
    default_message = "The authorized record is not allowed to perform this action."


class NotFound(ApiError):
    status = 404
    default_message = "The requested resource wasn't found."


class TooLarge(ApiError):
    status = 413
    default_message = "Request entity too large"


class Unavailable(ApiError):
    status = 503
    default_message = "The service is unavailable."


class TooManyRequests(ApiError):
    status = 429
    default_message = "Too Many Requests."


class ValidationFailed(BadRequest):
    """Raised with a ``{field: FieldError}`` map when a record or collection is invalid."""

    def __init__(self, errors: Mapping[str, FieldError | dict[str, Any]], message: str = "Failed to validate.") -> None:
        super().__init__(message, dict(errors))


class SchemaError(Exception):
    """A schema (file or API payload) is invalid or a change is refused."""

    def __init__(
        self, message: str, *, path: str = "", line: int | None = None, errors: dict[str, Any] | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.errors = errors or {}
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.path
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message
