"""The one zone index: which zone covers a point.

Pure (no session): built from the stored ``Zone`` rows (:func:`zone_index`) or from a GeoJSON
FeatureCollection shaped like ``data/zones.geojson`` (routing's tests). The boundary belongs
to the zone (``covers``); a point on a shared border belongs to the zone whose slug sorts first,
so the push, routing and the presence log always agree. Polygons are parsed once per zone
version and kept (zones are a handful of small polygons).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.reference.models import Zone

Box = tuple[float, float, float, float]
"""min_lat, min_lon, max_lat, max_lon."""


@dataclass(frozen=True)
class ZoneIndex:
    zones: tuple[tuple[str, BaseGeometry, Box], ...]
    """(slug, polygon, bounding box), sorted by slug."""

    @classmethod
    def of(cls, zones: Iterable[tuple[str, BaseGeometry | Mapping[str, Any]]]) -> ZoneIndex:
        """From (slug, polygon or GeoJSON geometry) pairs."""
        entries = []
        for slug, geometry in zones:
            polygon = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
            min_lon, min_lat, max_lon, max_lat = polygon.bounds
            entries.append((slug, polygon, (min_lat, min_lon, max_lat, max_lon)))
        return cls(tuple(sorted(entries, key=lambda e: e[0])))

    @classmethod
    def from_geojson(cls, collection: Mapping[str, Any]) -> ZoneIndex:
        return cls.of((f["properties"]["slug"], f["geometry"]) for f in collection["features"])

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(slug for slug, _, _ in self.zones)

    def at(self, lat: float, lon: float) -> str | None:
        """The slug of the zone covering the point, or None outside every zone."""
        point = Point(lon, lat)  # GeoJSON order: longitude first
        for slug, polygon, (min_lat, min_lon, max_lat, max_lon) in self.zones:
            if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon and polygon.covers(point):
                return slug
        return None


@functools.lru_cache(maxsize=256)
def _polygon(slug: str, version: int, geometry_json: str) -> BaseGeometry:
    return shape(json.loads(geometry_json))


def index_of(zones: Iterable[Zone]) -> ZoneIndex:
    """The index of stored zone rows (their polygons parsed once per version)."""
    return ZoneIndex.of(
        (z.slug, _polygon(z.slug, z.version, json.dumps(z.geometry, sort_keys=True))) for z in zones
    )


def zone_index(session: Session) -> ZoneIndex:
    """The index of every stored zone."""
    return index_of(session.execute(select(Zone).order_by(Zone.slug)).scalars())
