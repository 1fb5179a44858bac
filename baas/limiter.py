"""The rate limiter behind ``settings.rateLimits`` (PocketBase's ``{enabled, rules: [{label,
maxRequests, duration, audience}], excludedIPs}``): rule validation, rule lookup and the
fixed-window counters. Knows nothing of HTTP; the ASGI middleware that labels requests and
answers 429 is `baas.api.ratelimit`.

Which rule applies (PocketBase's ``FindRateLimitRule``): a request has a list of labels, most
specific first. For each label in turn, the first rule with exactly that label wins, then the
first rule whose label ends with ``/`` and is a prefix of ``label + "/"``. A rule applies only to
its audience: ``""`` everyone, ``@guest`` requests without a valid token, ``@auth`` with one.

Counting: fixed windows of ``duration`` seconds, ``maxRequests`` per window, one counter per
key. The counters live in this process's memory: with several workers or nodes each counts on
its own, so the effective limit is N × maxRequests.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the store imports this module (for `validate`); the limiter only reads it
    from baas.settings_store import SettingsStore

log = logging.getLogger("baas")

SWEEP_SECONDS = 60.0
MAX_WINDOWS = 100_000  # counters kept before an early sweep (bounds memory under a flood)

GUEST = ("", "@guest")
AUTHED = ("", "@auth")


@dataclass(frozen=True)
class Rule:
    label: str
    max_requests: int
    duration: int
    audience: str = ""


def parse_rules(settings: dict[str, Any]) -> tuple[bool, tuple[Rule, ...]]:
    """(enabled, rules) of the merged settings; malformed rules (never stored: the settings API
    validates them) are skipped rather than trusted."""
    section = settings.get("rateLimits") or {}
    rules = []
    for r in section.get("rules") or ():
        try:
            rule = Rule(str(r["label"]), int(r["maxRequests"]), int(r["duration"]), str(r.get("audience") or ""))
        except (KeyError, TypeError, ValueError):
            continue
        if rule.max_requests >= 1 and rule.duration >= 1:
            rules.append(rule)
    return bool(section.get("enabled")) and bool(rules), tuple(rules)


_LABEL = re.compile(r"^(\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+)$", re.ASCII)
_AUDIENCES = ("", "@guest", "@auth")


def _err(code: str, message: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **({"params": params} if params else {})}


def _check_count(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return _err("validation_invalid_value", "Must be a whole number.")
    if value == 0:
        return _err("validation_required", "Cannot be blank.")
    if value < 1:
        return _err("validation_min_greater_equal_than_required", "Must be no less than 1.", threshold=1)
    return None


def validate(section: dict[str, Any]) -> dict[str, Any]:
    """Field errors of a ``rateLimits`` settings section, keyed as PocketBase keys them
    (``rules.<i>.label`` …); {} when valid. Rules are checked even while disabled."""
    errors: dict[str, Any] = {}
    rules = section.get("rules")
    if isinstance(rules, list):
        bad = _rules_errors(rules, enabled=section.get("enabled") is True)
        if bad:
            errors["rules"] = bad
    excluded = section.get("excludedIPs")
    if excluded is not None:
        bad = _excluded_errors(excluded)
        if bad:
            errors["excludedIPs"] = bad
    return errors


def _rules_errors(rules: list[Any], *, enabled: bool) -> dict[str, Any] | None:
    """The ``rules`` list's errors: each rule's own, else a missing list while enabled, else the
    first rule that conflicts with an earlier one."""
    rule_errors: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        problems = _rule_problems(rule)
        if problems:
            rule_errors[str(i)] = problems
    if rule_errors:
        return rule_errors
    if enabled and not rules:
        return _err("validation_required", "Cannot be blank.")
    return _conflict(rules)


def _rule_problems(rule: Any) -> dict[str, Any]:
    """One rule's errors by key ({} when valid; a non-object rule is one error of its own)."""
    if not isinstance(rule, dict):
        return _err("validation_invalid_value", "Must be an object.")
    problems: dict[str, Any] = {}
    label = rule.get("label")
    if not isinstance(label, str) or not label:
        problems["label"] = _err("validation_required", "Cannot be blank.")
    elif not _LABEL.match(label):
        problems["label"] = _err("validation_match_invalid", "Must be in a valid format.")
    for name in ("maxRequests", "duration"):
        bad = _check_count(rule.get(name, 0))
        if bad:
            problems[name] = bad
    if rule.get("audience", "") not in _AUDIENCES:
        problems["audience"] = _err("validation_in_invalid", "Must be a valid value.")
    return problems


