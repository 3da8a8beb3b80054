"""The rows a push writes for its new items: one insert per item table, in foreign-key order.

Reports also become ``cases.Placed`` (what case placement reads); every item with a location
and no zone gets its zone from the one zone index (``reference.zones``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend.cases import assignment as cases
from backend.contacts.models import Contact
from backend.presence.models import PresenceEvent
from backend.reference.zones import ZoneIndex
from backend.reports.models import Report, ReportPhoto
from backend.users.models import User
from sync.case_hints import CaseHint
from sync.dedup import DedupSettings
from sync.envelope import ValidItem


def _zone_of(zones: ZoneIndex, location: dict[str, Any]) -> str | None:
    if location.get("lat") is None or location.get("lon") is None:
        return None
    return zones.at(location["lat"], location["lon"])


def detail_rows(
    user: User,
    items: list[ValidItem],
    zones: ZoneIndex,
    missing: dict[uuid.UUID, list[str]] | None = None,
) -> tuple[list[cases.Placed], list[tuple[Any, list[dict[str, Any]]]]]:
    """The reports to place in cases, and the rows of each item table for newly claimed
    items, in foreign-key order (reports without their case yet: ``_store_details`` adds it).
    Only the photos the pusher possesses (not in ``missing``) weigh in case assignment."""
    missing = missing or {}
    placed: list[cases.Placed] = []
    reports: list[dict[str, Any]] = []
    photos: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    presence: list[dict[str, Any]] = []
    for item in items:
        loc = item.location or {}
        where = {"lat": loc.get("lat"), "lon": loc.get("lon"), "accuracy_m": loc.get("accuracy_m")}
        common = {"id": item.id, "user_id": user.id, "occurred_at": item.occurred_at}
        f = item.fields
        if item.type == "report":
            zone = zones.at(loc["lat"], loc["lon"])
            missing_here = set(missing.get(item.id, ()))
            placed.append(
                cases.Placed(
                    id=item.id,
                    category=f["category"],
                    kind=f["kind"],
                    lat=loc["lat"],
                    lon=loc["lon"],
                    accuracy_m=loc.get("accuracy_m"),
                    occurred_at=item.occurred_at,
                    zone=zone,
                    photo_sha256=tuple(
                        p["sha256"] for p in f["photos"] if p["sha256"] not in missing_here
                    ),
                    hint=CaseHint.from_dict(f.get("case_hint")),
                )
            )
            reports.append(
                {**common, **where, "kind": f["kind"], "category": f["category"]}
                | {"note": f["note"], "zone": zone}
            )
            photos.extend(
                {"report_id": item.id, "position": n, **photo}
                for n, photo in enumerate(f["photos"])
            )
        elif item.type == "contact":
            contacts.append(
                {**common, **where, "zone": _zone_of(zones, loc)}
                | {k: f[k] for k in ("contact_type", "age_group", "needs", "referral")}
            )
        else:
            # An event of any kind without a zone gets one from the polygons, so a shift
            # started on Sergels Torg by a phone that named no zone is not logged "nowhere";
            # a zone the phone named is kept (the worker may know better than the GPS).
            zone = f["zone"]
            if zone is None:
                zone = _zone_of(zones, loc)
            presence.append({**common, **where, "event": f["event"], "zone": zone})
    return placed, [
        (Report, reports),
        (ReportPhoto, photos),
        (Contact, contacts),
        (PresenceEvent, presence),
    ]


@dataclass(frozen=True)
class NewRows:
    """The rows of some new items and their reports' placement layout, built from the items
    alone (no lock held): the push's write transaction adds only what depends on what it
    reads under its locks (the reports' cases)."""

    ids: list[uuid.UUID]
    placed: list[cases.Placed]
    reports: list[tuple[Any, list[dict[str, Any]]]]
    """The reports' tables (reports, their photos): their rows need the placement."""
    others: list[tuple[Any, list[dict[str, Any]]]]
    """The contacts' and presence events' tables."""
    layout: cases.Layout | None

    @property
    def contacts(self) -> list[dict[str, Any]]:
        return next((rows for model, rows in self.others if model is Contact), [])


def new_rows(
    user: User,
    items: list[ValidItem],
    zones: ZoneIndex,
    dedup: Mapping[str, DedupSettings],
    missing: dict[uuid.UUID, list[str]],
) -> NewRows:
    """:func:`detail_rows` and the reports' :func:`cases.layout`, the tables split by whether
    their rows need the placement."""
    placed, tables = detail_rows(user, items, zones, missing)
    layout = cases.layout(placed, dedup) if placed else None
    by_placement = [(m, rows) for m, rows in tables if m in (Report, ReportPhoto)]
    others = [(m, rows) for m, rows in tables if m not in (Report, ReportPhoto)]
    return NewRows([i.id for i in items], placed, by_placement, others, layout)
