"""The shipped reference data's vocabularies (zone slugs, category codes), read from the data
files without a database: the API document enumerates them, and ``load_reference_data`` stores
exactly these (zones and categories change only with the files)."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


@functools.cache
def zone_slugs() -> tuple[str, ...]:
    zones = json.loads((DATA_DIR / "zones.geojson").read_text("utf-8"))
    return tuple(sorted(f["properties"]["slug"] for f in zones["features"]))


@functools.cache
def category_codes() -> tuple[str, ...]:
    categories = tomllib.loads((DATA_DIR / "categories.toml").read_text("utf-8"))
    return tuple(sorted(c["code"] for c in categories["category"]))
