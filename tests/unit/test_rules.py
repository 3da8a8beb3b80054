"""Which organisation gets a case, and what an admin is told when a rule set is wrong."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend.routing.deadlines import STOCKHOLM
from backend.routing.rules import (
    RULES_FILE,
    CaseFacts,
    Reference,
    RuleSetError,
    load_rule_set,
    route,
    validate_rule_set,
    zone_at,
    zones_from_geojson,
)

REFERENCE_DATA = Path(__file__).parents[2] / "backend" / "reference" / "data"
ZONES_GEOJSON = json.loads((REFERENCE_DATA / "zones.geojson").read_text("utf-8"))
ZONES = zones_from_geojson(ZONES_GEOJSON)
REFERENCE = Reference(
    categories=[
        c["code"]
        for c in tomllib.loads((REFERENCE_DATA / "categories.toml").read_text())["category"]
    ],
    zones=list(ZONES.slugs),
    organisations=[
        o["slug"]
        for o in tomllib.loads((REFERENCE_DATA / "organisations.toml").read_text())["organisation"]
    ],
)
DEMO = load_rule_set(reference=REFERENCE)

# Points (lat, lon) inside the demo zones and one well outside them (Vasastan).
SERGELS_TORG = (59.3325, 18.0640)
HOTORGET = (59.3350, 18.0630)
DROTTNINGGATAN = (59.3330, 18.0590)
KUNGSTRADGARDEN = (59.3320, 18.0700)
BRUNKEBERGSTORG = (59.3300, 18.0640)
VASASTAN = (59.3420, 18.0450)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def case(kind: str, category: str | None, point: tuple[float, float] | None, **kw: Any):
    zone = zone_at(*point, ZONES) if point else None
    return CaseFacts(kind=kind, category=category, zone=zone, **kw)


@pytest.mark.parametrize(
    "facts,received,organisation,rule_id,priority,due",
    [
        # Broken glass at Sergels Torg on a Friday morning: Trafikkontoret, Monday 10:00.
        (
            case("litter", "litter.broken_glass", SERGELS_TORG),
            "2026-03-27 10:00", "trafikkontoret", "bins-and-glass", "high", "2026-03-30 10:00",
        ),
        (
            case("litter", "litter.overflowing_bin", HOTORGET),
            "2026-05-13 15:00", "trafikkontoret", "bins-and-glass", "high", "2026-05-15 15:00",
        ),
        (
            case("damage", "damage.graffiti", DROTTNINGGATAN),
            "2026-06-18 09:00", "trafikkontoret", "graffiti", "high", "2026-06-22 09:00",
        ),
        # Offensive graffiti on a Saturday night: four hours, weekend or not.
        (
            case("damage", "damage.graffiti_offensive", SERGELS_TORG),
            "2026-03-07 23:00", "trafikkontoret", "graffiti-offensive", "urgent",
            "2026-03-08 03:00",
        ),
        # Outside the zones the partnership takes it, still on the immediate clock.
        (
            case("damage", "damage.graffiti_offensive", VASASTAN),
            "2026-03-07 23:00", "city-i-samverkan", "graffiti-offensive-elsewhere", "urgent",
            "2026-03-08 03:00",
        ),
        # A city building is Fastighetskontoret's even at Sergels Torg, where the broader
        # street-damage rule would also match: the earlier rule wins.
        (
            case("damage", "damage.building", SERGELS_TORG),
            "2026-05-11 09:00", "fastighetskontoret", "building-damage", "normal",
            "2026-05-19 09:00",
        ),
        (
            case("damage", "damage.building", VASASTAN),
            "2026-05-11 09:00", "fastighetskontoret", "building-damage", "normal",
            "2026-05-19 09:00",
        ),
        (
            case("damage", "damage.broken_light", KUNGSTRADGARDEN),
            "2026-05-11 09:00", "trafikkontoret", "street-damage", "normal", "2026-05-19 09:00",
        ),
        (
            case("litter", "litter.dumped_items", BRUNKEBERGSTORG),
            "2026-03-06 10:00", "trafikkontoret", "street-litter", "normal", "2026-03-09 10:00",
        ),
        (
            case("litter", "litter.syringes", SERGELS_TORG),
            "2026-12-24 18:00", "trafikkontoret", "syringes", "urgent", "2026-12-24 22:00",
        ),
        # Ordinary graffiti outside every zone: no rule, so the fallback, never unrouted.
        (
            case("damage", "damage.graffiti", VASASTAN),
            "2026-03-06 10:00", "city-i-samverkan", "fallback", "normal", "2026-03-09 10:00",
        ),
        # Contacts: a referral goes to the organisation referred to, whichever it is.
        (
            case("contact", None, SERGELS_TORG, referral="socialtjanst-uppsok"),
            "2026-03-06 10:00", "socialtjanst-uppsok", "contact-referral", "high",
            "2026-03-09 10:00",
        ),
        (
            case("contact", None, None, referral="polisen-city"),
            "2026-03-06 10:00", "polisen-city", "contact-referral", "high", "2026-03-09 10:00",
        ),
        (
            case("contact", None, SERGELS_TORG),
            "2026-03-06 10:00", "city-i-samverkan", "fallback", "normal", "2026-03-09 10:00",
        ),
    ],
)  # fmt: skip
def test_demo_rules_route_to_the_responsible_organisation(
    facts, received, organisation, rule_id, priority, due
):
    result = route(DEMO, facts, received_at=local(received), organisations=REFERENCE.organisations)
    assert (result.organisation, result.rule_id, result.priority) == (
        organisation,
        rule_id,
        priority,
    )
    assert result.due_at == local(due).astimezone(UTC)
    assert result.rule_set_version == DEMO.version == 1


def test_a_referral_to_an_unknown_organisation_falls_back_instead_of_vanishing():
    facts = CaseFacts(kind="contact", referral="no-such-unit")
    result = route(DEMO, facts, received_at=local("2026-03-06 10:00"), organisations=["x"])
    assert (result.organisation, result.rule_id) == ("city-i-samverkan", "fallback")


def rule_set(*rules: dict[str, Any], version: int = 7) -> dict[str, Any]:
    return {
        "version": version,
        "fallback": {
            "organisation": "city-i-samverkan",
            "priority": "normal",
            "deadline": "hours(8)",
        },
        "rule": list(rules),
    }


def rule(rule_id: str, organisation: str, **conditions: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "organisation": organisation,
        "priority": "normal",
        "deadline": "working_hours(24)",
        **conditions,
    }


GLASS_AT_SERGELS = CaseFacts(kind="litter", category="litter.broken_glass", zone="sergels-torg")


@pytest.mark.parametrize(
    "rules,winner",
    [
        # Both rules match the glass; the first listed wins either way round.
        ([rule("by-kind", "norrmalm-sdf", kinds=["litter"]),
          rule("by-code", "trafikkontoret", categories=["litter.broken_glass"])], "by-kind"),
        ([rule("by-code", "trafikkontoret", categories=["litter.broken_glass"]),
          rule("by-kind", "norrmalm-sdf", kinds=["litter"])], "by-code"),
        # A rule whose zone does not hold is passed over.
        ([rule("hotorget", "norrmalm-sdf", kinds=["litter"], zones=["hotorget"]),
          rule("sergel", "trafikkontoret", kinds=["litter"], zones=["sergels-torg"])], "sergel"),
        # Every condition must hold: right category, wrong kind is no match.
        ([rule("mixed", "norrmalm-sdf", categories=["litter.broken_glass"], kinds=["damage"])],
         "fallback"),
        ([], "fallback"),
    ],
)  # fmt: skip
def test_first_matching_rule_wins(rules, winner):
    compiled = validate_rule_set(rule_set(*rules))
    result = route(compiled, GLASS_AT_SERGELS, received_at=local("2026-03-10 09:00"))
    assert result.rule_id == winner
    assert result.rule_set_version == 7


NIGHT = validate_rule_set(
    rule_set(
        rule(
            "night", "polisen-city", kinds=["litter"], time_of_day={"from": "22:00", "to": "06:00"}
        ),
        rule(
            "office", "norrmalm-sdf", kinds=["litter"], time_of_day={"from": "08:00", "to": "17:00"}
        ),
        rule("rest", "trafikkontoret", kinds=["litter"]),
    )
)


@pytest.mark.parametrize(
    "observed,winner",
    [
        ("2026-03-10T21:59+01:00", "rest"),
        ("2026-03-10T22:00+01:00", "night"),  # 'from' is inclusive
        ("2026-03-10T23:59+01:00", "night"),
        ("2026-03-11T00:00+01:00", "night"),  # across midnight
        ("2026-03-11T05:59+01:00", "night"),
        ("2026-03-11T06:00+01:00", "rest"),  # 'to' is exclusive
        ("2026-03-11T08:00+01:00", "office"),
        ("2026-03-11T16:59+01:00", "office"),
        ("2026-03-11T17:00+01:00", "rest"),
        # Windows are Stockholm clock time: 20:30 UTC is 22:30 in summer, 21:30 in winter.
        ("2026-07-01T20:30+00:00", "night"),
        ("2026-01-15T20:30+00:00", "rest"),
        ("2026-01-15T21:30+00:00", "night"),
    ],
)
def test_time_of_day_windows_in_stockholm_time(observed, winner):
    at = datetime.fromisoformat(observed)
    assert route(NIGHT, GLASS_AT_SERGELS, received_at=at).rule_id == winner


def test_window_looks_at_when_it_was_seen_and_the_deadline_at_when_it_arrived():
    # Seen at 23:30 on Tuesday, synced from an offline phone at 07:30 on Wednesday.
    result = route(
        NIGHT,
        GLASS_AT_SERGELS,
        observed_at=local("2026-03-10 23:30"),
        received_at=local("2026-03-11 07:30"),
    )
    assert result.rule_id == "night"
    assert result.due_at == local("2026-03-12 07:30").astimezone(UTC)


@pytest.mark.parametrize(
    "point,zone",
    [
        (SERGELS_TORG, "sergels-torg"),
        (HOTORGET, "hotorget"),
        (DROTTNINGGATAN, "drottninggatan"),
        (KUNGSTRADGARDEN, "kungstradgarden"),
        (BRUNKEBERGSTORG, "brunkebergstorg"),
        (VASASTAN, None),
        # On the border Sergels Torg shares with Brunkebergstorg (lat 59.3312): the slug that
        # sorts first, as the reference service decides, so case and route agree.
        ((59.3312, 18.0640), "brunkebergstorg"),
        # The slanted east edge of Sergels Torg (18.0672,59.3312)-(18.0675,59.3325): just inside.
        ((59.3318, 18.0673), "sergels-torg"),
    ],
)
def test_zone_at_picks_the_polygon_around_the_point(point, zone):
    assert zone_at(*point, ZONES) == zone
    # GeoJSON mappings work as well as shapely polygons.
    raw = [(f["properties"]["slug"], f["geometry"]) for f in ZONES_GEOJSON["features"]]
    assert zone_at(*point, raw) == zone


VALID = rule_set(rule("glass", "trafikkontoret", categories=["litter.broken_glass"]))


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with one key replaced (or removed when value is ...): 'rule.0.deadline'."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    "data,where,message",
    [
        (changed("versoin", 2), "versoin", "unknown key 'versoin'"),
        (changed("version", ...), "version", "positive integer"),
        (changed("version", "1"), "version", "positive integer"),
        (changed("version", True), "version", "positive integer"),
        (changed("fallback", ...), "fallback", "so no case is ever unrouted"),
        (changed("fallback.organisation", "@referral"), "fallback.organisation", "slug"),
        (changed("fallback.categories", ["litter.broken_glass"]), "fallback.categories",
         "unknown key"),
        (changed("rule", {"id": "x"}), "rule", "array of tables"),
        (changed("rule.0.categoies", ["x"]), "rule[0].categoies", "rule 'glass': unknown key"),
        (changed("rule.0.deadline", "soon"), "rule[0].deadline",
         "rule 'glass': unknown deadline policy 'soon'"),
        (changed("rule.0.deadline", "working_hours(0)"), "rule[0].deadline", "between 1 and"),
        (changed("rule.0.deadline", ...), "rule[0].deadline", "rule 'glass': required"),
        (changed("rule.0.priority", "asap"), "rule[0].priority", "urgent, high, normal, low"),
        (changed("rule.0.organisation", ...), "rule[0].organisation", "required"),
        (changed("rule.0.categories", []), "rule[0].categories", "non-empty list"),
        (changed("rule.0.categories", "litter.broken_glass"), "rule[0].categories",
         "non-empty list"),
        (changed("rule.0.categories", ...), "rule[0]", "give 'categories' or 'kinds'"),
        (changed("rule.0.kinds", ["rubbish"]), "rule[0].kinds", "unknown kind 'rubbish'"),
        (changed("rule.0.id", "Glass!"), "rule[0].id", "lowercase"),
        (changed("rule.0.id", "fallback"), "rule[0].id", "reserved"),
        (changed("rule.0.referral", "yes"), "rule[0].referral", "true or false"),
        (changed("rule.0.organisation", "@referral"), "rule[0].organisation",
         "needs referral = true"),
        (changed("rule.0.time_of_day", {"from": "24:00", "to": "06:00"}),
         "rule[0].time_of_day.from", "'24:00' is not a time"),
        (changed("rule.0.time_of_day", {"from": "22:00", "to": "6:00"}),
         "rule[0].time_of_day.to", "'6:00' is not a time"),
        (changed("rule.0.time_of_day", {"from": "22:00", "to": "22:00"}),
         "rule[0].time_of_day", "'from' equals 'to'"),
        (changed("rule.0.time_of_day", {"from": "22:00"}), "rule[0].time_of_day", "HH:MM"),
        (changed("rule.0.time_of_day", {"from": "22:00", "to": "06:00", "tz": "UTC"}),
         "rule[0].time_of_day", "HH:MM"),
    ],
)  # fmt: skip
def test_invalid_rule_sets_are_refused_naming_the_place(data, where, message):
    with pytest.raises(RuleSetError) as caught:
        validate_rule_set(data)
    assert where in caught.value.errors, caught.value.errors
    assert any(message in text for text in caught.value.errors[where]), caught.value.errors


@pytest.mark.parametrize(
    "path,value,where,message",
    [
        ("rule.0.categories", ["litter.broken_glas"], "rule[0].categories",
         "unknown category 'litter.broken_glas'"),
        ("rule.0.zones", ["sergel"], "rule[0].zones", "unknown zone 'sergel'"),
        ("rule.0.organisation", "trafikkontor", "rule[0].organisation",
         "unknown organisation 'trafikkontor'"),
        ("fallback.organisation", "city", "fallback.organisation", "unknown organisation"),
    ],
)  # fmt: skip
def test_names_are_checked_against_the_reference_data(path, value, where, message):
    data = changed(path, value)
    validate_rule_set(data)  # well-formed: only the reference data can tell it is wrong
    with pytest.raises(RuleSetError) as caught:
        validate_rule_set(data, REFERENCE)
    assert any(message in text for text in caught.value.errors[where]), caught.value.errors


def test_every_problem_is_reported_at_once():
    data = rule_set(
        rule("a", "trafikkontoret", kinds=["litter"], deadline="soon"),
        rule("a", "trafikkontoret", kinds=["litter"], priority="asap"),
    )
    with pytest.raises(RuleSetError) as caught:
        validate_rule_set(data)
    assert set(caught.value.errors) == {"rule[0].deadline", "rule[1].id", "rule[1].priority"}
    assert "earlier rule" in caught.value.errors["rule[1].id"][0]
    assert "rule[1].priority" in str(caught.value)


def test_a_file_that_is_not_toml_is_refused(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text('version = 1\n[[rule]\nid = "x"\n', "utf-8")
    with pytest.raises(RuleSetError, match="not valid TOML"):
        load_rule_set(bad)


def test_a_rule_set_survives_a_round_trip_through_the_admin_api_as_json():
    as_json = json.loads(json.dumps(DEMO.to_dict()))
    again = validate_rule_set(as_json, REFERENCE)
    assert again == DEMO
    assert [r.id for r in again.rules] == [
        r["id"] for r in tomllib.loads(RULES_FILE.read_text())["rule"]
    ]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="tz-aware"):
        route(DEMO, GLASS_AT_SERGELS, received_at=datetime(2026, 3, 10, 9, 0))
