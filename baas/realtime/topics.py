"""Subscription topics as PocketBase's SDK sends them, and the form that sets them.

A topic is ``COLLECTION/*`` (every record the list rule lets through), ``COLLECTION/RECORD_ID``
(one record, under the view rule), the deprecated bare ``COLLECTION`` (same as ``/*``) or
``@oauth2`` (the OAuth2 popup flow). The collection is its name or id, compared exactly. The SDK
appends per-topic options as ``?options=<url-encoded JSON {"query": {...}, "headers": {...}}>``;
``query.filter``, ``query.fields`` and ``query.expand`` work as on the list API, and query and
headers are what ``@request.query.*`` / ``@request.headers.*`` read in rules for this topic.
The topic string, options included, is the SSE event name of its messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from baas.errors import FieldError, ValidationFailed

MAX_TOPICS = 1000  # per client (PocketBase's limits)
MAX_TOPIC_LENGTH = 2500
MAX_CLIENT_ID = 255
OAUTH2 = "@oauth2"


@dataclass(frozen=True, eq=False)
class Topic:
    """One parsed subscription."""

    key: str  # as sent, options included: the SSE event name
    base: str  # before "?": what events are matched on
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def filter(self) -> str:
        return self.query.get("filter", "")

    @property
    def fields(self) -> str:
        return self.query.get("fields", "")

    @property
    def expand(self) -> str:
        return self.query.get("expand", "")


def _string(value: Any) -> str:
    """Option values become strings, as PocketBase casts them (numbers without a trailing .0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return ""


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def header_name(name: str) -> str:
    """``X-Token`` / ``xToken`` -> ``x_token``: the name ``@request.headers.*`` uses."""
    return _NOT_WORD.sub("_", _CAMEL.sub("_", name).lower()).strip("_")


def parse_topic(key: str) -> Topic:
    """A topic with its options; unreadable options are ignored (the topic still counts)."""
    base, _, qs = key.partition("?")
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    if qs:
        raw = next((v for k, v in parse_qsl(qs, keep_blank_values=True) if k == "options"), "")
        try:
            options = json.loads(raw) if raw else {}
        except ValueError:
            options = {}
        if isinstance(options, dict):
            if isinstance(options.get("query"), dict):
                query = {str(k): _string(v) for k, v in options["query"].items()}
            if isinstance(options.get("headers"), dict):
                headers = {header_name(str(k)): _string(v) for k, v in options["headers"].items()}
    return Topic(key, base, query, headers)


def parse_form(body: dict[str, Any]) -> tuple[str, list[str]]:
    """``{"clientId", "subscriptions"}`` of ``POST /api/realtime``, checked as PocketBase does."""
    errors: dict[str, Any] = {}
    client_id = body.get("clientId")
    subs = body.get("subscriptions")
    if subs is None:
        subs = []
    if not isinstance(client_id, str) or not client_id:
        errors["clientId"] = FieldError("validation_required", "Cannot be blank.")
    elif len(client_id) > MAX_CLIENT_ID:
        errors["clientId"] = FieldError(
            "validation_length_out_of_range", "The length must be between 1 and 255.", {"max": MAX_CLIENT_ID, "min": 1}
        )
    if not isinstance(subs, list) or not all(isinstance(s, str) for s in subs):
        errors["subscriptions"] = FieldError("validation_invalid_value", "Must be a list of strings.")
    elif len(subs) > MAX_TOPICS:
        errors["subscriptions"] = FieldError(
            "validation_length_too_long",
            f"The length must be no more than {MAX_TOPICS}.",
            {"max": MAX_TOPICS, "min": 0},
        )
    else:
        long = {
            str(i): {
                "code": "validation_length_too_long",
                "message": f"The length must be no more than {MAX_TOPIC_LENGTH}.",
                "params": {"max": MAX_TOPIC_LENGTH, "min": 0},
            }
            for i, s in enumerate(subs)
            if len(s) > MAX_TOPIC_LENGTH
        }
        if long:
            errors["subscriptions"] = long
    # (The type checks repeat what ``errors`` says, for the type checker.)
    if errors or not isinstance(client_id, str) or not isinstance(subs, list):
        raise ValidationFailed(errors, "Something went wrong while processing your request.")
    # A line break in a topic would end the SSE field it is written in: such topics match nothing
    # anyway (collection names and ids have none), so they are dropped.
    strings: list[str] = subs
    topics = [s for s in dict.fromkeys(strings) if s and "\n" not in s and "\r" not in s]
    return client_id, topics
