"""Routing routes under /api/v1/admin/rules: the active rule set and saving a new version."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.extensions import db
from backend.routing import rule_store
from backend.routing.schemas import RuleSetSchema

blp = Blueprint(
    "rules",
    __name__,
    url_prefix="/api/v1/admin/rules",
    description="The routing rules (admin only): which organisation gets which case.",
)


@blp.route("")
class Rules(MethodView):
    @auth(blp, "admin")
    @blp.response(200, RuleSetSchema)
    def get(self) -> dict[str, Any]:
        """Get the active rule set"""
        return rule_store.active_rule_set(db.session()).to_dict()

    @auth(blp, "admin")
    @blp.arguments(RuleSetSchema)
    @blp.response(200, RuleSetSchema)
    @blp.alt_response(409, response="CONFLICT")
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the rule set with a new version; it routes every case from now on"""
        return rule_store.save_rule_set(db.session(), body, current_user().id).to_dict()
