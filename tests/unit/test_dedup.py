"""Whether a new report joins an open case, on real coordinates around Sergels Torg."""

from __future__ import annotations

import itertools
import json
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyproj import Geod

from sync.dedup import (
    ACCURACY_BOUND_M,
    DIFFERENT_PHOTO_MIN,
    NEAR_PHOTO_MAX,
    CaseCandidate,
    DedupSettings,
    NewReport,
    Rule,
    catalogue_settings,
    decide,
    evaluate,
    phash_from_hex,
)

GEOD = Geod(ellps="WGS84")
SERGELS_TORG = (59.3325, 18.0642)
T0 = datetime(2025, 6, 12, 14, 0, tzinfo=UTC)
CATALOGUE = Path(__file__).parents[2] / "backend" / "reference" / "data" / "categories.toml"
SETTINGS = catalogue_settings(tomllib.loads(CATALOGUE.read_text("utf-8"))["category"])
BIN = "litter.overflowing_bin"  # radius 15 m, window 240 min
HASH = 0x0123456789ABCDEF


def at_distance(metres: float, azimuth: float = 90.0) -> tuple[float, float]:
    """The point ``metres`` from Sergels Torg along ``azimuth``, on the WGS 84 ellipsoid."""
    lon, lat, _ = GEOD.fwd(SERGELS_TORG[1], SERGELS_TORG[0], azimuth, metres)
    return lat, lon


def differing(bits: int) -> int:
    """A hash at Hamming distance ``bits`` from HASH."""
    return HASH ^ ((1 << bits) - 1)


def report(
    category: str = BIN,
    metres: float = 0.0,
    minutes: float = 0.0,
    accuracy: float | None = 5.0,
    phashes: tuple[int, ...] = (),
) -> NewReport:
    lat, lon = at_distance(metres)
    return NewReport(
        settings=SETTINGS[category],
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        captured_at=T0 + timedelta(minutes=minutes),
        phashes=phashes,
    )


def case(
    category: str = BIN,
    metres: float = 0.0,
    first_min: float = 0.0,
    last_min: float | None = None,
    accuracy: float | None = None,
    resolved: bool = False,
    phashes: tuple[int, ...] = (),
    case_id: uuid.UUID | None = None,
) -> CaseCandidate:
    lat, lon = at_distance(metres, azimuth=270.0)
    return CaseCandidate(
        case_id=case_id or uuid.uuid4(),
        group=SETTINGS[category].group,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        first_at=T0 + timedelta(minutes=first_min),
        last_at=T0 + timedelta(minutes=first_min if last_min is None else last_min),
        resolved=resolved,
        phashes=phashes,
    )


