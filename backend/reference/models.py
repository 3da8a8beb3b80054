"""Reference rows: zones (named polygons), categories (code, kind, labels, settings) and the
version token of what a push reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import new_id
from backend.extensions import db

KINDS = ("litter", "damage", "contact")


class Zone(db.Model):  # type: ignore[name-defined]
    """A named area around Sergels Torg, as a GeoJSON polygon in WGS 84 (lon, lat)."""

    __tablename__ = "zones"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Bounding box, so "which zone is this point in" filters cheaply before the polygon test.
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(default=1)


class Category(db.Model):  # type: ignore[name-defined]
    """What a report is about: ``litter.overflowing_bin``, ``damage.graffiti`` ..."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    label_sv: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    # Per-category tuning (dedup radius, time window ...) with the reasons in the data file.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)


class ConfigVersion(db.Model):  # type: ignore[name-defined]
    """A random token replaced by every change of what a push reads besides its batch (zones,
    categories, organisations, rule sets): processes cache that per token
    (``backend.sync.push_config``). Random, not a counter, so a change rolled back and another
    made after it (or another database served by the same process) never reuse a token whose
    cached data is no longer the database's."""

    __tablename__ = "config_versions"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
