"""Statistics use case: the weekly table a reader may see, and who may read which figures.

The weekly answer reads only the ``stats_*_days`` aggregates (plus the contact aggregates,
which ``backend.contacts.services.aggregates`` computes with its own suppression); how they
are kept current is ``backend.stats.refresh``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import roles
from backend.contacts import services as contacts
from backend.errors import Forbidden
from backend.localtime import LOCAL_TZ
from backend.organisations.services import filter_organisation
from backend.presence.services import check_range
from backend.reference.services import check_zone
from backend.stats import weekly
from backend.stats.dirty import dirty_days
from backend.stats.models import (
    StatsPresenceDay,
    StatsReportDay,
    StatsTaskDay,
)
from backend.users.models import User


def _organisation_for(session: Session, user: User, organisation: str | None) -> str | None:
    """The organisation whose figures ``user`` gets (None: all), or 403/422."""
    if user.role not in roles.SEES_ALL:
        own = user.organisation.slug
        if organisation is not None and organisation != own:
            raise Forbidden(
                "A department reads its own organisation's statistics only.",
                code="not_your_organisation",
                errors={"organisation": ["must be your own organisation, or left out"]},
            )
        return own
    filter_organisation(session, organisation)
    return organisation


KEY_COLUMNS = frozenset({"day", "zone", "kind", "category", "organisation", "hour"})
"""Columns the weekly answer groups by; every other column of a row type is summed."""


def _grouped(
    session: Session,
    model: Any,
    row_type: Any,
    lo: date,
    hi: date,
    zone: str | None,
    *conditions: Any,
) -> list[Any]:
    """The rows of ``model`` in the range summed over the zones (or the one zone asked
    for) by the key columns of ``row_type``: the database adds, and a year is a few
    thousand rows instead of tens of thousands. Core, not ORM: no identity map."""
    names = [f.name for f in dataclasses.fields(row_type)]
    keys = [getattr(model, n) for n in names if n in KEY_COLUMNS]
    values = [
        # NULLIF: an empty list must not leave an empty item between the commas.
        func.aggregate_strings(func.nullif(getattr(model, n), ""), ",")
        if n.endswith("_seconds")
        else func.sum(getattr(model, n))
        for n in names
        if n not in KEY_COLUMNS
    ]
    query = select(*keys, *values).where(model.day >= lo, model.day <= hi, *conditions)
    if zone is not None:
        query = query.where(model.zone == zone)
    query = query.group_by(*keys)
    return [row_type(*row) for row in session.connection().execute(query)]


@dataclass(frozen=True)
class ContactSettings:
    rounding_base: int


def weekly_table(
    session: Session,
    user: User,
    first: date,
    last: date,
    *,
    zone: str | None,
    organisation: str | None,
    max_days: int,
    contact_settings: ContactSettings,
) -> dict[str, Any]:
    """The weekly statistics ``user`` may read, for the whole ISO weeks holding ``first`` to
    ``last``, from the daily aggregates.

    With an organisation (a department always has its own) the answer holds that
    organisation's task figures; reports, cases, presence and contacts, which are the
    partnership's and not an organisation's, are ``null``.
    """
    check_range(first, last, max_days)
    check_zone(session, zone)
    org = _organisation_for(session, user, organisation)
    weeks = weekly.iso_weeks(first, last)
    lo, hi = weeks[0].start, weeks[-1].end
    whole = org is None

    def grouped(model: Any, row_type: Any, *conditions: Any) -> list[Any]:
        return _grouped(session, model, row_type, lo, hi, zone, *conditions)

    reports: list[weekly.ReportRow] = []
    zones: list[weekly.ZoneSeconds] = []
    hours: list[weekly.HourSeconds] = []
    if whole:
        reports = grouped(StatsReportDay, weekly.ReportRow)
        zones = grouped(StatsPresenceDay, weekly.ZoneSeconds)
        hours = grouped(StatsPresenceDay, weekly.HourSeconds)
    only = [] if org is None else [StatsTaskDay.organisation == org]
    tasks = grouped(StatsTaskDay, weekly.TaskRow, *only)
    rows, total = weekly.table(
        weeks,
        reports,
        tasks,
        zones,
        hours,
        organisations=[org] if org else [],
        sections=weekly.Sections(reports=whole, presence=whole),
    )
    contact_answer = _contact_answer(session, lo, hi, zone, contact_settings) if whole else None
    pending = sorted({day for day, _ in dirty_days(session) if lo <= day <= hi})
    return {
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "timezone": str(LOCAL_TZ),
        "zone": zone,
        "organisation": org,
        "pending_days": [d.isoformat() for d in pending],
        "weeks": rows,
        "total": total,
        "contacts": contact_answer,
    }


def _contact_answer(
    session: Session, lo: date, hi: date, zone: str | None, settings: ContactSettings
) -> dict[str, Any] | None:
    """The contact counts are issue 14's answer as it is (backend.contacts.services.aggregates):
    for the period of weeks, month, quarter or ISO year that holds these weeks, rounded to
    its base. It answers no range whose weeks lie in two ISO years (two such answers could
    be subtracted), so a range across a new year has no contact section."""
    if lo.isocalendar().year != hi.isocalendar().year:
        return None
    return contacts.aggregates(
        session, lo, hi, zone=zone, max_days=(hi - lo).days + 1, base=settings.rounding_base
    )
