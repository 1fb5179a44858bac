"""Python client for baas (and PocketBase-compatible servers).

``Client`` (sync) and ``AsyncClient`` share one core; see the package README."""

from ._async_client import (
    AsyncApiKeyService,
    AsyncBatch,
    AsyncClient,
    AsyncFileService,
    AsyncFunctionService,
    AsyncPushService,
    AsyncRecordService,
)
from ._async_realtime import AsyncRealtime
from ._core import (
    AuthResponse,
    BatchResult,
    ClientError,
    FileContent,
    Files,
    ListResult,
    MFARequiredError,
    RecordEvent,
    bind_filter,
)
from ._sync_client import ApiKeyService, Batch, Client, FileService, FunctionService, PushService, RecordService
from ._sync_realtime import Realtime
from .auth_store import AuthStore, FileAuthStore
from .batch import BatchCollection
from .webhooks import WebhookVerificationError, sign_webhook, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "ApiKeyService",
    "AsyncApiKeyService",
    "AsyncBatch",
    "AsyncClient",
    "AsyncFileService",
    "AsyncFunctionService",
    "AsyncPushService",
    "AsyncRealtime",
    "AsyncRecordService",
    "AuthResponse",
    "AuthStore",
    "Batch",
    "BatchCollection",
    "BatchResult",
    "Client",
    "ClientError",
    "FileAuthStore",
    "FileContent",
    "FileService",
    "Files",
    "FunctionService",
    "PushService",
    "ListResult",
    "MFARequiredError",
    "Realtime",
    "RecordEvent",
    "RecordService",
    "WebhookVerificationError",
    "bind_filter",
    "sign_webhook",
    "verify_webhook",
]
