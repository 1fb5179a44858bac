"""The one error the rule language raises."""

from __future__ import annotations


class RuleError(Exception):
    """An invalid filter, rule or sort: bad syntax, an unknown field, or a limit exceeded.

    The message is meant for a 400 "Invalid filter"-style response.
    """


class RuleForbidden(RuleError):
    """A client filter reached for something only superusers may filter by (``@collection``,
    ``@request``, hidden fields); PocketBase answers 403."""
