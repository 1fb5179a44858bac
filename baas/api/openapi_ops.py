"""The table of every HTTP operation the OpenAPI document describes (see baas/api/openapi.py).

One `Op` per (method, route). ``path`` is the route as the app declares it (Litestar's
``{name:str}`` without the type), so tests/api/test_openapi.py can hold this table against the
app's real route list: a route without an entry here, or an entry without a route, fails it.
A new route gets its line here next to the others of its module.

Operations with ``per`` set are repeated for each collection (``"collection"``: every one,
``"writable"``: all but views, ``"auth"``: auth collections), with the collection's own schemas:
``"@Create"`` names the component ``<collection>_Create`` (see baas/api/openapi_records.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from baas.schema.jobs import BUILTIN_TASKS

Schema = dict[str, Any]
Ref = str | Schema | None  # "Name": a shared component, "@Suffix": the collection's, or an inline schema

RECORD_Q = ("expand", "fields")
LIST_Q = ("page", "perPage", "sort", "filter", "expand", "fields", "skipTotal")


@dataclass(frozen=True)
class Op:
    """One documented operation."""

    method: str
    path: str
    tag: str
    summary: str
    per: Literal["", "collection", "writable", "auth"] = ""
    body: Ref = None  # JSON request body
    form: Ref = None  # multipart request body (file uploads)
    status: int = 200
    answer: Ref = None  # the success body (None: no content)
    media: str = "application/json"
    query: tuple[str, ...] = ()
    auth: Literal["optional", "record", "superuser"] = "optional"
    body_required: bool = True


def _obj(required: tuple[str, ...] = (), **props: Schema) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}  # noqa: E741  (I: integer, as S and B)
EMAIL = _obj(("email",), email={"type": "string"})
LOG = _obj(
    ("id", "created", "level", "message", "data"),
    id=S,
    created=S,
    level=I,
    message=S,
    data={"type": "object"},
)
_NUM_OR_NULL = {"type": ["number", "null"]}
LOG_STEP = _obj(
    ("requests", "clientErrors", "serverErrors", "successRate", "p50", "p99"),
    date=S,
    requests=I,
    clientErrors=I,
    serverErrors=I,
    successRate=_NUM_OR_NULL,
    p50=_NUM_OR_NULL,
    p99=_NUM_OR_NULL,
)

_BY_FIELD = {"type": "object", "additionalProperties": {}}
AGG_PAGE = _obj(
    ("page", "perPage", "totalItems", "totalPages", "items"),
    page=I,
    perPage=I,
    totalItems=I,
    totalPages=I,
    items={
        "type": "array",
        "items": _obj(
            ("group", "count"),
            group=_BY_FIELD,
            count=I,
            sum=_BY_FIELD,
            avg=_BY_FIELD,
            min=_BY_FIELD,
            max=_BY_FIELD,
            distinct=_BY_FIELD,
        ),
    },
)

WH_IN = _obj(
    ("name", "url", "events", "secret"),
    name=S,
    url=S,
    events={"type": "array", "items": S},
    filter=S,
    headers={"type": "object", "additionalProperties": S},
    secret=S,
    previousSecret=S,
    previousSecretUntil=S,
    enabled=B,
    timeout={"type": "number"},
    retryWindow={"type": ["number", "string"]},
    disableAfter=I,
    allowPrivate=B,
)
WH = _obj(
    ("id", "name", "url", "events", "enabled", "source"),
    id=S,
    name=S,
    url=S,
    events={"type": "array", "items": S},
    filter=S,
    headers={"type": "object", "additionalProperties": S},
    enabled=B,
    source=S,
    failures=I,
    disabledReason=S,
)
WH_LIST = _obj(("items",), page=I, perPage=I, totalItems=I, items={"type": "array", "items": WH})
R = "/api/collections/{collection_name}/records"
C = "/api/collections/{collection_name}"

OPS: list[Op] = [
    # records (baas/api/records.py; served by the fast path, baas/api/fast.py)
    Op(
        "GET",
        R,
        "records",
        "List and search records",
        per="collection",
        answer="@List",
        query=(*LIST_Q, "cursor", "search"),
    ),
    Op(
        "GET",
        C + "/aggregate",
        "records",
        "Count, sum, average, min and max over the records you may list, grouped",
        per="collection",
        answer=AGG_PAGE,
        query=(
            "groupBy",
            "sum",
            "avg",
            "min",
            "max",
            "distinct",
            "filter",
            "search",
            "having",
            "sort",
            "page",
            "perPage",
            "skipTotal",
        ),
    ),
    Op("GET", R + "/{record_id}", "records", "View a record", per="collection", answer="@Record", query=RECORD_Q),
    Op(
        "POST",
        R,
        "records",
        "Create a record",
        per="writable",
        body="@Create",
        form="@CreateForm",
        answer="@Record",
        query=RECORD_Q,
    ),
    Op(
        "PATCH",
        R + "/{record_id}",
        "records",
        "Update a record",
        per="writable",
        body="@Update",
        form="@UpdateForm",
        answer="@Record",
        query=RECORD_Q,
        body_required=False,
    ),
    Op("DELETE", R + "/{record_id}", "records", "Delete a record", per="writable", status=204),
    # auth (baas/api/auth.py, auth_email.py, auth_otp.py, auth_oauth2.py, auth_totp.py, auth_admin.py)
    Op(
        "GET",
        C + "/auth-methods",
        "auth",
        "The sign-in methods the collection allows",
        per="auth",
        answer="AuthMethods",
    ),
    Op(
        "POST",
        C + "/auth-with-password",
        "auth",
        "Sign in with identity and password",
        per="auth",
        body=_obj(("identity", "password"), identity=S, password=S, identityField=S, mfaId=S),
        answer="@Auth",
        query=RECORD_Q,
    ),
    Op(
        "POST",
        C + "/auth-refresh",
        "auth",
        "A new token for the record of the current one",
        per="auth",
        answer="@Auth",
        query=RECORD_Q,
        auth="record",
        body_required=False,
    ),
    Op(
        "POST",
        C + "/request-otp",
        "auth",
        "Mail a one-time password",
        per="auth",
        body=EMAIL,
        answer=_obj(("otpId",), otpId=S),
    ),
    Op(
        "POST",
        C + "/auth-with-otp",
        "auth",
        "Sign in with a one-time password",
        per="auth",
        body=_obj(("otpId", "password"), otpId=S, password=S, mfaId=S),
        answer="@Auth",
        query=RECORD_Q,
    ),
    Op(
        "POST",
        C + "/auth-with-oauth2",
        "auth",
        "Sign in with an OAuth2 provider's code",
        per="auth",
        body=_obj(
            ("provider", "code"),
            provider=S,
            code=S,
            codeVerifier=S,
            redirectURL=S,
            createData={"type": "object"},
            mfaId=S,
        ),
        answer="@Auth",
        query=RECORD_Q,
    ),
    Op(
        "POST",
        C + "/request-verification",
        "auth",
        "Mail an email verification link",
        per="auth",
        body=EMAIL,
        status=204,
    ),
    Op(
        "POST",
        C + "/confirm-verification",
        "auth",
        "Confirm an email address",
        per="auth",
        body=_obj(("token",), token=S),
        status=204,
    ),
    Op("POST", C + "/request-password-reset", "auth", "Mail a password reset link", per="auth", body=EMAIL, status=204),
    Op(
        "POST",
        C + "/confirm-password-reset",
        "auth",
        "Set a new password with a reset token",
        per="auth",
        body=_obj(("token", "password", "passwordConfirm"), token=S, password=S, passwordConfirm=S),
        status=204,
    ),
    Op(
        "POST",
        C + "/request-email-change",
        "auth",
        "Mail a link confirming a new address",
        per="auth",
        body=_obj(("newEmail",), newEmail=S),
        status=204,
        auth="record",
    ),
    Op(
        "POST",
        C + "/confirm-email-change",
        "auth",
        "Change the email address with a token",
        per="auth",
        body=_obj(("token", "password"), token=S, password=S),
        status=204,
    ),
    Op(
        "POST",
        C + "/impersonate/{record_id}",
        "auth",
        "A superuser signs in as the record",
        per="auth",
        body=_obj(duration={"type": "integer", "minimum": 0}),
        answer="@Auth",
        query=RECORD_Q,
        auth="superuser",
        body_required=False,
    ),
    Op(
        "POST",
        C + "/totp/enroll",
        "auth",
        "Start TOTP enrolment",
        per="auth",
        answer="TotpEnroll",
        auth="record",
        body_required=False,
    ),
    Op(
        "POST",
        C + "/totp/confirm",
        "auth",
        "Confirm TOTP enrolment with a code",
        per="auth",
        body=_obj(("code",), code=S),
        answer=_obj(("recoveryCodes",), recoveryCodes={"type": "array", "items": S}),
        auth="record",
    ),
    Op("GET", C + "/totp", "auth", "The record's TOTP status", per="auth", answer="TotpStatus", auth="record"),
    Op(
        "DELETE",
        C + "/totp",
        "auth",
        "Turn TOTP off (with a code or the password)",
        per="auth",
        body=_obj(code=S, password=S),
        status=204,
        auth="record",
    ),
    Op(
        "DELETE",
        C + "/totp/{record_id}",
        "auth",
        "A superuser resets a record's TOTP",
        per="auth",
        status=204,
        auth="superuser",
    ),
    Op(
        "POST",
        C + "/auth-with-totp",
        "auth",
        "Second factor: a TOTP or recovery code",
        per="auth",
        body=_obj(("mfaId",), mfaId=S, code=S, recoveryCode=S),
        answer="@Auth",
        query=RECORD_Q,
    ),
    # an auth record's OAuth2 links and TOTP status (baas/api/auth_links.py)
    Op(
        "GET",
        R + "/{record_id}/external-auths",
        "auth",
        "The record's linked OAuth2 accounts (superuser or the record itself)",
        per="auth",
        answer={"type": "array", "items": _obj(id=S, provider=S, providerId=S, recordRef=S, collectionRef=S)},
        auth="record",
    ),
    Op(
        "DELETE",
        R + "/{record_id}/external-auths/{provider}",
        "auth",
        "Unlink the record's OAuth2 account of a provider (superuser or the record itself)",
        per="auth",
        status=204,
        auth="record",
    ),
    Op(
        "GET",
        C + "/totp/{record_id}",
        "auth",
        "A record's TOTP status",
        per="auth",
        answer="TotpStatus",
        auth="superuser",
    ),
    Op(
        "GET",
        "/api/oauth2-redirect",
        "auth",
        "OAuth2 provider redirect (forwarded to the realtime client)",
        answer=S,
        media="text/html",
    ),
    Op(
        "POST",
        "/api/oauth2-redirect",
        "auth",
        "OAuth2 provider redirect (form_post)",
        answer=S,
        media="text/html",
        body_required=False,
    ),
    # API keys (baas/api/apikeys.py)
    Op(
        "POST",
        "/api/apikeys",
        "apikeys",
        "Create an API key (its secret is shown once)",
        auth="superuser",
        body=_obj(("name", "scopes"), name=S, scopes={"type": "array", "items": {"type": "object"}}, expires=S),
        answer="ApiKey",
    ),
    Op(
        "GET",
        "/api/apikeys",
        "apikeys",
        "List API keys",
        auth="superuser",
        query=("page", "perPage"),
        answer="ApiKeyList",
    ),
    Op("GET", "/api/apikeys/{key_id}", "apikeys", "View an API key", auth="superuser", answer="ApiKey"),
    Op("DELETE", "/api/apikeys/{key_id}", "apikeys", "Revoke an API key", auth="superuser", status=204),
    # files (baas/api/files.py)
    Op(
        "GET",
        "/api/files/{collection_name}/{record_id}/{filename}",
        "files",
        "Download a record's file",
        answer={"type": "string", "format": "binary"},
        media="*/*",
        query=("thumb", "download", "token"),
    ),
    Op(
        "HEAD",
        "/api/files/{collection_name}/{record_id}/{filename}",
        "files",
        "A record file's headers",
        media="*/*",
        query=("thumb", "download", "token"),
    ),
    Op(
        "POST",
        "/api/files/token",
        "files",
        "A short-lived token for protected files",
        answer="FileToken",
        auth="record",
        body_required=False,
    ),
    # batch (baas/api/batch.py)
    Op(
        "POST",
        "/api/batch",
        "batch",
        "Several record writes in one transaction",
        body="BatchRequest",
        answer={"type": "array", "items": _obj(("status", "body"), status=I, body={})},
    ),
    # realtime (baas/api/realtime.py; served in front of Litestar)
    Op(
        "GET",
        "/api/realtime",
        "realtime",
        "Open the event stream (PB_CONNECT names the client id)",
        answer=S,
        media="text/event-stream",
    ),
    Op(
        "POST",
        "/api/realtime",
        "realtime",
        "Set the client's subscriptions",
        status=204,
        body=_obj(("clientId",), clientId=S, subscriptions={"type": "array", "items": S}),
    ),
    # collections (baas/api/collections.py)
    Op(
        "GET",
        "/api/collections",
        "collections",
        "List collections",
        auth="superuser",
        query=("page", "perPage", "sort", "filter", "skipTotal"),
        answer="CollectionList",
    ),
    Op(
        "POST",
        "/api/collections",
        "collections",
        "Create a collection",
        auth="superuser",
        body="Collection",
        answer="Collection",
    ),
    Op("GET", C, "collections", "View a collection", auth="superuser", answer="Collection"),
    Op("PATCH", C, "collections", "Update a collection", auth="superuser", body="Collection", answer="Collection"),
    Op("DELETE", C, "collections", "Delete a collection", auth="superuser", status=204),
    Op("DELETE", C + "/truncate", "collections", "Delete every record of a collection", auth="superuser", status=204),
    Op(
        "PUT",
        "/api/collections/import",
        "collections",
        "Import collections",
        auth="superuser",
        status=204,
        body=_obj(
            ("collections",),
            collections={"type": "array", "items": {"$ref": "#/components/schemas/Collection"}},
            deleteMissing=B,
        ),
    ),
    Op(
        "POST",
        "/api/collections/plan",
        "collections",
        "Dry run: the planner's changes for a collection create, update or delete",
        auth="superuser",
        answer=_obj(
            ("changes", "destructive", "text"),
            destructive=B,
            text=S,
            changes={
                "type": "array",
                "items": _obj(
                    ("action", "collection", "destructive", "text"),
                    action=S,
                    collection=S,
                    detail=S,
                    destructive=B,
                    text=S,
                ),
            },
        ),
        body=_obj(
            ("action",),
            action={"type": "string", "enum": ["create", "update", "delete"]},
            collection={"$ref": "#/components/schemas/Collection"},
            target=S,
        ),
    ),
    # rule check, playground and schema export for the console (baas/api/rules_check.py,
    # rules_playground.py, schema_export.py)
    Op(
        "POST",
        "/api/collections/rules/check",
        "collections",
        "Check a rule against a saved or draft collection",
        auth="superuser",
        body=_obj(("collection",), collection={"oneOf": [S, {"type": "object"}]}, rule=S),
        answer=_obj(
            ("ok", "message"),
            ok=B,
            message=S,
            position={"type": ["integer", "null"]},
            length={"type": ["integer", "null"]},
        ),
    ),
    Op(
        "POST",
        "/api/collections/rules/playground",
        "collections",
        "What a guest, user or API key gets under a rule",
        auth="superuser",
        body=_obj(
            ("collection", "action", "requester"),
            collection=S,
            action={"type": "string", "enum": ["list", "view", "create", "update", "delete"]},
            requester=_obj(
                ("type",), type={"type": "string", "enum": ["guest", "record", "apikey"]}, collection=S, id=S
            ),
            rule={"type": ["string", "null"]},
            body={"type": "object"},
        ),
        answer=_obj(
            ("allowed", "reason", "records", "totalItems", "clauses"),
            allowed={"type": ["boolean", "null"]},
            reason=S,
            rule={"type": ["string", "null"]},
            totalItems=I,
            records={"type": "array", "items": {"type": "object"}},
            clauses={
                "type": "array",
                "items": _obj(("text", "holds"), text=S, holds={"type": ["boolean", "null"]}, matches=I),
            },
        ),
    ),
    Op(
        "GET",
        "/api/schema/export",
        "collections",
        "The applied schema as baas.yaml (as baas schema export)",
        auth="superuser",
        answer=S,
        media="application/yaml",
    ),
    Op(
        "GET",
        "/api/console/pages",
        "collections",
        "The console pages plugins add (name, title, module URL)",
        auth="superuser",
        answer=_obj(
            ("pages",),
            pages={"type": "array", "items": _obj(("name", "title", "module"), name=S, title=S, module=S)},
        ),
    ),
    # the console's schema pages: import plan, auth emails preview, OAuth2 secret status
    # (baas/api/collections_import.py, auth_options.py)
    Op(
        "POST",
        "/api/collections/import/plan",
        "collections",
        "Dry run: the planner's changes for a collections import",
        auth="superuser",
        body=_obj(
            ("collections",),
            collections={"type": "array", "items": {"$ref": "#/components/schemas/Collection"}},
            deleteMissing=B,
        ),
        answer=_obj(("changes", "destructive", "text"), changes={"type": "array"}, destructive=B, text=S),
    ),
    Op(
        "POST",
        C + "/email-preview",
        "collections",
        "An auth email rendered with the draft template and sample values",
        auth="superuser",
        body=_obj(
            ("kind",),
            kind={"type": "string", "enum": ["verification", "passwordReset", "emailChange", "otp", "authAlert"]},
            subject=S,
            body=S,
        ),
        answer=_obj(("subject", "html", "text"), subject=S, html=S, text=S),
    ),
    Op(
        "GET",
        C + "/oauth2-secrets",
        "collections",
        "Which OAuth2 providers of an auth collection have a client secret set",
        auth="superuser",
        answer=_obj(("providers",), providers={"type": "object", "additionalProperties": B}),
    ),
    # callable functions and scheduled jobs (baas/api/functions.py, crons.py)
    Op(
        "POST",
        "/api/functions/{name}",
        "functions",
        "Call a function of the project's functions/ package",
        body={"type": "object"},
        answer={},
        body_required=False,
    ),
    Op(
        "POST",
        "/api/webhooks/in/{name}",
        "functions",
        "Receive a signed inbound webhook (Standard Webhooks or Stripe-Signature) and hand it to its function",
        body={"type": "object"},
        answer={},
    ),
    Op(
        "GET",
        "/api/functions",
        "functions",
        "List the declared functions",
        auth="superuser",
        answer={
            "type": "array",
            "items": _obj(
                ("name", "rule", "timeout", "maxConcurrency"),
                name=S,
                rule={"type": ["string", "null"]},
                timeout={"type": "number"},
                maxConcurrency=I,
                description=S,
            ),
        },
    ),
    Op(
        "GET",
        "/api/crons",
        "crons",
        "List the scheduled jobs",
        auth="superuser",
        answer={
            "type": "array",
            "items": _obj(
                ("id", "expression"),
                id=S,
                expression=S,
                timezone=S,
                target=S,
                nextRun=S,
                lastRun={"type": ["object", "null"]},
            ),
        },
    ),
    Op(
        "POST",
        "/api/crons/{job_id}",
        "crons",
        "Run a scheduled job now (in the background)",
        auth="superuser",
        status=204,
        body_required=False,
    ),
    Op(
        "GET",
        "/api/crons/{job_id}/runs",
        "crons",
        "A scheduled job's run history, newest first",
        auth="superuser",
        query=("page", "perPage"),
        answer=_obj(
            ("page", "perPage", "items"), page=I, perPage=I, items={"type": "array", "items": {"type": "object"}}
        ),
    ),
    # outgoing webhooks (baas/api/webhooks.py, docs/webhooks.md); secrets are write-only
    Op("GET", "/api/webhooks", "webhooks", "List the outgoing webhooks (no secrets)", auth="superuser", answer=WH_LIST),
    Op("POST", "/api/webhooks", "webhooks", "Create an outgoing webhook", auth="superuser", body=WH_IN, answer=WH),
    Op("GET", "/api/webhooks/{name}", "webhooks", "View an outgoing webhook", auth="superuser", answer=WH),
    Op(
        "PATCH",
        "/api/webhooks/{name}",
        "webhooks",
        "Change an outgoing webhook (keys left out keep their value)",
        auth="superuser",
        body={"type": "object"},
        answer=WH,
    ),
    Op("DELETE", "/api/webhooks/{name}", "webhooks", "Delete a webhook and its log", auth="superuser", status=204),
    Op(
        "GET",
        "/api/webhooks/{name}/deliveries",
        "webhooks",
        "A webhook's delivery log, newest first (?state=pending|sending|delivered|dead)",
        auth="superuser",
        query=("page", "perPage"),
        answer=_obj(
            ("page", "perPage", "items"), page=I, perPage=I, items={"type": "array", "items": {"type": "object"}}
        ),
    ),
    Op(
        "POST",
        "/api/webhooks/{name}/deliveries/{delivery_id}/replay",
        "webhooks",
        "Send a delivery again, as a new delivery",
        auth="superuser",
        status=202,
        body_required=False,
        answer=_obj(("id", "replayOf"), id=S, replayOf=S),
    ),
    Op(
        "POST",
        "/api/webhooks/{name}/replay",
        "webhooks",
        "Replay the event deliveries created between from and to",
        auth="superuser",
        status=202,
        body=_obj(("from",), to=S, **{"from": S}),
        answer=_obj(("replayed",), replayed=I),
    ),
    Op(
        "POST",
        "/api/webhooks/{name}/test",
        "webhooks",
        "Queue a webhook.test event",
        auth="superuser",
        status=202,
        body_required=False,
        answer=_obj(("id",), id=S),
    ),
    # the first superuser (baas/api/installer.py)
    Op(
        "GET",
        "/api/installer",
        "installer",
        "Whether a superuser exists yet",
        answer=_obj(("superuserExists",), superuserExists=B),
    ),
    Op(
        "POST",
        "/api/installer",
        "installer",
        "Create the first superuser with the installer token",
        status=204,
        body=_obj(("token", "email", "password"), token=S, email=S, password=S, passwordConfirm=S),
    ),
    # backups (baas/api/backups.py, docs/backups.md)
    Op(
        "GET",
        "/api/backups",
        "backups",
        "The backups in the data dir, newest first",
        auth="superuser",
        answer={"type": "array", "items": _obj(("key", "size", "modified"), key=S, size=I, modified=S)},
    ),
    Op(
        "POST",
        "/api/backups",
        "backups",
        "Back up the install now (answers once the backup is complete)",
        auth="superuser",
        status=204,
        body=_obj((), name=S),
        body_required=False,
    ),
    Op(
        "POST",
        "/api/backups/upload",
        "backups",
        "Upload a backup (checked whole before it is listed)",
        auth="superuser",
        status=204,
        form=_obj(("file",), file={"type": "string", "format": "binary"}),
    ),
    Op(
        "GET",
        "/api/backups/{key}",
        "backups",
        "Download a backup (a superuser's file token in ?token=)",
        answer={"type": "string", "format": "binary"},
        media="application/zip",
        query=("token",),
    ),
    Op("DELETE", "/api/backups/{key}", "backups", "Delete a backup", auth="superuser", status=204),
    Op(
        "POST",
        "/api/backups/{key}/restore",
        "backups",
        "Refused with 400: a backup restores into an empty install with `baas backup restore`",
        auth="superuser",
        status=204,
    ),
    # a user's personal data (baas/api/gdpr.py, docs/gdpr.md)
    Op(
        "GET",
        "/api/collections/{collection_name}/records/{record_id}/export",
        "gdpr",
        "A zip of everything stored about a user (the user or a superuser)",
        auth="record",
        answer={"type": "string", "format": "binary"},
        media="application/zip",
    ),
    Op(
        "POST",
        "/api/collections/{collection_name}/records/{record_id}/erase",
        "gdpr",
        "Erase a user as the collections' gdpr policies say (a superuser, or the user under the delete rule)",
        auth="record",
        body_required=False,
        answer=_obj(
            ("deleted", "anonymized", "unlinked", "events", "webhookDeliveries", "logs", "mails"),
            deleted={"type": "object", "additionalProperties": I},
            anonymized={"type": "object", "additionalProperties": I},
            unlinked={"type": "object", "additionalProperties": I},
            events=I,
            webhookDeliveries=I,
            logs=I,
            mails=I,
        ),
    ),
    # the request log (baas/api/logs.py, docs/logs.md)
    Op(
        "GET",
        "/api/logs",
        "logs",
        "A page of the request log, newest first (filter and sort over id, created, level, message, data.*)",
        auth="superuser",
        query=("page", "perPage", "sort", "filter", "skipTotal"),
        answer=_obj(
            ("page", "perPage", "totalItems", "totalPages", "items"),
            page=I,
            perPage=I,
            totalItems=I,
            totalPages=I,
            items={"type": "array", "items": LOG},
        ),
    ),
    Op(
        "GET",
        "/api/logs/stats",
        "logs",
        "Request log entries per hour (?filter as the list's)",
        auth="superuser",
        query=("filter",),
        answer={"type": "array", "items": _obj(("total", "date"), total=I, date=S)},
    ),
    Op(
        "GET",
        "/api/logs/summary",
        "logs",
        "The dashboard's figures for a window: requests, 4xx, 5xx, success rate, p50/p99 per step; top errors; uptime",
        auth="superuser",
        query=("from", "to", "step"),
        answer=_obj(
            ("from", "to", "step", "total", "series", "topErrors", "startedAt", "uptime", "sampling", "minLevel"),
            **{"from": S, "to": S},
            step=I,
            total=LOG_STEP,
            series={"type": "array", "items": LOG_STEP},
            topErrors={"type": "array", "items": _obj(("status", "error", "count"), status=I, error=S, count=I)},
            startedAt=S,
            uptime={"type": "number"},
            enabled=B,
            sampling={"type": "number"},
            minLevel=I,
            dropped=I,
        ),
    ),
    Op("GET", "/api/logs/{log_id}", "logs", "One request log entry", auth="superuser", answer=LOG),
    Op(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics, summed over the workers (superusers, or the BAAS_METRICS_TOKEN bearer token)",
        auth="superuser",
        answer={"type": "string"},
        media="text/plain; version=0.0.4; charset=utf-8",
    ),
    # settings and health (baas/api/settings.py, health.py)
    Op("GET", "/api/settings", "settings", "The server settings", auth="superuser", answer="Settings"),
    Op(
        "PATCH",
        "/api/settings",
        "settings",
        "Change server settings",
        auth="superuser",
        body="Settings",
        answer="Settings",
    ),
    Op(
        "POST",
        "/api/settings/test/email",
        "settings",
        "Send a test email with an auth collection's template",
        auth="superuser",
        status=204,
        body=_obj(
            ("email", "template"),
            email=S,
            template={
                "type": "string",
                "enum": ["verification", "password-reset", "email-change", "otp", "login-alert"],
            },
            collection=S,
        ),
    ),
    Op(
        "POST",
        "/api/settings/test/s3",
        "settings",
        "Write, read and delete a probe object with the (stored or given) S3 settings",
        auth="superuser",
        status=204,
        body=_obj(("filesystem",), filesystem={"type": "string", "enum": ["storage"]}, s3={"type": "object"}),
    ),
    Op("GET", "/api/health", "health", "Health check", answer="Health"),
    Op("GET", "/api/openapi.json", "health", "This document", answer={"type": "object"}),
]

# scheduled jobs created over the API (baas/api/jobs.py, docs/jobs.md); jobs of baas.yaml are read-only
_NUM = {"type": "number"}
_JOB_HTTP = _obj(
    ("url",),
    url=S,
    method={"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
    headers={"type": "object", "additionalProperties": S},
    body={},
    allowPrivate=B,
)
_JOB_FIELDS: dict[str, Schema] = {
    "name": S,
    "schedule": S,
    "timezone": S,
    "function": S,
    "task": {"type": "string", "enum": ["", *BUILTIN_TASKS]},
    "http": {"oneOf": [_JOB_HTTP, {"type": "null"}]},
    "args": {"type": "object"},
    "timeout": _NUM,
    "retries": I,
    "backoff": _NUM,
    "overlap": {"type": "string", "enum": ["skip", "queue"]},
    "misfireGrace": _NUM,
    "enabled": B,
}
JOB_IN = _obj(("name", "schedule"), **_JOB_FIELDS)
JOB = _obj(
    ("id", "name", "source", "schedule", "target", "nextRun"),
    id=S,
    source={"type": "string", "enum": ["yaml", "api"]},
    target=S,
    nextRun=S,
    created=S,
    updated=S,
    **_JOB_FIELDS,
)
OPS += [
    Op(
        "GET",
        "/api/jobs",
        "crons",
        "List every scheduled job with its options and source (yaml or api)",
        auth="superuser",
        answer=_obj(("items",), page=I, perPage=I, totalItems=I, items={"type": "array", "items": JOB}),
    ),
    Op(
        "POST",
        "/api/jobs",
        "crons",
        "Create a scheduled job (checked as baas.yaml checks one)",
        auth="superuser",
        body=JOB_IN,
        answer=JOB,
    ),
    Op("GET", "/api/jobs/{name}", "crons", "View a scheduled job", auth="superuser", answer=JOB),
    Op(
        "PATCH",
        "/api/jobs/{name}",
        "crons",
        "Change a job made over the API (keys left out keep their value; jobs of baas.yaml: 400)",
        auth="superuser",
        body={"type": "object"},
        answer=JOB,
    ),
    Op(
        "DELETE",
        "/api/jobs/{name}",
        "crons",
        "Delete a job made over the API (its run history stays; jobs of baas.yaml: 400)",
        auth="superuser",
        status=204,
    ),
]