def _conflict(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The error of the first rule whose label and audience an earlier rule already covers
    (one rule per label and audience; "" (everyone) overlaps both "@guest" and "@auth")."""
    seen: list[str] = []
    for i, rule in enumerate(rules):
        full = f"{rule['label']}@@{rule.get('audience', '')}"
        if any(k.startswith(full) or full.startswith(k) for k in seen):
            return {
                str(i): {
                    "label": _err(
                        "validation_conflicting_rate_limit_rule",
                        f"Rate limit rule configuration with label {rule['label']} already exists or conflicts "
                        "with another rule.",
                        label=rule["label"],
                    )
                }
            }
        seen.append(full)
    return None


def _excluded_errors(excluded: Any) -> dict[str, Any] | None:
    """``excludedIPs``' errors: not a list, or its blank and unreadable entries by index."""
    if not isinstance(excluded, list):
        return _err("validation_invalid_value", "Must be a list.")
    bad_ips = {}
    for i, ip in enumerate(excluded):
        if not isinstance(ip, str) or not ip:
            bad_ips[str(i)] = _err("validation_required", "Cannot be blank.")
        elif _network(ip) is None:
            bad_ips[str(i)] = _err(
                "validation_invlaid_ip_or_subnet",  # sic: PocketBase's code
                "Invalid IP or CIDR subnet.",
            )
    return bad_ips or None


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def find_rule(rules: tuple[Rule, ...], labels: list[str], audiences: tuple[str, ...]) -> Rule | None:
    """The rule for the first label that has one: an exact label first, then a ``…/`` prefix."""
    prefixes = [r for r in rules if r.label.endswith("/")]
    for label in labels:
        for r in rules:
            if r.label == label and r.audience in audiences:
                return r
        slashed = label + "/"
        for r in prefixes:
            if slashed.startswith(r.label) and r.audience in audiences:
                return r
    return None


class _Window:
    """One counter: its window's start (monotonic seconds), requests counted, the rule's duration
    and whether a refusal in this window was logged."""

    __slots__ = ("start", "count", "duration", "warned")

    def __init__(self, start: float, duration: int) -> None:
        self.start = start
        self.count = 1
        self.duration = duration
        self.warned = False


class Limiter:
    """A process's rate-limit settings snapshot and its fixed-window counters (``Engine.limiter``)."""

    def __init__(self) -> None:
        self.enabled = False
        self.rules: tuple[Rule, ...] = ()
        self.excluded: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
        self.settings: dict[str, Any] = {}
        self.checked = -math.inf  # monotonic time of the last settings read
        self._section: Any = None  # the rateLimits section the rules were parsed from
        self._windows: dict[str, _Window] = {}
        self._swept = time.monotonic()

    def apply(self, settings: dict[str, Any]) -> None:
        """Take new settings; changed rate limits start every counter afresh (as PocketBase)."""
        self.settings = settings
        self.checked = time.monotonic()
        section = settings.get("rateLimits")
        if section != self._section:
            self._section = section
            self.enabled, self.rules = parse_rules(settings)
            nets = (_network(ip) for ip in (section or {}).get("excludedIPs") or () if isinstance(ip, str))
            self.excluded = tuple(n for n in nets if n is not None)
            self._windows = {}

    async def refresh(self, store: SettingsStore) -> None:
        """Re-read the stored settings (changes made by other processes or nodes)."""
        self.checked = time.monotonic()  # concurrent requests keep the old snapshot meanwhile
        try:
            self.apply(await store.load())
        except Exception:  # a passing database error: keep the last known settings
            log.warning("rate limits: could not read the settings", exc_info=True)

    def hit(self, key: str, rule: Rule, now: float) -> float:
        """Count one request; 0 if allowed, else the seconds until the window resets."""
        w = self._windows.get(key)
        if w is None or now - w.start >= w.duration:
            if now - self._swept > SWEEP_SECONDS or len(self._windows) > MAX_WINDOWS:
                self._sweep(now)
            self._windows[key] = _Window(now, rule.duration)
            return 0.0
        if w.count < rule.max_requests:
            w.count += 1
            return 0.0
        return max(w.start + w.duration - now, 0.001)

    def first_refusal(self, key: str) -> bool:
        """True once per window and key: the security log gets one line per client and window."""
        w = self._windows[key]
        warned, w.warned = w.warned, True
        return not warned

    def _sweep(self, now: float) -> None:
        self._swept = now
        self._windows = {k: w for k, w in self._windows.items() if now - w.start < w.duration}
        if len(self._windows) > MAX_WINDOWS:  # a flood of distinct clients: keep the newest half
            newest = sorted(self._windows.items(), key=lambda kw: kw[1].start)[-MAX_WINDOWS // 2 :]
            self._windows = dict(newest)


def is_excluded(ip: str, networks: tuple[Any, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in n for n in networks)
