"""The sync client, generated from `_async_client.py` by ``tools/unasync.py``: do not edit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, cast

import httpx

from ._core import (
    AuthResponse,
    BatchResult,
    C,
    ClientError,
    Files,
    ListResult,
    Names,
    Plan,
    QueryValue,
    R,
    U,
    aggregate_query,
    auth_response,
    bind_filter,
    build_url,
    check_body,
    decode,
    encode_json,
    error_of,
    list_query,
    list_result,
    multipart,
    redact,
    refresh_due,
    seg,
)
from ._sync_realtime import Realtime, RecordCallback, Unsubscribe
from .auth_store import AuthStore
from .batch import BatchCollection, BatchRequests

log = logging.getLogger("baas_client")

Record = dict[str, Any]


class Client:
    """A client of one baas (or PocketBase) server.

    ``with Client("http://127.0.0.1:8090") as pb: ...``. The token in ``auth_store`` is
    sent with every request and refreshed automatically shortly before it expires."""

    refresh_margin: float = 60.0
    """Refresh a record token this many seconds before it expires (on the next request)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth_store: AuthStore | None = None,
        timeout: float = 30.0,
        lang: str = "en-US",
        http_client: httpx.Client | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.auth_store = auth_store if auth_store is not None else AuthStore()
        self.timeout = timeout
        self.lang = lang
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)
        self._refreshing = threading.Lock()
        self.files = FileService(self)
        self.functions = FunctionService(self)
        self.api_keys = ApiKeyService(self)
        self.push = PushService(self)
        self.realtime = Realtime(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop realtime and close the connections."""
        self.realtime.disconnect()
        self._http.close()

    def collection(self, name: str) -> RecordService[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The records (and, for an auth collection, the auth methods) of collection ``name``."""
        return RecordService(self, name)

    def filter(self, expr: str, params: Mapping[str, Any] | None = None) -> str:
        """``expr`` with each ``{:name}`` replaced by ``params[name]`` as a safely quoted literal."""
        return bind_filter(expr, params)

    def batch(self) -> Batch:
        """A batch of record writes sent in one transaction (``POST /api/batch``)."""
        return Batch(self)

    def use_api_key(self, key: str) -> None:
        """Send an API key (``baas_…``) as the credential of every request."""
        if not isinstance(key, str) or not key.strip():
            raise ValueError("the API key must be a non-empty string")
        self.auth_store.save(key.strip(), None)

    def build_url(self, path: str, query: Mapping[str, QueryValue] | None = None) -> str:
        return build_url(self.base_url, path, query)

    def send(
        self,
        path: str,
        *,
        method: str = "GET",
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        files: Files | None = None,
    ) -> Any:
        """Any API request, with auth attached; answers the decoded JSON (``None`` for 204)."""
        return self.execute(Plan(method.upper(), path, dict(query or {}), body, files))

    def execute(self, plan: Plan) -> Any:
        if plan.auth and plan.refresh:
            self._maybe_refresh()
        url = self.build_url(plan.path, plan.query)
        headers = {"Accept-Language": self.lang}
        token = self.auth_store.token if plan.auth else ""
        if token:
            headers["Authorization"] = token
        opened: list[Any] = []
        try:
            extra: dict[str, Any] = {}
            if plan.files:
                data, parts = multipart(check_body(plan.json), plan.files, opened)
                extra = {"data": data, "files": parts}
            elif plan.json is not None:
                extra = {"content": encode_json(plan.json)}
                headers["Content-Type"] = "application/json"
            try:
                resp = self._http.request(plan.method, url, headers=headers, **extra)
            except httpx.HTTPError as exc:
                log.debug("%s %s failed: %s", plan.method, redact(url), type(exc).__name__)
                raise ClientError(0, f"The request failed: {type(exc).__name__}: {exc}", url=url) from exc
        finally:
            for handle in opened:
                handle.close()
        log.debug("%s %s -> %d", plan.method, redact(url), resp.status_code)
        payload = decode(resp.content)
        if resp.status_code >= 400:
            raise error_of(resp.status_code, url, payload)
        return payload

    def _maybe_refresh(self) -> None:
        token = self.auth_store.token
        collection = refresh_due(token, self.refresh_margin) if token else None
        if collection is None:
            return
        with self._refreshing:
            if self.auth_store.token != token:  # another request refreshed it meanwhile
                return
            try:
                self.execute_auth(Plan("POST", f"/api/collections/{seg(collection)}/auth-refresh", refresh=False))
            except ClientError as exc:  # the request goes on with the current token
                log.debug("token refresh failed with status %d", exc.status)

    def execute_auth(self, plan: Plan) -> AuthResponse[Any]:
        result = auth_response(self.execute(plan))
        record: Any = result.record
        self.auth_store.save(result.token, cast(Record, record) if isinstance(record, dict) else None)
        return result


class RecordService(Generic[R, C, U]):
    """The records of one collection. ``R`` is the record type answered, ``C`` the create body, ``U``
    the update body (`baas gen types` fills them in per collection)."""

    def __init__(self, client: Client, collection: str) -> None:
        seg(collection)  # refuses an empty or non-string name here rather than on the first call
        self.client = client
        self.collection_name = collection

    @property
    def _base(self) -> str:
        return f"/api/collections/{seg(self.collection_name)}"

    def _one(self, record_id: str) -> str:
        return f"{self._base}/records/{seg(record_id)}"

    # -- CRUD -------------------------------------------------------------------------------------
    def get_list(
        self,
        page: int = 1,
        per_page: int = 30,
        *,
        filter: str | None = None,  # noqa: A002  # PocketBase's name
        sort: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
        skip_total: bool = False,
        search: str | None = None,
    ) -> ListResult[R]:
        """One page of records (``filter``: see `Client.filter` for binding values;
        ``search``: words, on a collection with full-text search, docs/search.md)."""
        query = list_query(
            page=page,
            per_page=per_page,
            filter=filter,
            sort=sort,
            expand=expand,
            fields=fields,
            skip_total=skip_total,
            search=search,
        )
        return cast(ListResult[R], list_result(self.client.execute(Plan("GET", f"{self._base}/records", query))))

    def iterate(
        self,
        *,
        batch: int = 500,
        filter: str | None = None,  # noqa: A002
        sort: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
        search: str | None = None,
    ) -> Iterator[R]:
        """Every matching record, fetched ``batch`` at a time as the iteration goes. It goes by
        cursor (docs/api.md, "Cursor paging"): records written meanwhile are neither repeated nor
        skipped (unless their sort values change meanwhile). A ``@random`` sort, a search in
        relevance order (no ``sort``), and a server without cursor paging (PocketBase), are read
        page by page instead."""
        by_page = bool(sort and "@random" in sort) or bool(search and not sort)
        cursor: str | None = None if by_page else ""
        page = 1
        while True:
            query = list_query(
                page=None if cursor is not None else page,
                per_page=batch,
                filter=filter,
                sort=sort,
                expand=expand,
                fields=fields,
                skip_total=True,
                search=search,
            )
            if cursor is not None:
                query["cursor"] = cursor
            payload = self.client.execute(Plan("GET", f"{self._base}/records", query))
            result = list_result(payload)
            for item in result.items:
                yield cast(R, item)
            if cursor is not None and "nextCursor" in payload:
                if not result.next_cursor:
                    return
                cursor = result.next_cursor
                continue
            cursor = None  # the answer was a plain page: on by page numbers
            if len(result.items) < batch:
                return
            page += 1

    def get_full_list(
        self,
        *,
        batch: int = 500,
        filter: str | None = None,  # noqa: A002
        sort: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
        search: str | None = None,
    ) -> list[R]:
        """Every matching record, as one list."""
        return [
            item
            for item in self.iterate(batch=batch, filter=filter, sort=sort, expand=expand, fields=fields, search=search)
        ]

    def aggregate(
        self,
        *,
        group_by: Names = None,
        sum: Names = None,  # noqa: A002  # the wire names
        avg: Names = None,
        min: Names = None,  # noqa: A002
        max: Names = None,  # noqa: A002
        distinct: Names = None,
        filter: str | None = None,  # noqa: A002
        search: str | None = None,
        having: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 30,
        skip_total: bool = False,
    ) -> ListResult[dict[str, Any]]:
        """Groups of the records you may list (docs/aggregates.md): each item has ``group`` (the
        key values), ``count`` and one object per asked function, e.g.
        ``{"group": {"status": "open"}, "count": 3, "sum": {"views": 12}}``. ``having`` and
        ``sort`` name ``count``, ``sum.views``, … and the group keys."""
        query = aggregate_query(
            group_by=group_by,
            sums=sum,
            avgs=avg,
            mins=min,
            maxs=max,
            distinct=distinct,
            filter=filter,
            search=search,
            having=having,
            sort=sort,
            page=page,
            per_page=per_page,
            skip_total=skip_total,
        )
        return list_result(self.client.execute(Plan("GET", f"{self._base}/aggregate", query)))

    def get_first_list_item(self, filter: str, *, expand: str | None = None, fields: str | None = None) -> R:  # noqa: A002
        """The first record matching ``filter``; `ClientError` 404 when none does."""
        result = self.get_list(1, 1, filter=filter, expand=expand, fields=fields, skip_total=True)
        if not result.items:
            url = self.client.build_url(f"{self._base}/records", {"filter": filter})
            raise ClientError(404, "The requested resource wasn't found.", None, url)
        return result.items[0]

    def get_one(self, record_id: str, *, expand: str | None = None, fields: str | None = None) -> R:
        return cast(R, self.client.execute(Plan("GET", self._one(record_id), list_query(expand=expand, fields=fields))))

    def create(
        self, body: C | None = None, *, files: Files | None = None, expand: str | None = None, fields: str | None = None
    ) -> R:
        """Create a record from ``body`` (and ``files``: ``{"field": path | bytes | stream | (name, content)}``)."""
        plan = Plan("POST", f"{self._base}/records", list_query(expand=expand, fields=fields), check_body(body), files)
        return cast(R, self.client.execute(plan))

    def update(
        self,
        record_id: str,
        body: U | None = None,
        *,
        files: Files | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> R:
        """Update a record; ``"views+": 1``, ``"tags-": ["x"]``, ``"photos+"`` files … as in PocketBase."""
        query = list_query(expand=expand, fields=fields)
        plan = Plan("PATCH", self._one(record_id), query, check_body(body) or {}, files)
        result: Any = self.client.execute(plan)
        store = self.client.auth_store
        if store.record and store.record.get("id") == record_id and isinstance(result, dict):
            store.save(store.token, {**store.record, **cast(Record, result)})  # keep the signed-in record current
        return cast(R, result)

    def delete(self, record_id: str) -> None:
        self.client.execute(Plan("DELETE", self._one(record_id)))
        store = self.client.auth_store
        if store.record and store.record.get("id") == record_id:
            store.clear()

    # -- realtime ---------------------------------------------------------------------------------
    def subscribe(
        self,
        topic: str,
        callback: RecordCallback[R],
        *,
        filter: str | None = None,  # noqa: A002
        fields: str | None = None,
        expand: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Unsubscribe:
        """Call ``callback(RecordEvent)`` for every change of a record (``topic`` = its id) or of the
        collection (``"*"``) the caller may see; answers a function that ends this subscription.
        Dropped connections are re-opened and re-subscribed by themselves."""
        if not isinstance(topic, str) or not topic:
            raise ValueError("topic must be '*' or a record id")
        return self.client.realtime.subscribe_records(
            f"{self.collection_name}/{topic}",
            cast(RecordCallback[Any], callback),
            filter=filter,
            fields=fields,
            expand=expand,
            headers=headers,
        )

    def unsubscribe(self, topic: str | None = None) -> None:
        """End the subscriptions to ``topic`` (every option variant), or all of this collection's."""
        if topic is None:
            self.client.realtime.unsubscribe_by_prefix(f"{self.collection_name}/")
        else:
            self.client.realtime.unsubscribe(f"{self.collection_name}/{topic}")

    # -- auth -------------------------------------------------------------------------------------
    def list_auth_methods(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.client.execute(Plan("GET", f"{self._base}/auth-methods", auth=False)))

    def auth_with_password(
        self,
        identity: str,
        password: str,
        *,
        mfa_id: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> AuthResponse[R]:
        """Sign in; the token is saved in the auth store. Raises `MFARequiredError` (with ``mfa_id``)
        when a second factor is needed."""
        body = {"identity": _text("identity", identity), "password": _text("password", password)}
        return self._sign_in("auth-with-password", body, mfa_id, expand, fields)

    def auth_refresh(self, *, expand: str | None = None, fields: str | None = None) -> AuthResponse[R]:
        """A fresh token for the signed-in record (saved in the auth store)."""
        plan = Plan("POST", f"{self._base}/auth-refresh", list_query(expand=expand, fields=fields), refresh=False)
        return cast(AuthResponse[R], self.client.execute_auth(plan))

    def request_otp(self, email: str) -> str:
        """Mail a one-time code; answers the ``otpId`` to sign in with."""
        plan = Plan("POST", f"{self._base}/request-otp", json={"email": _text("email", email)}, auth=False)
        return str(cast(dict[str, Any], self.client.execute(plan))["otpId"])

    def auth_with_otp(
        self,
        otp_id: str,
        password: str,
        *,
        mfa_id: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> AuthResponse[R]:
        body = {"otpId": _text("otp_id", otp_id), "password": _text("password", password)}
        return self._sign_in("auth-with-otp", body, mfa_id, expand, fields)

    def auth_with_oauth2_code(
        self,
        provider: str,
        code: str,
        code_verifier: str,
        redirect_url: str,
        create_data: Mapping[str, Any] | None = None,
        *,
        mfa_id: str | None = None,
        expand: str | None = None,
        fields: str | None = None,
    ) -> AuthResponse[R]:
        """Finish an OAuth2 sign-in: exchange the provider's ``code`` (with the PKCE verifier and the
        redirect URL of the authorization request, from `list_auth_methods`)."""
        body: dict[str, Any] = {
            "provider": _text("provider", provider),
            "code": _text("code", code),
            "codeVerifier": _text("code_verifier", code_verifier),
            "redirectURL": _text("redirect_url", redirect_url),
        }
        if create_data is not None:
            body["createData"] = dict(create_data)
        return self._sign_in("auth-with-oauth2", body, mfa_id, expand, fields)

    def auth_with_totp(
        self, mfa_id: str, code: str | None = None, *, recovery_code: str | None = None
    ) -> AuthResponse[R]:
        """The TOTP second factor: a current ``code`` or a ``recovery_code``."""
        if (code is None) == (recovery_code is None):
            raise ValueError("give exactly one of code and recovery_code")
        body: dict[str, Any] = {"mfaId": _text("mfa_id", mfa_id)}
        if code is not None:
            body["code"] = _text("code", code)
        else:
            body["recoveryCode"] = _text("recovery_code", recovery_code)
        plan = Plan("POST", f"{self._base}/auth-with-totp", json=body, auth=False)
        return cast(AuthResponse[R], self.client.execute_auth(plan))

    def totp_enroll(self) -> dict[str, Any]:
        """Start a TOTP enrolment for the signed-in record: ``{"secret", "uri"}``."""
        return cast(dict[str, Any], self.client.execute(Plan("POST", f"{self._base}/totp/enroll", json={})))

    def totp_confirm(self, code: str) -> list[str]:
        """Confirm the enrolment with a current code; answers the recovery codes (shown once)."""
        plan = Plan("POST", f"{self._base}/totp/confirm", json={"code": _text("code", code)})
        return list(cast(dict[str, Any], self.client.execute(plan))["recoveryCodes"])

    def totp_status(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.client.execute(Plan("GET", f"{self._base}/totp")))

    def totp_disable(self, *, code: str | None = None, password: str | None = None) -> None:
        if (code is None) == (password is None):
            raise ValueError("give exactly one of code and password")
        body = {"code": _text("code", code)} if code is not None else {"password": _text("password", password)}
        self.client.execute(Plan("DELETE", f"{self._base}/totp", json=body))

    def request_verification(self, email: str) -> None:
        self._post(f"{self._base}/request-verification", {"email": _text("email", email)})

    def confirm_verification(self, token: str) -> None:
        self._post(f"{self._base}/confirm-verification", {"token": _text("token", token)})

    def request_password_reset(self, email: str) -> None:
        self._post(f"{self._base}/request-password-reset", {"email": _text("email", email)})

    def confirm_password_reset(self, token: str, password: str, password_confirm: str) -> None:
        body = {"token": token, "password": password, "passwordConfirm": password_confirm}
        self._post(f"{self._base}/confirm-password-reset", body)

    def request_email_change(self, new_email: str) -> None:
        self.client.execute(
            Plan("POST", f"{self._base}/request-email-change", json={"newEmail": _text("new_email", new_email)})
        )

    def confirm_email_change(self, token: str, password: str) -> None:
        self._post(f"{self._base}/confirm-email-change", {"token": token, "password": password})

    def impersonate(
        self, record_id: str, duration: int = 0, *, expand: str | None = None, fields: str | None = None
    ) -> Client:
        """Superusers: a new client signed in as record ``record_id``, with a token that cannot be
        refreshed and lasts ``duration`` seconds (0: the collection's auth token duration). This
        client's auth is unchanged; close the new one when done."""
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise ValueError(f"duration must be a whole number of seconds >= 0, not {duration!r}")
        plan = Plan(
            "POST",
            f"{self._base}/impersonate/{seg(record_id)}",
            list_query(expand=expand, fields=fields),
            {"duration": duration} if duration else {},
        )
        result = auth_response(self.client.execute(plan))
        other = Client(self.client.base_url, timeout=self.client.timeout, lang=self.client.lang)
        record: Any = result.record
        other.auth_store.save(result.token, cast(Record, record) if isinstance(record, dict) else None)
        return other

    def _post(self, path: str, body: dict[str, Any]) -> None:
        self.client.execute(Plan("POST", path, json=body, auth=False))

    def _sign_in(
        self, route: str, body: dict[str, Any], mfa_id: str | None, expand: str | None, fields: str | None
    ) -> AuthResponse[R]:
        query = list_query(expand=expand, fields=fields)
        if mfa_id is not None:
            query["mfaId"] = _text("mfa_id", mfa_id)  # where PocketBase's SDK sends it
        plan = Plan("POST", f"{self._base}/{route}", query, body, auth=False)
        return cast(AuthResponse[R], self.client.execute_auth(plan))


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value


class FileService:
    """File URLs and protected-file tokens."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get_url(
        self,
        record: Mapping[str, Any],
        filename: str,
        *,
        thumb: str | None = None,
        token: str | None = None,
        download: bool = False,
    ) -> str:
        """The URL of one of ``record``'s files (``thumb="100x100"``; ``token`` from `get_token` for
        protected files). Answers ``""`` when ``filename`` is empty, as PocketBase's SDK does."""
        if not filename:
            return ""
        collection = record.get("collectionId") or record.get("collectionName")
        record_id = record.get("id")
        if not isinstance(collection, str) or not isinstance(record_id, str):
            raise ValueError("the record needs 'id' and 'collectionId' (or 'collectionName')")
        query: dict[str, QueryValue] = {"thumb": thumb, "token": token, "download": True if download else None}
        return self.client.build_url(f"/api/files/{seg(collection)}/{seg(record_id)}/{seg(filename)}", query)

    def get_token(self) -> str:
        """A short-lived token for protected files (needs a signed-in record or superuser)."""
        return str(cast(dict[str, Any], self.client.execute(Plan("POST", "/api/files/token")))["token"])


class FunctionService:
    """Callable functions (``POST /api/functions/{name}``), with the client's auth."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, name: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call function ``name`` with the JSON object ``body``; answers what it returned."""
        return self.client.execute(Plan("POST", f"/api/functions/{seg(name)}", json=dict(check_body(body) or {})))


class ApiKeyService:
    """baas: API keys (``/api/apikeys``), for superusers. A key is a credential for servers and
    scripts, scoped to collections and actions; its secret is answered once, by `create`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def create(self, name: str, scopes: Sequence[Mapping[str, Any]], *, expires: str | None = None) -> dict[str, Any]:
        """A new key: ``scopes`` like ``[{"collection": "posts", "actions": ["list", "view"]}]``,
        ``expires`` a date (``"2027-01-01 00:00:00.000Z"``) or None. The answer's ``key`` is the
        secret (``baas_…``), shown this once; use it with `Client.use_api_key`."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("the API key needs a non-empty name")
        if isinstance(scopes, (str, bytes)) or not isinstance(scopes, Sequence):
            raise TypeError("scopes must be a list of {collection, actions} objects")
        body: dict[str, Any] = {"name": name, "scopes": [dict(s) for s in scopes]}
        if expires is not None:
            body["expires"] = _text("expires", expires)
        return cast(dict[str, Any], self.client.execute(Plan("POST", "/api/apikeys", json=body)))

    def get_list(self, page: int = 1, per_page: int = 30) -> ListResult[dict[str, Any]]:
        """One page of keys (never their secrets)."""
        query = list_query(page=page, per_page=per_page)
        return list_result(self.client.execute(Plan("GET", "/api/apikeys", query)))

    def get_one(self, key_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.client.execute(Plan("GET", f"/api/apikeys/{seg(key_id)}")))

    def delete(self, key_id: str) -> None:
        """Revoke a key: it is refused (401) from then on."""
        self.client.execute(Plan("DELETE", f"/api/apikeys/{seg(key_id)}"))


class PushService:
    """baas: push notifications (``/api/push``; docs/push.md). A signed-in user manages their devices
    and preferences; superusers also see every device, send, and read the delivery log."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def key(self) -> dict[str, Any]:
        """``{"publicKey": …}``: the VAPID key browsers subscribe with (``applicationServerKey``)."""
        return cast(dict[str, Any], self.client.execute(Plan("GET", "/api/push/key")))

    def subscribe(self, subscription: Mapping[str, Any], *, label: str | None = None) -> dict[str, Any]:
        """Register a device: a browser's ``PushSubscription.toJSON()`` (``endpoint``, ``keys``)."""
        body = dict(check_body(subscription) or {})
        if label is not None:
            body["label"] = _text("label", label)
        return cast(dict[str, Any], self.client.execute(Plan("POST", "/api/push/subscriptions", json=body)))

    def subscriptions(self, page: int = 1, per_page: int = 30) -> ListResult[dict[str, Any]]:
        """One page of the signed-in user's devices (a superuser's: everybody's), newest first."""
        query = list_query(page=page, per_page=per_page)
        return list_result(self.client.execute(Plan("GET", "/api/push/subscriptions", query)))

    def unsubscribe(self, subscription_id: str) -> None:
        self.client.execute(Plan("DELETE", f"/api/push/subscriptions/{seg(subscription_id)}"))

    def preferences(self) -> dict[str, Any]:
        """``{"enabled": bool, "mutedTopics": [...]}`` of the signed-in user."""
        return cast(dict[str, Any], self.client.execute(Plan("GET", "/api/push/preferences")))

    def set_preferences(
        self, *, enabled: bool | None = None, muted_topics: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Opt out (``enabled=False``) or back in, and/or replace the muted topics."""
        body: dict[str, Any] = {}
        if enabled is not None:
            body["enabled"] = bool(enabled)
        if muted_topics is not None:
            if isinstance(muted_topics, (str, bytes)):
                raise TypeError("muted_topics must be a list of topics")
            body["mutedTopics"] = list(muted_topics)
        return cast(dict[str, Any], self.client.execute(Plan("PATCH", "/api/push/preferences", json=body)))

    def send(
        self,
        to: Any,
        payload: Any,
        *,
        filter: str | None = None,  # noqa: A002 - the API's name
        topic: str | None = None,
        ttl: int | None = None,
        urgency: str | None = None,
        collapse: str | None = None,
    ) -> dict[str, Any]:
        """Superusers: queue ``payload`` for the devices of ``to`` (records or ``[collection, id]``
        pairs; or an auth collection's name with ``filter``). ``{message, queued, optedOut, noDevice}``."""
        body: dict[str, Any] = {"to": to, "payload": payload}
        extra = {"filter": filter, "topic": topic, "ttl": ttl, "urgency": urgency, "collapse": collapse}
        body.update({k: v for k, v in extra.items() if v is not None})
        return cast(dict[str, Any], self.client.execute(Plan("POST", "/api/push/send", json=body)))

    def deliveries(
        self, *, message: str | None = None, state: str | None = None, page: int = 1, per_page: int = 30
    ) -> ListResult[dict[str, Any]]:
        """Superusers: one page of the delivery log, newest first."""
        query: dict[str, QueryValue] = dict(list_query(page=page, per_page=per_page))
        if message:
            query["message"] = message
        if state:
            query["state"] = state
        return list_result(self.client.execute(Plan("GET", "/api/push/deliveries", query)))


class Batch(BatchRequests):
    """Writes collected with ``batch.collection("posts").create({...})`` …, sent by `send`."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    def collection(self, name: str) -> BatchCollection:
        return BatchCollection(self, name)

    def send(self) -> list[BatchResult]:
        """Run the writes in one transaction; all or nothing (a failure raises `ClientError`)."""
        requests, files = self.take()  # with files: a multipart body (requests in @jsonPayload)
        payload = self.client.execute(Plan("POST", "/api/batch", json={"requests": requests}, files=files or None))
        return [BatchResult(int(r.get("status", 0)), r.get("body")) for r in cast(list[dict[str, Any]], payload)]


__all__ = [
    "ApiKeyService",
    "Batch",
    "Client",
    "FileService",
    "FunctionService",
    "RecordService",
]
