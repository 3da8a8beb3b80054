"""Open cases near a point, for the reporter's question "is it one of these?" (issue 21).

Two readers: ``GET /api/v1/cases/nearby`` (online, a field worker about to file a report) and
the pull feed's ``nearby_cases`` for a zone (the same question asked offline from the last
pull). Both are bounded reads on indexes of open cases, never a scan of the table:

- near a point: the 3 x 3 cells of ``sync.cells`` on ``ix_cases_open_cell`` (a cell is 100 m,
  twice the widest radius is 50 m), at most ``SCAN_MAX`` rows, the most recently reported;
- in a zone: ``ix_cases_open_zone`` (migration 0013), at most ``ZONE_MAX`` rows.

Nothing personal leaves here: no reporter, no note, no report's position. Near a point only
the distance, in ``DISTANCE_STEP_M`` steps; in a zone the case's place rounded to
``ZONE_DECIMALS`` decimals, enough for the phone to measure twice a radius.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.assignment import category_settings
from backend.cases.models import Case
from backend.errors import Unprocessable
from backend.photos.models import PhotoUploader
from backend.photos.possession import reporter_possesses
from backend.reports.models import Report, ReportPhoto
from sync.case_hints import hint_bound_m, nearby_radius_m
from sync.cells import query_cells
from sync.dedup import distance_m
from sync.envelope import Area

MAX_CASES = 10
"""The phone lists at most this many: more would not fit a screen the reporter glances at."""

SCAN_MAX = 200
"""Open cases of one group read from the 3 x 3 cells at most, the most recently reported
first. The square has a few dozen open cases of one kind at a busy event; 200 bounds the cost
of a point where open cases pile up (nobody resolving them) without hiding the ones nearby."""

DISTANCE_STEP_M = 5.0
"""Distances are given in 5 m steps: finer would let three requests trilaterate the place of
a case, which is where its first reporter stood (the offline list rounds places likewise)."""

ZONE_MAX = 50
"""Open cases the pull carries for one zone, the most recently reported first."""

ZONE_DECIMALS = 4
"""Places in the pull's list: 0.0001 degree, about 11 m north-south and 6 m east-west at
Sergels Torg; enough to tell which cases lie within twice a radius, not where someone stood."""


@dataclass(frozen=True)
class NearbyCase:
    id: uuid.UUID
    category: str
    dedup_group: str
    first_at: datetime
    last_at: datetime
    report_count: int
    has_photo: bool
    distance_m: float | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Nearby:
    cases: list[NearbyCase]
    radius_m: float
    same_as_max_m: float


_COLUMNS = (
    Case.id,
    Case.category,
    Case.dedup_group,
    Case.lat,
    Case.lon,
    Case.first_at,
    Case.last_at,
    Case.report_count,
)


def _with_photo(session: Session, case_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The cases one of whose reports attaches a photo its author has sent (listed and
    possessed, as everywhere: a listed hash without bytes is no photo)."""
    if not case_ids:
        return set()
    rows = session.execute(
        select(Report.case_id)
        .join(ReportPhoto, ReportPhoto.report_id == Report.id)
        .join(
            PhotoUploader,
            reporter_possesses(),
        )
        .where(Report.case_id.in_(case_ids))
        .distinct()
    ).scalars()
    return {case_id for case_id in rows if case_id is not None}


def _step(distance: float) -> float:
    return float(math.floor(distance / DISTANCE_STEP_M + 0.5) * DISTANCE_STEP_M)


def _nearby_case(row: Any, photo: set[uuid.UUID], **where: Any) -> NearbyCase:
    """A case of ``_COLUMNS`` as the phone sees it; ``where`` is its distance or its place."""
    return NearbyCase(
        id=row.id,
        category=row.category,
        dedup_group=row.dedup_group,
        first_at=row.first_at,
        last_at=row.last_at,
        report_count=row.report_count,
        has_photo=row.id in photo,
        **where,
    )


def near_point(session: Session, lat: float, lon: float, category: str, area: Area) -> Nearby:
    """Open cases of ``category``'s dedup group within twice its radius, closest first."""
    if not area.contains(lat, lon):
        raise Unprocessable(
            f"The point is outside the service area {area.describe()}.",
            code="outside_service_area",
            errors={"lat": [f"must be within {area.describe()}"]},
        )
    settings = category_settings(session).get(category)
    if settings is None:
        raise Unprocessable(
            "No such category.", code="unknown_category", errors={"category": ["is unknown"]}
        )
    radius = nearby_radius_m(settings)
    rows = session.execute(
        select(*_COLUMNS)
        .where(
            Case.dedup_group == settings.group,
            Case.dedup_cell.in_(query_cells(lat, lon)),
            Case.resolved_at.is_(None),
            Case.merged_into_id.is_(None),
        )
        .order_by(Case.last_at.desc(), Case.id)
        .limit(SCAN_MAX)
    ).all()
    measured = sorted(
        (d, row.id, row) for row in rows if (d := distance_m(lat, lon, row.lat, row.lon)) <= radius
    )[:MAX_CASES]
    photo = _with_photo(session, [row.id for _, _, row in measured])
    cases = [_nearby_case(row, photo, distance_m=_step(d)) for d, _, row in measured]
    return Nearby(cases, radius, hint_bound_m(settings))


def in_zone(session: Session, zone: str) -> list[NearbyCase]:
    """The zone's open cases for the pull, the most recently reported first, places rounded."""
    rows = session.execute(
        select(*_COLUMNS)
        .where(Case.zone == zone, Case.resolved_at.is_(None), Case.merged_into_id.is_(None))
        .order_by(Case.last_at.desc(), Case.id)
        .limit(ZONE_MAX)
    ).all()
    photo = _with_photo(session, [row.id for row in rows])
    return [
        _nearby_case(
            row, photo, lat=round(row.lat, ZONE_DECIMALS), lon=round(row.lon, ZONE_DECIMALS)
        )
        for row in rows
    ]
