"""Routing rules: which organisation gets a case, with what priority and deadline.

Pure: no Flask, no database. A rule set is data, read from the versioned file
``backend/routing/data/rules.toml`` (format documented at its top) or from a dict the admin API
received, and validated strictly by :func:`validate_rule_set` (``ruleset.py``). :func:`route`
tries the rules in file order, the first match wins, and the set's ``[fallback]`` catches every
case no rule took, so no case is ever unrouted. The result names the rule and the rule-set version.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from backend.reference.zones import ZoneIndex
from backend.routing.ruleset import (
    FALLBACK_ID,
    KINDS,
    PRIORITIES,
    REFERRAL_TARGET,
    CaseFacts,
    Reference,
    Rule,
    RuleSet,
    RuleSetError,
    TimeWindow,
    validate_rule_set,
)

RULES_FILE = Path(__file__).parent / "data" / "rules.toml"

__all__ = [
    "FALLBACK_ID",
    "KINDS",
    "PRIORITIES",
    "REFERRAL_TARGET",
    "RULES_FILE",
    "CaseFacts",
    "Reference",
    "Route",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "TimeWindow",
    "load_rule_set",
    "parse_rule_file",
    "route",
    "validate_rule_set",
    "zone_at",
    "zones_from_geojson",
]


@dataclass(frozen=True)
class Route:
    """The decision a task records: who, how urgent, due when, and which rule said so."""

    organisation: str
    priority: str
    deadline: str
    due_at: datetime
    rule_id: str
    rule_set_version: int


def route(
    rule_set: RuleSet,
    case: CaseFacts,
    *,
    received_at: datetime,
    observed_at: datetime | None = None,
    organisations: Container[str] | None = None,
) -> Route:
    """Route ``case`` with the first matching rule, else the fallback.

    Time-of-day windows look at ``observed_at`` (when staff saw it; defaults to
    ``received_at``), the deadline counts from ``received_at`` (when the service had it: an
    offline phone must not eat the department's time). With ``organisations``, a rule whose
    organisation is not among them (a referral to an unknown slug) is skipped."""
    at = observed_at or received_at
    if at.tzinfo is None or received_at.tzinfo is None:
        raise ValueError("route needs tz-aware datetimes")
    for rule in rule_set.rules:
        if not rule.matches(case, at):
            continue
        organisation = rule.organisation_for(case)
        if organisation is None or (
            organisations is not None and organisation not in organisations
        ):
            continue
        return _decision(rule, organisation, rule_set.version, received_at)
    fallback = rule_set.fallback
    return _decision(fallback, fallback.organisation, rule_set.version, received_at)


def _decision(rule: Rule, organisation: str, version: int, received_at: datetime) -> Route:
    return Route(
        organisation=organisation,
        priority=rule.priority,
        deadline=rule.deadline.name,
        due_at=rule.deadline.due(received_at),
        rule_id=rule.id,
        rule_set_version=version,
    )


def parse_rule_file(filename: str, data: bytes) -> dict[str, Any]:
    """The dict of an uploaded rule file: TOML as ``rules.toml`` is written, or JSON as the
    admin API takes it (by the name's ending, else by the first character). RuleSetError
    ``{"file": [...]}`` when it cannot be read, so the caller lists it like a rule problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleSetError({"file": [f"{filename}: not UTF-8 text"]}) from exc
    as_json = filename.lower().endswith(".json") or text.lstrip().startswith("{")
    try:
        parsed = json.loads(text) if as_json else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        kind = "JSON" if as_json else "TOML"
        raise RuleSetError({"file": [f"{filename}: not valid {kind}: {exc}"]}) from exc
    if not isinstance(parsed, dict):
        raise RuleSetError({"file": [f"{filename}: must hold a table (object), not a list"]})
    return parsed


def load_rule_set(path: Path = RULES_FILE, reference: Reference | None = None) -> RuleSet:
    """Read and validate a rule file; :class:`RuleSetError` names every problem and its rule."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError({"file": [f"{path.name}: not valid TOML: {exc}"]}) from exc
    return validate_rule_set(data, reference)


def zones_from_geojson(collection: Mapping[str, Any]) -> ZoneIndex:
    """The zone index of a FeatureCollection shaped like ``zones.geojson``."""
    return ZoneIndex.from_geojson(collection)


def zone_at(
    lat: float,
    lon: float,
    zones: ZoneIndex | Iterable[tuple[str, BaseGeometry | Mapping[str, Any]]],
) -> str | None:
    """The slug of the zone covering the point, or None outside every zone (the one rule:
    ``backend.reference.zones``)."""
    index = zones if isinstance(zones, ZoneIndex) else ZoneIndex.of(zones)
    return index.at(lat, lon)
