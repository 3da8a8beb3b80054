"""The Open311 catalogue: discovery, the service list (one service per active category) and
each service's definition (its attributes, from ``open311_attributes`` in categories.toml)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.reference.models import Category

JURISDICTION_ID = "stockholm.se"
"""The spec suggests the jurisdiction's web root; this endpoint serves one, so the parameter is
optional and any other value is 404 ``jurisdiction_not_found``."""

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"
"""When this endpoint's interface last changed (discovery's ``changeset``)."""


def categories(session: Session, active_only: bool = True) -> list[Category]:
    """The categories by code (the inactive ones too where a query may still name them)."""
    query = select(Category).order_by(Category.code)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(session.execute(query).scalars())


def attributes_of(category: Category) -> list[dict[str, Any]]:
    """The category's Open311 attributes (``open311_attributes`` in categories.toml)."""
    return list((category.settings or {}).get("open311_attributes", []))


def services(session: Session) -> list[dict[str, Any]]:
    """One service per active category: ``service_code`` its code, ``group`` its kind."""
    return [
        {
            "service_code": c.code,
            "service_name": c.label_sv,
            "description": c.label_en,
            "metadata": bool(attributes_of(c)),
            "type": "realtime",
            "keywords": ", ".join((c.code, c.label_en)),
            "group": c.kind,
        }
        for c in categories(session)
    ]


def active_category(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise NotFound(
            f"service_code: no service {code[:64]!r}; GET services for the list.",
            code="service_not_found",
            errors={"service_code": [f"no service {code[:64]!r}"]},
        )
    return category


def service_definition(session: Session, code: str) -> dict[str, Any]:
    category = active_category(session, code)
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required", False)),
                "datatype_description": a.get("datatype_description"),
                "order": n,
                "description": a["description"],
                "values": [{"key": v["key"], "name": v["name"]} for v in a.get("values", [])],
            }
            for n, a in enumerate(attributes_of(category), start=1)
        ],
    }


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": "Samverkan Field administrators, City i Samverkan",
        "key_service": "Keys are issued per organisation by the administrators "
        "(flask --app wsgi open311 issue-key --org SLUG).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
