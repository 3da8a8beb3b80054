"""The rule-set data model and its strict validation.

A rule set arrives as a dict, from ``rules.toml`` or as JSON through the admin API, and is
accepted whole or not at all: every problem is collected and reported against the rule it is in
(``rule[2].deadline``), so an admin fixes them in one go. ``backend.routing.rules`` re-exports the
public names; import them from there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from backend.routing.deadlines import STOCKHOLM, DeadlinePolicy, PolicyError, parse_policy

FALLBACK_ID = "fallback"
REFERRAL_TARGET = "@referral"
"""``organisation = "@referral"``: the organisation named in the contact's referral."""
KINDS = ("litter", "damage", "contact")
"""As ``backend.reference.models.KINDS``; repeated so this module stays free of the ORM."""
PRIORITIES = ("urgent", "high", "normal", "low")
"""Most urgent first; departments sort their inbox by it."""

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_SINGULAR = {"categories": "category", "kinds": "kind", "zones": "zone"}
_TOP_KEYS = {"version", "fallback", "rule"}
_OUTCOME_KEYS = {"organisation", "priority", "deadline"}
_FALLBACK_KEYS = _OUTCOME_KEYS | {"description"}
_RULE_KEYS = _FALLBACK_KEYS | {"id", "categories", "kinds", "zones", "time_of_day", "referral"}


class RuleSetError(ValueError):
    """A rule set that cannot be used. ``errors`` maps a location to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        lines = [f"{where}: {msg}" for where, msgs in errors.items() for msg in msgs]
        super().__init__("invalid rule set:\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class CaseFacts:
    """What routing looks at. ``zone`` is a zone slug (see ``rules.zone_at``) or None outside
    every zone; ``referral`` the organisation slug a contact was referred to."""

    kind: str
    category: str | None = None
    zone: str | None = None
    referral: str | None = None


@dataclass(frozen=True)
class TimeWindow:
    """Local Europe/Stockholm clock times ``[start, end)``; crosses midnight when end < start."""

    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(STOCKHOLM).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Rule:
    """One rule. A condition left out (None) matches anything; the given ones must all hold."""

    id: str
    organisation: str
    priority: str
    deadline: DeadlinePolicy
    description: str = ""
    categories: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    zones: frozenset[str] | None = None
    time_of_day: TimeWindow | None = None
    referral: bool | None = None

    def matches(self, case: CaseFacts, at: datetime) -> bool:
        return (
            (self.categories is None or case.category in self.categories)
            and (self.kinds is None or case.kind in self.kinds)
            and (self.zones is None or case.zone in self.zones)
            and (self.referral is None or (case.referral is not None) == self.referral)
            and (self.time_of_day is None or self.time_of_day.contains(at))
        )

    def organisation_for(self, case: CaseFacts) -> str | None:
        return case.referral if self.organisation == REFERRAL_TARGET else self.organisation


@dataclass(frozen=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]
    fallback: Rule
    source: dict[str, Any] = field(compare=False, repr=False)
    """The validated input as given (TOML/JSON shape), for the admin API to show and store."""

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.source)


@dataclass(frozen=True)
class Reference:
    """Known names, to reject a rule naming a category, zone or organisation that does not
    exist. Pass it where the reference data is at hand (seed-demo, the admin API)."""

    categories: Collection[str]
    zones: Collection[str]
    organisations: Collection[str]


def validate_rule_set(data: Mapping[str, Any], reference: Reference | None = None) -> RuleSet:
    """Validate a rule set given as a dict (the TOML shape; JSON from the admin API works too).

    Raises :class:`RuleSetError` whose ``errors`` maps a path such as ``rule[2].deadline`` to
    messages naming the rule, ready for the API's one error body."""
    checker = _Checker(reference)
    result = checker.rule_set(data)
    if checker.errors or result is None:
        raise RuleSetError(checker.errors)
    version, rules, fallback = result
    return RuleSet(version, tuple(rules), fallback, source=copy.deepcopy(dict(data)))


