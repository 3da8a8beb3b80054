"""Deciding whether a new report joins an open case: place, time, GPS accuracy and photo.

Pure and I/O-free: the push transaction reads the candidate cases (see ``sync.cells`` for the
indexed lookup and the lock that makes it safe), calls ``decide`` once per report, and stores
the ``Decision`` (``as_dict()``) beside the report so a supervisor can see why it merged.

The rules, in the order they refuse a candidate:

1. A resolved case is never joined: a full bin reported after it was emptied is a new task.
2. Only categories of the same ``dedup_group`` merge (plain and offensive graffiti on one wall).
3. Distance from the case's location within the effective radius: the category's radius widened
   by the GPS accuracy of both fixes, bounded by ``ACCURACY_BOUND_M``. The case's location is its
   first report's and never moves, so a chain of reports cannot walk a case from one bin to the
   next one.
4. Time gap within the category's window, measured to the nearest end of the case's reports'
   time span: to the latest report for a new find (the case stays alive while people keep
   seeing the problem and nobody resolved it), to the first for a report captured earlier and
   synced late by a phone that was offline.
5. Inside the category's own radius, place and time decide. In the band the GPS accuracy added
   (the edge), photos weigh in: a clearly different photo keeps the reports apart, a near one
   is named as the reason it joined.

Among the candidates that pass, the closest case wins; ties go to the smaller time gap, then to
the smaller case id, so the result never depends on the order the database returned rows in.

The reporter on the spot may answer for the rules (``sync.case_hints``, issue 21): phone GPS between
buildings is 5-30 m off, so two bins 20 m apart can fall inside one radius. ``same_as`` joins the
named case when it is open, of the same group and within ``HINT_RADIUS_FACTOR`` times the
category's radius (time does not matter: the reporter sees it is the same thing), and otherwise
the rules decide and the decision says why the hint was not followed. ``distinct_from`` removes
the named cases from the candidates, so the report may join another case or start one.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyproj import Geod

from sync.cells import CELL_SIZE_M

_GEOD = Geod(ellps="WGS84")

ACCURACY_BOUND_M = 25.0
"""The most that GPS accuracy widens a radius.

Smartphones in open sky are within about 5 m (GPS.gov's performance page: 4.9 m, 95 %); in the
street canyons of Stockholm's city centre around Sergels Torg they report 5-30 m. A fix worse than
25 m cannot tell two bins 20-30 m apart anyway, so widening further would only merge neighbours.
"""

NEAR_PHOTO_MAX = 10
"""Hamming distance of 64-bit perceptual hashes up to which two photos show the same thing.

Re-encoded, rescaled or slightly reframed photos of one scene land within a few bits; jimp's
pHash documentation treats under 15 % of the bits (9.6 of 64) as "looks like". For unrelated
images each bit differs with probability 1/2, and 10 or fewer differing bits then happen with
probability 1e-8 (binomial, n = 64), so a near hash is strong evidence, not chance.
"""

DIFFERENT_PHOTO_MIN = 24
"""Hamming distance from which two photos clearly show different things.

Unrelated images land around 32 of 64 bits; 24 is two standard deviations (4 bits) below that,
so about 98 % of unrelated pairs reach it. Two photos of the same bin from different angles
usually stay below it. Between the two thresholds the photos say nothing either way.
"""


class Rule(enum.StrEnum):
    """Which rule decided: the first three join a case, the rest start a new one."""

    WITHIN_RADIUS = "within_radius"
    WITHIN_ACCURACY = "within_accuracy"
    NEAR_PHOTO = "near_photo"
    REPORTER_SAME = "reporter_same"
    NO_CANDIDATE = "no_candidate"
    CASE_RESOLVED = "case_resolved"
    OTHER_GROUP = "other_group"
    TOO_FAR = "too_far"
    OUTSIDE_WINDOW = "outside_window"
    DIFFERENT_PHOTO = "different_photo"
    REPORTER_DISTINCT = "reporter_distinct"

    @property
    def joins(self) -> bool:
        return self in _JOIN_RULES


_JOIN_RULES = frozenset(
    {Rule.WITHIN_RADIUS, Rule.WITHIN_ACCURACY, Rule.NEAR_PHOTO, Rule.REPORTER_SAME}
)


class HintRefusal(enum.StrEnum):
    """Why a ``same_as`` hint was not followed (the rules decided instead)."""

    CLOSED = "closed"  # resolved, or merged into another case
    OTHER_GROUP = "other_group"
    TOO_FAR = "too_far"  # beyond HINT_RADIUS_FACTOR radii
    UNKNOWN_CASE = "unknown_case"


@dataclass(frozen=True, slots=True)
class HintOutcome:
    """What became of a hint: ``followed``, or the ``refusal`` of a ``same_as``."""

    kind: str  # "same_as" | "distinct_from"
    followed: bool
    refusal: HintRefusal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "followed": self.followed,
            "reason": self.refusal.value if self.refusal else None,
        }


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """One category's dedup tuning: ``dedup_radius_m``, ``dedup_window_min``, ``dedup_group``."""

    radius_m: float
    window_min: float
    group: str

    def __post_init__(self) -> None:
        if not self.radius_m > 0 or not self.window_min > 0 or not self.group:
            raise ValueError(
                f"dedup settings need a positive radius and window and a group: {self}"
            )
        if self.radius_m + ACCURACY_BOUND_M > CELL_SIZE_M:
            # The spatial lookup only finds cases within one cell of the report.
            raise ValueError(
                f"dedup radius {self.radius_m} m plus the {ACCURACY_BOUND_M} m GPS bound exceeds"
                f" the {CELL_SIZE_M} m cell of sync.cells"
            )

    @classmethod
    def from_category(cls, code: str, settings: Mapping[str, Any]) -> DedupSettings:
        """From a catalogue entry; without ``dedup_group`` a category merges only with itself."""
        try:
            return cls(
                radius_m=float(settings["dedup_radius_m"]),
                window_min=float(settings["dedup_window_min"]),
                group=str(settings.get("dedup_group") or code),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"category {code!r}: bad dedup settings: {exc}") from exc


def catalogue_settings(categories: Iterable[Mapping[str, Any]]) -> dict[str, DedupSettings]:
    """Settings per category code from catalogue entries (each with ``code`` and the settings)."""
    return {str(c["code"]): DedupSettings.from_category(str(c["code"]), c) for c in categories}


def phash_from_hex(text: str) -> int:
    """A 64-bit perceptual hash from its hex form (``str(imagehash.phash(image))``)."""
    value = int(text, 16)
    if len(text) > 16 or value < 0:
        raise ValueError(f"not a 64-bit hash: {text!r}")
    return value


def _check_point(lat: float, lon: float, accuracy_m: float | None) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"not a WGS 84 point: {lat}, {lon}")
    if accuracy_m is not None and not accuracy_m >= 0:
        raise ValueError(f"GPS accuracy must be a distance in metres: {accuracy_m}")


