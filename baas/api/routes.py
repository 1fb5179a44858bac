"""Every HTTP route, in one list."""

from __future__ import annotations

from baas.api import (
    aggregate,
    apikeys,
    auth,
    auth_admin,
    auth_email,
    auth_links,
    auth_oauth2,
    auth_options,
    auth_otp,
    auth_totp,
    backups,
    batch,
    collections,
    collections_import,
    collections_plan,
    console,
    crons,
    files,
    functions,
    gdpr,
    health,
    inbound,
    installer,
    jobs,
    logs,
    metrics,
    openapi,
    push,
    records,
    rules_check,
    rules_playground,
    schema_advise,
    schema_export,
    settings,
    webhooks,
)

ROUTES = [
    *health.ROUTES,
    *records.ROUTES,
    *auth.ROUTES,
    *collections.ROUTES,
    *batch.ROUTES,
    *settings.ROUTES,
    *backups.ROUTES,
    *metrics.ROUTES,
    *auth_totp.ROUTES,
    *auth_admin.ROUTES,
    *apikeys.ROUTES,
    *auth_email.ROUTES,
    *auth_otp.ROUTES,
    *auth_oauth2.ROUTES,
]
ROUTES += files.ROUTES
ROUTES += installer.ROUTES + collections_plan.ROUTES  # what the console needs (console/, docs/console.md)
ROUTES += rules_check.ROUTES + rules_playground.ROUTES + schema_export.ROUTES
ROUTES += schema_advise.ROUTES  # the indexes slow record lists in the request log need (docs/indexes.md)
ROUTES += functions.ROUTES + crons.ROUTES  # callable functions and scheduled jobs (docs/functions.md, jobs.md)
ROUTES += inbound.ROUTES  # POST /api/webhooks/in/{name}: signed events handed to a function (docs/recipes.md)
ROUTES += auth_links.ROUTES  # an auth record's OAuth2 links and TOTP status (console record page)
ROUTES += auth_options.ROUTES + collections_import.ROUTES  # console: auth options, import plan
ROUTES += console.API_ROUTES  # the console pages plugins add
ROUTES += webhooks.ROUTES  # outgoing webhooks: CRUD, delivery log, replay, test (docs/webhooks.md)
ROUTES += jobs.ROUTES  # scheduled jobs created over the API: CRUD (docs/jobs.md)
ROUTES += gdpr.ROUTES  # a user's data: export and erase (docs/gdpr.md)
ROUTES += logs.ROUTES  # the request log: list, view, hourly stats (docs/logs.md)
ROUTES += aggregate.ROUTES  # GET …/aggregate: grouped counts and sums under the list rule (docs/aggregates.md)
ROUTES += push.ROUTES  # push notifications: devices, preferences, send, delivery log (docs/push.md)
ROUTES += openapi.ROUTES  # GET /api/openapi.json, built from the table in baas/api/openapi_ops.py
