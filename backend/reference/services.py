"""Reference data: organisations, zones and categories, loaded from the versioned files in
``backend/reference/data`` and looked up by the rest of the service."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Unprocessable
from backend.feed.services import append_reference_update
from backend.organisations.models import Organisation
from backend.reference.models import Category, Zone
from backend.reference.zones import index_of

DATA_DIR = Path(__file__).parent / "data"
CATEGORY_SETTINGS = ("dedup_radius_m", "dedup_window_min", "dedup_group", "open311_attributes")


@dataclass
class LoadResult:
    organisations: int
    zones: int
    categories: int


def _bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = shape(geometry).bounds
    return min_lat, min_lon, max_lat, max_lon


def load_reference_data(session: Session, data_dir: Path = DATA_DIR) -> LoadResult:
    """Insert or update every organisation, zone and category in the data files (idempotent)."""
    orgs = tomllib.loads((data_dir / "organisations.toml").read_text("utf-8"))
    existing_orgs = {o.slug: o for o in session.execute(select(Organisation)).scalars()}
    for item in orgs["organisation"]:
        org = existing_orgs.get(item["slug"])
        if org is None:
            session.add(Organisation(slug=item["slug"], name=item["name"], channel=item["channel"]))
        else:
            org.name = item["name"]

    _announce_changes(session, "organisations", Organisation)

    zones = json.loads((data_dir / "zones.geojson").read_text("utf-8"))
    existing_zones = {z.slug: z for z in session.execute(select(Zone)).scalars()}
    for feature in zones["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        shape(geometry)  # fails loudly on a malformed polygon before anything is stored
        min_lat, min_lon, max_lat, max_lon = _bounds(geometry)
        values = {
            "name": props["name"],
            "geometry": geometry,
            "min_lat": min_lat,
            "min_lon": min_lon,
            "max_lat": max_lat,
            "max_lon": max_lon,
            "version": int(zones["version"]),
        }
        zone = existing_zones.get(props["slug"])
        if zone is None:
            session.add(Zone(slug=props["slug"], **values))
        else:
            for key, value in values.items():
                setattr(zone, key, value)

    _announce_changes(session, "zones", Zone)

    cats = tomllib.loads((data_dir / "categories.toml").read_text("utf-8"))
    existing_cats = {c.code: c for c in session.execute(select(Category)).scalars()}
    for item in cats["category"]:
        values = {
            "kind": item["kind"],
            "label_sv": item["label_sv"],
            "label_en": item["label_en"],
            "settings": {k: item[k] for k in CATEGORY_SETTINGS if k in item},
            "version": int(cats["version"]),
        }
        cat = existing_cats.get(item["code"])
        if cat is None:
            session.add(Category(code=item["code"], **values))
        else:
            for key, value in values.items():
                setattr(cat, key, value)
    _announce_changes(session, "categories", Category)
    session.commit()
    return LoadResult(len(orgs["organisation"]), len(zones["features"]), len(cats["category"]))


def _announce_changes(session: Session, dataset: str, model: type) -> None:
    """Put a changed data set in the pull feed, so phones know to refresh their config.

    Called after each data set's loop, before the next query autoflushes the pending rows.
    """
    touched = [o for o in session.new if isinstance(o, model)] + [
        o for o in session.dirty if isinstance(o, model) and session.is_modified(o)
    ]
    if touched:
        version = max(getattr(o, "version", None) or 1 for o in touched)
        append_reference_update(session, dataset, version)


def list_zones(session: Session) -> list[Zone]:
    return list(session.execute(select(Zone).order_by(Zone.slug)).scalars())


def list_categories(session: Session) -> list[Category]:
    return list(
        session.execute(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
        ).scalars()
    )


def zone_for_point(session: Session, lat: float, lon: float) -> Zone | None:
    """The zone containing the point (boundary included), or None outside every zone."""
    candidates = list(
        session.execute(
            select(Zone)
            .where(
                Zone.min_lat <= lat, Zone.max_lat >= lat, Zone.min_lon <= lon, Zone.max_lon >= lon
            )
            .order_by(Zone.slug)
        ).scalars()
    )
    slug = index_of(candidates).at(lat, lon)
    return next((z for z in candidates if z.slug == slug), None)


def check_zone(session: Session, zone: str | None) -> None:
    """422 ``unknown_zone`` unless ``zone`` is None or a stored zone's slug: the one answer
    of every filter by zone (the document enumerates the shipped slugs)."""
    if (
        zone is not None
        and session.execute(select(Zone.id).where(Zone.slug == zone)).first() is None
    ):
        raise Unprocessable(
            "No zone has this slug; GET /api/v1/zones lists them.",
            code="unknown_zone",
            errors={"zone": ["is not a zone slug"]},
        )