# The new report lies east of Sergels Torg, the case west of it: distances add up.
@pytest.mark.parametrize(
    "new,existing,rule",
    [
        pytest.param(
            report(metres=5, minutes=10), case(), Rule.WITHIN_RADIUS, id="same-bin-5m-10min"
        ),
        pytest.param(report(metres=200, minutes=10), case(), Rule.TOO_FAR, id="200m-apart"),
        pytest.param(
            report("litter.broken_glass", metres=5), case(), Rule.OTHER_GROUP, id="other-category"
        ),
        pytest.param(
            report("damage.graffiti_offensive", metres=5),
            case("damage.graffiti"),
            Rule.WITHIN_RADIUS,
            id="same-dedup-group",
        ),
        pytest.param(report(minutes=241), case(), Rule.OUTSIDE_WINDOW, id="after-window"),
        pytest.param(report(minutes=239), case(), Rule.WITHIN_RADIUS, id="inside-window"),
        pytest.param(
            report(minutes=0),
            case(first_min=-400, last_min=-100),
            Rule.WITHIN_RADIUS,
            id="window-from-latest",
        ),
        pytest.param(
            report(minutes=-60), case(), Rule.WITHIN_RADIUS, id="synced-late-before-first"
        ),
        pytest.param(report(minutes=-241), case(), Rule.OUTSIDE_WINDOW, id="long-before-first"),
        pytest.param(report(metres=30, accuracy=5), case(), Rule.TOO_FAR, id="30m-good-gps"),
        pytest.param(
            report(metres=30, accuracy=20), case(), Rule.WITHIN_ACCURACY, id="30m-poor-gps"
        ),
        pytest.param(
            report(metres=39, accuracy=200), case(), Rule.WITHIN_ACCURACY, id="39m-gps-at-bound"
        ),
        pytest.param(report(metres=41, accuracy=200), case(), Rule.TOO_FAR, id="41m-beyond-bound"),
        pytest.param(report(metres=16, accuracy=None), case(), Rule.TOO_FAR, id="unknown-accuracy"),
        pytest.param(
            report(metres=30, accuracy=12),
            case(accuracy=16),
            Rule.WITHIN_ACCURACY,
            id="both-fixes-widen",
        ),
        pytest.param(
            report(metres=30, accuracy=12), case(accuracy=None), Rule.TOO_FAR, id="one-fix-widens"
        ),
        pytest.param(report(), case(resolved=True), Rule.CASE_RESOLVED, id="resolved-case"),
    ],
)
def test_rules(new: NewReport, existing: CaseCandidate, rule: Rule) -> None:
    decision = decide(new, [existing])
    assert decision.rule == rule
    assert decision.case_id == (existing.case_id if rule.joins else None)
    assert decision.evidence is not None
    assert decision.evidence.case_id == existing.case_id


# 25 m away with 20 m accuracy: outside the bin's own 15 m, inside the widened 35 m (the edge).
@pytest.mark.parametrize(
    "metres,new_hashes,case_hashes,rule",
    [
        (25, (differing(3),), (HASH,), Rule.NEAR_PHOTO),
        (25, (differing(NEAR_PHOTO_MAX),), (HASH,), Rule.NEAR_PHOTO),
        (25, (differing(NEAR_PHOTO_MAX + 1),), (HASH,), Rule.WITHIN_ACCURACY),
        (25, (differing(DIFFERENT_PHOTO_MIN - 1),), (HASH,), Rule.WITHIN_ACCURACY),
        (25, (differing(DIFFERENT_PHOTO_MIN),), (HASH,), Rule.DIFFERENT_PHOTO),
        (25, (differing(40),), (HASH,), Rule.DIFFERENT_PHOTO),
        (25, (), (HASH,), Rule.WITHIN_ACCURACY),
        (25, (HASH,), (), Rule.WITHIN_ACCURACY),
        # The closest pair of photos counts: one near photo among several is enough.
        (25, (differing(40), differing(2)), (differing(50), HASH), Rule.NEAR_PHOTO),
        # Inside the category's own radius place and time decide, whatever the photos show.
        (10, (differing(40),), (HASH,), Rule.WITHIN_RADIUS),
        # Beyond the widened radius a near photo does not pull the report in.
        (40, (HASH,), (HASH,), Rule.TOO_FAR),
    ],
)
def test_photos_decide_at_the_edge(
    metres: float, new_hashes: tuple[int, ...], case_hashes: tuple[int, ...], rule: Rule
) -> None:
    existing = case(phashes=case_hashes)
    decision = decide(report(metres=metres, accuracy=20, phashes=new_hashes), [existing])
    assert decision.rule == rule
    assert decision.joins == rule.joins


def test_merge_reason_records_what_was_measured() -> None:
    existing = case(first_min=-30, last_min=-10, phashes=(HASH,))
    decision = decide(report(metres=5, minutes=0, accuracy=8, phashes=(differing(6),)), [existing])
    ev = decision.evidence
    assert ev is not None
    assert ev.distance_m == pytest.approx(5.0, abs=0.01)
    assert ev.gap_min == pytest.approx(10.0)
    assert ev.effective_radius_m == pytest.approx(15.0 + 8.0)
    assert ev.photo_distance == 6
    reason = json.loads(json.dumps(decision.as_dict()))
    assert reason == {
        "rule": "within_radius",
        "joined": True,
        "case_id": str(existing.case_id),
        "distance_m": 5.0,
        "gap_min": 10.0,
        "effective_radius_m": 23.0,
        "photo_distance": 6,
    }


