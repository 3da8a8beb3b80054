"""A lived day around Sergels Torg, as the phones would push it: shifts with pings every five
minutes, zone moves, reports (some of one bin by two workers, some with photos) and a month of
social-prevention contacts. Used by `make screenshots`; times are relative to now, so the
console's "today" pages always have a day behind them.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from tests.helpers.photos import phone_jpeg, sha256

ZONES = Path(__file__).resolve().parents[2] / "backend" / "reference" / "data" / "zones.geojson"
PING = timedelta(minutes=5)
NOTES = {
    "litter.overflowing_bin": "Papperskorgen vid trappan ner till Plattan är full",
    "litter.broken_glass": "Krossat glas vid glasobelisken",
    "litter.dumped_items": "Dumpade kartonger vid entrén",
    "litter.syringes": "Två sprutor i rabatten",
    "damage.graffiti": "Klotter på pelaren vid Kulturhuset",
    "damage.graffiti_offensive": "Kränkande text på väggen mot T-centralen",
}


def zone_points() -> dict[str, tuple[float, float]]:
    """A point inside each zone (lat, lon): its polygon's representative point."""
    data = json.loads(ZONES.read_text("utf-8"))
    points = {}
    for feature in data["features"]:
        point = shape(feature["geometry"]).representative_point()
        points[feature["properties"]["slug"]] = (point.y, point.x)
    return points


@dataclass(frozen=True)
class Shift:
    """A worker's day: start and (unless still on shift) end, hours before now, and the zones
    walked, each for a share of the shift."""

    start_h: float
    end_h: float | None
    zones: tuple[str, ...]


SHIFTS = (
    Shift(9.0, 1.0, ("sergels-torg", "drottninggatan", "brunkebergstorg")),
    Shift(7.5, None, ("hotorget", "sergels-torg", "kungstradgarden")),
    Shift(5.0, None, ("drottninggatan", "hotorget")),
    Shift(10.5, 4.0, ("sergels-torg", "kungstradgarden")),
    Shift(2.5, None, ("sergels-torg", "drottninggatan")),
)


def _at(rng: random.Random, point: tuple[float, float]) -> dict[str, Any]:
    lat, lon = point
    return {
        "lat": round(lat + rng.uniform(-0.0002, 0.0002), 6),
        "lon": round(lon + rng.uniform(-0.0003, 0.0003), 6),
        "accuracy_m": rng.choice((5, 8, 12)),
    }


def _item(item_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": item_type, "id": str(uuid.uuid4()), "captured_at": at.isoformat(), **fields}


def shift_items(shift: Shift, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    points = zone_points()
    start = now - timedelta(hours=shift.start_h)
    end = now - timedelta(hours=shift.end_h) if shift.end_h is not None else now
    items = [
        _item(
            "presence",
            start,
            event="shift_start",
            zone=shift.zones[0],
            location=_at(rng, points[shift.zones[0]]),
        )
    ]
    share = (end - start) / len(shift.zones)
    at = start + PING
    while at < end - timedelta(minutes=1):
        zone = shift.zones[min(int((at - start) / share), len(shift.zones) - 1)]
        items.append(
            _item("presence", at, event="ping", zone=zone, location=_at(rng, points[zone]))
        )
        at += PING
    if shift.end_h is not None:
        items.append(_item("presence", end, event="shift_end", zone=shift.zones[-1]))
    return items


def report_items(
    shift: Shift, now: datetime, rng: random.Random, count: int, photos: int
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """``count`` reports during the shift, the first ``photos`` with a photo; returns the items
    and the photos' bytes by SHA-256 (uploaded after the push, as the phone does)."""
    points = zone_points()
    start = now - timedelta(hours=shift.start_h)
    end = now - timedelta(hours=shift.end_h) if shift.end_h is not None else now
    items, files = [], {}
    for n in range(count):
        at = start + (end - start) * (n + 0.5) / count
        category = rng.choice(sorted(NOTES))
        kind = category.split(".")[0]
        zone = rng.choice(shift.zones)
        listed = []
        if n < photos:
            data = phone_jpeg(seed=rng.randrange(1, 10_000), trailing=b"")
            files[sha256(data)] = data
            listed.append({"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"})
        items.append(
            _item(
                "report",
                at,
                kind=kind,
                category=category,
                location=_at(rng, points[zone]),
                note=NOTES[category],
                photos=listed,
            )
        )
    return items, files


def same_bin_twice(
    now: datetime, rng: random.Random
) -> tuple[list[list[dict[str, Any]]], dict[str, bytes]]:
    """One full bin reported by two workers 12 minutes apart, the first with a photo: one case
    of two reports."""
    lat, lon = zone_points()["sergels-torg"]
    place = {"lat": lat, "lon": lon, "accuracy_m": 6}
    first = now - timedelta(hours=2, minutes=40)
    data = phone_jpeg(seed=rng.randrange(1, 10_000), trailing=b"")
    photo = {"sha256": sha256(data), "size": len(data), "content_type": "image/jpeg"}
    return [
        [
            _item(
                "report",
                first,
                kind="litter",
                category="litter.overflowing_bin",
                location=place,
                note=NOTES["litter.overflowing_bin"],
                photos=[photo],
            )
        ],
        [
            _item(
                "report",
                first + timedelta(minutes=12),
                kind="litter",
                category="litter.overflowing_bin",
                location={**place, "accuracy_m": 9},
                note="Fortfarande full, skräp runt omkring",
                photos=[],
            )
        ],
    ], {photo["sha256"]: data}


CONTACT_TYPES = (
    "conversation",
    "conversation",
    "conversation",
    "information",
    "referral",
    "first_aid",
)
NEEDS = ("housing", "food", "health", "mental_health", "substance_use", "safety")
AGES = ("18-25", "26-40", "26-40", "41-64", "41-64", "65+", "unknown")


def contact_items(now: datetime, rng: random.Random, days: int, count: int) -> list[dict[str, Any]]:
    points = zone_points()
    items = []
    for _ in range(count):
        # Outreach works the daytime and evening: 08-22 local, roughly.
        day = now - timedelta(days=int(rng.uniform(0, days)))
        at = day.replace(hour=7, minute=0) + timedelta(minutes=rng.uniform(0, 14 * 60))
        if at > now:
            at -= timedelta(days=1)
        zone = rng.choice(("sergels-torg", "sergels-torg", "drottninggatan", "hotorget"))
        contact_type = rng.choice(CONTACT_TYPES)
        items.append(
            _item(
                "contact",
                at,
                location=_at(rng, points[zone]),
                contact_type=contact_type,
                age_group=rng.choice(AGES),
                needs=sorted(set(rng.sample(NEEDS, rng.choice((0, 1, 1, 2))))),
                referral="socialtjanst-uppsok" if contact_type == "referral" else None,
            )
        )
    return items


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