def _check_hashes(hashes: tuple[int, ...]) -> None:
    if any(not 0 <= h < 1 << 64 for h in hashes):
        raise ValueError("perceptual hashes are 64-bit unsigned integers")


def _check_aware(*times: datetime) -> None:
    if any(t.utcoffset() is None for t in times):
        raise ValueError("capture times must carry a time zone")


@dataclass(frozen=True, slots=True)
class NewReport:
    """The report being pushed, with its corrected capture time and its category's settings.

    ``accuracy_m`` is the phone's horizontal accuracy (the 68 % radius Android and iOS report);
    None means unknown and widens nothing: reports are not merged on a guess.
    """

    settings: DedupSettings
    lat: float
    lon: float
    accuracy_m: float | None
    captured_at: datetime
    phashes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_point(self.lat, self.lon, self.accuracy_m)
        _check_aware(self.captured_at)
        _check_hashes(self.phashes)


@dataclass(frozen=True, slots=True)
class CaseCandidate:
    """An existing case as ``decide`` needs it.

    ``lat``/``lon``/``accuracy_m`` are the case's location (its first report's), ``first_at`` and
    ``last_at`` the earliest and latest corrected capture times of its reports, ``phashes`` the
    perceptual hashes of its reports' photos.
    """

    case_id: uuid.UUID
    group: str
    lat: float
    lon: float
    accuracy_m: float | None
    first_at: datetime
    last_at: datetime
    resolved: bool = False
    phashes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_point(self.lat, self.lon, self.accuracy_m)
        _check_aware(self.first_at, self.last_at)
        if self.last_at < self.first_at:
            raise ValueError("a case's last report cannot precede its first")
        _check_hashes(self.phashes)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What was measured between the new report and one case."""

    case_id: uuid.UUID
    distance_m: float
    gap_min: float
    effective_radius_m: float
    photo_distance: int | None


@dataclass(frozen=True, slots=True)
class Decision:
    """Join ``case_id``, or start a new case when it is None.

    ``evidence`` describes the joined case, or for a new case the nearest candidate and why
    ``rule`` refused it; it is None only when there was no candidate at all.
    """

    rule: Rule
    case_id: uuid.UUID | None
    evidence: Evidence | None
    hint: HintOutcome | None = None

    @property
    def joins(self) -> bool:
        return self.case_id is not None

    def as_dict(self) -> dict[str, Any]:
        """The merge reason as JSON-ready values, rounded to what a supervisor reads; ``hint``
        only when the reporter gave one (so reasons stored before hints read the same)."""
        ev = self.evidence
        extra = {"hint": self.hint.as_dict()} if self.hint is not None else {}
        return extra | {
            "rule": self.rule.value,
            "joined": self.joins,
            "case_id": str(ev.case_id) if ev else None,
            "distance_m": round(ev.distance_m, 1) if ev else None,
            "gap_min": round(ev.gap_min, 1) if ev else None,
            "effective_radius_m": round(ev.effective_radius_m, 1) if ev else None,
            "photo_distance": ev.photo_distance if ev else None,
        }


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS 84 ellipsoid."""
    dist: float = _GEOD.inv(lon1, lat1, lon2, lat2)[2]
    return dist


