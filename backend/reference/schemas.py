"""The reference API's shapes: a category and a zone."""

from __future__ import annotations

import marshmallow as ma


class CategorySchema(ma.Schema):
    code = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "litter or damage"})
    label_sv = ma.fields.String()
    label_en = ma.fields.String()
    version = ma.fields.Integer()


class ZoneSchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()
    geometry = ma.fields.Dict(metadata={"description": "GeoJSON Polygon, WGS 84 lon/lat"})
    version = ma.fields.Integer()