def test_closest_open_case_wins_in_any_order() -> None:
    near, middle, far = case(metres=3), case(metres=8), case(metres=12)
    for order in itertools.permutations([near, middle, far]):
        assert decide(report(), order).case_id == near.case_id


def test_ties_are_broken_by_case_id() -> None:
    low = case(case_id=uuid.UUID(int=1))
    high = case(case_id=uuid.UUID(int=2))
    assert decide(report(), [high, low]).case_id == low.case_id
    assert decide(report(), [low, high]).case_id == low.case_id


def test_resolved_case_is_skipped_for_an_open_one_further_away() -> None:
    open_case = case(metres=8)
    decision = decide(report(), [case(resolved=True), open_case])
    assert decision.case_id == open_case.case_id


def test_new_case_names_why_the_nearest_candidate_was_refused() -> None:
    resolved = case(metres=2, resolved=True)
    decision = decide(report(), [case(metres=200), resolved, case(metres=50)])
    assert decision.case_id is None
    assert decision.rule == Rule.CASE_RESOLVED
    assert decision.evidence is not None
    assert decision.evidence.case_id == resolved.case_id
    assert decision.as_dict()["joined"] is False


def test_no_candidates_starts_a_new_case() -> None:
    decision = decide(report(), [])
    assert (decision.rule, decision.case_id, decision.evidence) == (Rule.NO_CANDIDATE, None, None)
    assert decision.as_dict()["rule"] == "no_candidate"


def test_catalogue_groups() -> None:
    assert SETTINGS["damage.graffiti"].group == SETTINGS["damage.graffiti_offensive"].group
    others = {code: s.group for code, s in SETTINGS.items() if "graffiti" not in code}
    assert len(set(others.values())) == len(others)
    assert SETTINGS[BIN] == DedupSettings(radius_m=15, window_min=240, group="bin")


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"dedup_radius_m": 15}, "dedup_window_min"),
        ({"dedup_radius_m": 0, "dedup_window_min": 60}, "positive"),
        ({"dedup_radius_m": "wide", "dedup_window_min": 60}, "wide"),
        ({"dedup_radius_m": 100 - ACCURACY_BOUND_M + 1, "dedup_window_min": 60}, "cell"),
    ],
)
def test_bad_catalogue_entries_are_refused(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalogue_settings([{"code": "litter.new", **entry}])


def test_category_without_group_merges_only_with_itself() -> None:
    settings = catalogue_settings(
        [{"code": "litter.new", "dedup_radius_m": 10, "dedup_window_min": 60}]
    )
    assert settings["litter.new"].group == "litter.new"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"captured_at": datetime(2025, 6, 12, 14, 0)}, "time zone"),
        ({"phashes": (1 << 64,)}, "64-bit"),
        ({"lat": 91.0}, "WGS 84"),
        ({"accuracy_m": -1.0}, "accuracy"),
    ],
)
def test_bad_report_values_are_refused(change: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "settings": SETTINGS[BIN],
        "lat": SERGELS_TORG[0],
        "lon": SERGELS_TORG[1],
        "accuracy_m": 5.0,
        "captured_at": T0,
    }
    with pytest.raises(ValueError, match=message):
        NewReport(**{**values, **change})  # type: ignore[arg-type]


def test_phash_from_hex() -> None:
    assert phash_from_hex("0123456789abcdef") == HASH
    with pytest.raises(ValueError):
        phash_from_hex("0123456789abcdef0")


def test_evaluate_measures_a_refused_candidate_too() -> None:
    rule, evidence = evaluate(report(metres=5), case(resolved=True))
    assert rule == Rule.CASE_RESOLVED
    assert evidence.distance_m == pytest.approx(5.0, abs=0.01)