def accuracy_widening(new_accuracy_m: float | None, case_accuracy_m: float | None) -> float:
    """How far GPS uncertainty widens the radius: both fixes' errors, bounded.

    The error of the distance between two independent fixes has the two accuracies added in
    quadrature (root of the sum of squares), not summed: summing assumes both errors point
    away from each other every time.
    """
    return min(math.hypot(new_accuracy_m or 0.0, case_accuracy_m or 0.0), ACCURACY_BOUND_M)


def photo_distance(a: tuple[int, ...], b: tuple[int, ...]) -> int | None:
    """Smallest Hamming distance between any photo of each; None when either has no photo."""
    if not a or not b:
        return None
    return min((x ^ y).bit_count() for x in a for y in b)


def _gap_min(at: datetime, first_at: datetime, last_at: datetime) -> float:
    if at > last_at:
        return (at - last_at).total_seconds() / 60.0
    if at < first_at:
        return (first_at - at).total_seconds() / 60.0
    return 0.0


# (rule, distance_m, gap_min, case_id, effective_radius_m, photo_distance): a plain tuple in the
# loop, ordered so that comparing two of them from index 1 ranks closest, then soonest, then by
# id; ``decide`` runs once per pushed report, and building an Evidence per candidate doubled it.
_Measured = tuple[Rule, float, float, uuid.UUID, float, int | None]


def _measure(new: NewReport, case: CaseCandidate) -> _Measured:
    settings = new.settings
    dist: float = _GEOD.inv(new.lon, new.lat, case.lon, case.lat)[2]
    radius = settings.radius_m + accuracy_widening(new.accuracy_m, case.accuracy_m)
    gap = _gap_min(new.captured_at, case.first_at, case.last_at)
    photo = photo_distance(new.phashes, case.phashes)
    rule: Rule
    if case.resolved:
        rule = Rule.CASE_RESOLVED
    elif case.group != settings.group:
        rule = Rule.OTHER_GROUP
    elif dist > radius:
        rule = Rule.TOO_FAR
    elif gap > settings.window_min:
        rule = Rule.OUTSIDE_WINDOW
    elif dist <= settings.radius_m:
        rule = Rule.WITHIN_RADIUS
    elif photo is not None and photo >= DIFFERENT_PHOTO_MIN:
        rule = Rule.DIFFERENT_PHOTO
    elif photo is not None and photo <= NEAR_PHOTO_MAX:
        rule = Rule.NEAR_PHOTO
    else:
        rule = Rule.WITHIN_ACCURACY
    return rule, dist, gap, case.case_id, radius, photo


def _evidence(m: _Measured) -> Evidence:
    return Evidence(
        case_id=m[3], distance_m=m[1], gap_min=m[2], effective_radius_m=m[4], photo_distance=m[5]
    )


def evaluate(new: NewReport, case: CaseCandidate) -> tuple[Rule, Evidence]:
    """Measure one candidate and name the rule that joins or refuses it."""
    m = _measure(new, case)
    return m[0], _evidence(m)


def decide(new: NewReport, candidates: Iterable[CaseCandidate]) -> Decision:
    """The case the new report joins (the closest that every rule allows), or a new case and why."""
    best: _Measured | None = None
    nearest_refused: _Measured | None = None
    for case in candidates:
        m = _measure(new, case)
        if m[0] in _JOIN_RULES:
            if best is None or m[1:4] < best[1:4]:
                best = m
        elif nearest_refused is None or m[1:4] < nearest_refused[1:4]:
            nearest_refused = m
    if best is not None:
        return Decision(rule=best[0], case_id=best[3], evidence=_evidence(best))
    if nearest_refused is not None:
        return Decision(rule=nearest_refused[0], case_id=None, evidence=_evidence(nearest_refused))
    return Decision(rule=Rule.NO_CANDIDATE, case_id=None, evidence=None)
