from __future__ import annotations

import json

from sqlalchemy import func, select

from backend.extensions import db
from backend.organisations.models import Organisation
from backend.reference.models import Category, Zone
from backend.reference.services import zone_for_point
from backend.users.models import User

REQUIRED_ORGS = {
    "city-i-samverkan",
    "trafikkontoret",
    "norrmalm-sdf",
    "fastighetskontoret",
    "socialtjanst-uppsok",
}
REQUIRED_CATEGORIES = {
    "litter.overflowing_bin",
    "litter.broken_glass",
    "litter.dumped_items",
    "damage.graffiti",
    "damage.graffiti_offensive",
    "damage.broken_light",
    "damage.broken_furniture",
}


def _counts() -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Organisation, Zone, Category, User)
    )


def test_seed_demo_is_idempotent_and_prints_working_tokens(app, runner, client):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = _counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert _counts() == counts

    tokens = json.loads(second.stdout)
    assert sorted(t["role"] for t in tokens) == ["admin", "department", "field", "supervisor"]
    for entry in tokens:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {entry['token']}"})
        assert me.get_json()["role"] == entry["role"]


def test_reference_data_has_the_required_entries(client, field_user):
    orgs = {o.slug for o in db.session.execute(select(Organisation)).scalars()}
    assert orgs >= REQUIRED_ORGS
    categories = client.get("/api/v1/categories", headers=field_user.headers).get_json()
    assert {c["code"] for c in categories} >= REQUIRED_CATEGORIES
    assert all(c["label_sv"] and c["label_en"] for c in categories)
    assert {c["kind"] for c in categories} == {"litter", "damage"}
    zones = client.get("/api/v1/zones", headers=field_user.headers).get_json()
    assert "sergels-torg" in {z["slug"] for z in zones}
    assert all(z["geometry"]["type"] == "Polygon" for z in zones)


def test_zone_lookup_by_point(app):
    assert zone_for_point(db.session, 59.3325, 18.0642).slug == "sergels-torg"
    assert zone_for_point(db.session, 59.3350, 18.0630).slug == "hotorget"
    # Gamla stan is outside every zone.
    assert zone_for_point(db.session, 59.3251, 18.0711) is None
