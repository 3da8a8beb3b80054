"""Kontakter: the social-prevention contacts as counts only, rounded by the service to bands of
five (``backend.contacts.rounding``) for a whole week, month, quarter or year; no single
contact is ever shown here."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, render_template
from flask_babel import gettext as _

from backend import roles
from backend.console import access, labels, present
from backend.console.blueprint import bp
from backend.console.schemas import RangeQuerySchema
from backend.console.views.common import parse, zone_names
from backend.contacts import services as contacts
from backend.database import utcnow
from backend.extensions import db
from backend.localtime import LOCAL_TZ

"""Without a range the page shows this month (the ISO weeks whose Thursday is in it): a month is
the period the partnership's follow-up meetings look at, and answers are for whole periods."""
DIMENSIONS = ("type", "need", "age_group", "zone", "hour", "week")


@bp.get("/contacts", endpoint="contacts")
@access.page(*roles.SEES_ALL)
def contacts_page() -> str:
    """Counts by type, need, age group, zone, hour and week, as tables and small charts."""
    query = parse(RangeQuerySchema())
    today = utcnow().astimezone(LOCAL_TZ).date()
    month = today.replace(day=1)
    first = query.get("from_") or month
    last = query.get("to") or (month + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    config = current_app.config
    result = contacts.aggregates(
        db.session(),
        first,
        last,
        zone=query.get("zone"),
        max_days=config["CONTACT_AGGREGATE_MAX_DAYS"],
        base=config["CONTACT_AGGREGATE_ROUNDING_BASE"],
    )
    zones = zone_names()
    namers = {
        "type": lambda key: labels.name(labels.CONTACT_TYPE, key),
        "need": lambda key: labels.name(labels.NEED, key),
        "age_group": lambda key: labels.name(labels.AGE_GROUP, key),
        "zone": lambda key: zones.get(key, key) if key else _("No known zone"),
        "hour": lambda key: f"{key}–{(int(key) + 1) % 24:02d}",
        "week": lambda key: _("week %(week)s, %(year)s", week=key[-2:], year=key[:4]),
    }
    return render_template(
        "console/contacts.html",
        namers=namers,
        result=result,
        first=first,
        last=last,
        counted_from=date.fromisoformat(result["from"]),
        counted_to=date.fromisoformat(result["to"]),
        query=query,
        zones=zones,
        charts={name: present.chart(result[f"by_{name}"]) for name in DIMENSIONS},
    )