class _Checker:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, reference: Reference | None) -> None:
        self.reference = reference
        self.errors: dict[str, list[str]] = {}

    def fail(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)

    def rule_set(self, data: Any) -> tuple[int, list[Rule], Rule] | None:
        if not isinstance(data, Mapping):
            self.fail("rule_set", "must be a table (object)")
            return None
        for key in sorted(set(data) - _TOP_KEYS):
            self.fail(key, f"unknown key {key!r}; allowed: version, fallback, rule")
        version = data.get("version")
        if type(version) is not int or version < 1:
            self.fail("version", "required: a positive integer, raised with every change")
        fallback = None
        if isinstance(data.get("fallback"), Mapping):
            fallback = self.rule(data["fallback"], "fallback", FALLBACK_ID, _FALLBACK_KEYS)
        else:
            self.fail("fallback", "required: a [fallback] table, so no case is ever unrouted")
        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list):
            self.fail("rule", "must be an array of tables ([[rule]])")
            raw_rules = []
        rules, seen = [], set()
        for index, raw in enumerate(raw_rules):
            where = f"rule[{index}]"
            if not isinstance(raw, Mapping):
                self.fail(where, "must be a table (object)")
                continue
            rule_id = raw.get("id")
            if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
                self.fail(f"{where}.id", "required: lowercase letters, digits and '-', up to 64")
                rule_id = f"#{index}"
            elif rule_id == FALLBACK_ID:
                self.fail(f"{where}.id", f"rule {rule_id!r}: the id is reserved for [fallback]")
            elif rule_id in seen:
                self.fail(f"{where}.id", f"rule {rule_id!r}: the id is used by an earlier rule")
            seen.add(rule_id)
            rule = self.rule(raw, where, rule_id, _RULE_KEYS)
            if rule is not None:
                rules.append(rule)
        if fallback is None or type(version) is not int:
            return None
        return version, rules, fallback

    def rule(self, raw: Mapping[str, Any], where: str, rule_id: str, keys: set[str]) -> Rule | None:
        before = sum(map(len, self.errors.values()))
        named = f"rule {rule_id!r}"
        for key in sorted(set(raw) - keys):
            self.fail(f"{where}.{key}", f"{named}: unknown key; allowed: {', '.join(sorted(keys))}")
        for key in sorted(_OUTCOME_KEYS - set(raw)):
            self.fail(f"{where}.{key}", f"{named}: required")
        description = raw.get("description", "")
        if not isinstance(description, str):
            self.fail(f"{where}.description", f"{named}: must be a string")
        ref = self.reference
        categories = self.names(raw, "categories", where, named, ref and ref.categories)
        kinds = self.names(raw, "kinds", where, named, KINDS)
        zones = self.names(raw, "zones", where, named, ref and ref.zones)
        if where != "fallback" and categories is None and kinds is None:
            self.fail(where, f"{named}: give 'categories' or 'kinds' (or both)")
        window = self.window(raw.get("time_of_day"), f"{where}.time_of_day", named)
        referral = raw.get("referral")
        if referral is not None and not isinstance(referral, bool):
            self.fail(f"{where}.referral", f"{named}: must be true or false")
        organisation = raw.get("organisation")
        if organisation == REFERRAL_TARGET and where != "fallback":
            if referral is not True:
                self.fail(f"{where}.organisation", f"{named}: '@referral' needs referral = true")
        elif not isinstance(organisation, str) or not _ID.fullmatch(organisation):
            if "organisation" in raw:
                self.fail(f"{where}.organisation", f"{named}: must be an organisation slug")
        elif ref is not None and organisation not in ref.organisations:
            self.fail(f"{where}.organisation", f"{named}: unknown organisation {organisation!r}")
        priority = raw.get("priority")
        if "priority" in raw and priority not in PRIORITIES:
            self.fail(f"{where}.priority", f"{named}: one of {', '.join(PRIORITIES)}")
        deadline = None
        if "deadline" in raw:
            try:
                deadline = parse_policy(raw["deadline"])
            except PolicyError as exc:
                self.fail(f"{where}.deadline", f"{named}: {exc}")
        if sum(map(len, self.errors.values())) > before or deadline is None:
            return None
        assert isinstance(organisation, str) and isinstance(priority, str)  # checked above
        return Rule(
            rule_id, organisation, priority, deadline, description,
            categories, kinds, zones, window, referral,
        )  # fmt: skip

    def names(
        self, raw: Mapping[str, Any], key: str, where: str, named: str, known: Any
    ) -> frozenset[str] | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}.{key}", f"{named}: a non-empty list of strings")
            return None
        for name in value:
            if known is not None and name not in known:
                self.fail(f"{where}.{key}", f"{named}: unknown {_SINGULAR[key]} {name!r}")
        return frozenset(value)

    def window(self, raw: Any, where: str, named: str) -> TimeWindow | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or set(raw) != {"from", "to"}:
            self.fail(where, f'{named}: a table {{ from = "HH:MM", to = "HH:MM" }}')
            return None
        clocks = []
        for key in ("from", "to"):
            match = _CLOCK.fullmatch(raw[key]) if isinstance(raw[key], str) else None
            if match is None:
                self.fail(f"{where}.{key}", f"{named}: {raw[key]!r} is not a time HH:MM (00-23)")
                return None
            clocks.append(time(int(match.group(1)), int(match.group(2))))
        if clocks[0] == clocks[1]:
            self.fail(where, f"{named}: 'from' equals 'to'; leave time_of_day out for all day")
            return None
        return TimeWindow(clocks[0], clocks[1])
