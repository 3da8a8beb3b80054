"""What every page needs: parsing its query, reference data, the template context."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import current_app, g, request, url_for
from flask_babel import get_locale
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from backend.console import labels, nav, present
from backend.console.blueprint import bp
from backend.errors import Unprocessable
from backend.extensions import db
from backend.reference import services as reference

STATIC = Path(__file__).resolve().parent.parent / "static"


def parse(schema: ma.Schema, source: MultiDict[str, str] | None = None) -> dict[str, Any]:
    """The query (or form) through ``schema``; 422 ``validation_error`` naming the fields."""
    data = (request.args if source is None else source).to_dict()
    try:
        return dict(schema.load(data))
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        raise Unprocessable(errors=messages) from exc


def locale() -> str:
    return str(get_locale() or "sv")


def category_names() -> dict[str, str]:
    session = db.session()
    return {
        c.code: labels.category_label(c, c.code, locale())
        for c in reference.list_categories(session)
    }


def zone_names() -> dict[str, str]:
    return {z.slug: z.name for z in reference.list_zones(db.session())}


def zones_geojson() -> dict[str, Any]:
    zones = reference.list_zones(db.session())
    palette = present.colours(z.slug for z in zones)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": z.geometry,
                "properties": {"slug": z.slug, "name": z.name, "colour": palette[z.slug]},
            }
            for z in zones
        ],
    }


@cache
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset(filename: str) -> str:
    """A static file's URL with its content hash, so it may be cached for a year and a new
    release is fetched at once."""
    return url_for("console.static", filename=filename, v=_digest(filename))


def with_args(**changes: Any) -> str:
    """This page's URL with some query arguments changed (None removes one): language links,
    day navigation and paging keep every other filter."""
    args: dict[str, Any] = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    assert request.endpoint is not None
    return url_for(request.endpoint, **{**(request.view_args or {}), **args})


def map_config() -> dict[str, str]:
    config = current_app.config
    return {"tiles": config["MAP_TILE_URL"], "attribution": config["MAP_TILE_ATTRIBUTION"]}


@bp.app_template_filter("json_script")
def json_script(value: Any) -> Markup:
    """JSON to place inside <script type="application/json"> (data, never run: CSP allows no
    inline script). The element's text is not HTML-decoded, so it is not HTML-escaped; instead
    no "<", ">" or "&" appears raw, so nothing in the data can end the element early."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@bp.context_processor
def _context() -> dict[str, Any]:
    staff = g.get("staff")
    return {
        "staff": staff,
        "nav_items": nav.items_for(staff) if staff is not None else [],
        "admin_nav": nav.ADMIN_NAV,
        "home_url": url_for(nav.home_for(staff)) if staff is not None else None,
        "locale": locale(),
        "asset": asset,
        "with_args": with_args,
        "labels": labels,
        "short_id": present.short_id,
        "map_config": map_config,
    }
