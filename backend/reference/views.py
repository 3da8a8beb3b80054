"""Reference routes under /api/v1: the categories and the zones."""

from __future__ import annotations

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth import auth
from backend.extensions import db
from backend.reference import services
from backend.reference.models import Category, Zone
from backend.reference.schemas import CategorySchema, ZoneSchema

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Categories and zones.")


@blp.route("/categories")
class Categories(MethodView):
    @auth(blp)
    @blp.response(200, CategorySchema(many=True))
    def get(self) -> list[Category]:
        """The category catalogue"""
        return services.list_categories(db.session())


@blp.route("/zones")
class Zones(MethodView):
    @auth(blp)
    @blp.response(200, ZoneSchema(many=True))
    def get(self) -> list[Zone]:
        """The zones around Sergels Torg, as GeoJSON polygons"""
        return services.list_zones(db.session())
