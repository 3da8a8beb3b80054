"""Statistik: the weekly statistics of ``GET /api/v1/stats/weekly`` as tables, for the
partnership's supervisors and admins, with the same figures as CSV. It calls the API's service
(``backend.stats.services.weekly_table``), so both read the same aggregates and the contact
counts come from issue 14's rounded aggregates, never finer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from backend import roles, spreadsheet
from backend.console import access, charts
from backend.console.blueprint import bp
from backend.console.schemas import StatsQuerySchema
from backend.console.views.common import parse, zone_names
from backend.database import utcnow
from backend.extensions import db
from backend.localtime import LOCAL_TZ
from backend.organisations.models import Organisation
from backend.stats import export
from backend.stats import services as stats

ROLES = roles.STAFF
"""The API's readers: a department gets its own organisation's task figures only (the API's
rule, ``weekly_table`` applies it), supervisors and admins the partnership's."""
DEFAULT_WEEKS = 8
"""Without a range: the last eight ISO weeks, this one included, about two months, enough to
see a trend in the response times without a table too wide to read."""


FIRST_DAY = date(2000, 1, 1)
"""The first day the weekly statistics answer (``StatsQuerySchema``): no week before it."""


def _query(first: date, last: date, zone: str | None) -> dict[str, Any]:
    config = current_app.config
    return stats.weekly_table(
        db.session(),
        access.current_staff(),
        first,
        last,
        zone=zone,
        organisation=None,
        max_days=config["STATS_WEEKLY_MAX_DAYS"],
        contact_settings=stats.ContactSettings(config["CONTACT_AGGREGATE_ROUNDING_BASE"]),
    )


def _previous_week(answer: dict[str, Any], zone: str | None) -> dict[str, Any] | None:
    """The week before the range, so that its first week has a change too (None before
    2000, where the statistics end)."""
    monday = date.fromisoformat(answer["from"]) - timedelta(weeks=1)
    if monday < FIRST_DAY:
        return None
    week: dict[str, Any] = _query(monday, monday + timedelta(days=6), zone)["weeks"][0]
    return week


def _label_every(weeks: list[Any]) -> int:
    """Up to 12 weeks each get their label; a longer range about eight, so they never overlap."""
    return 1 if len(weeks) <= 12 else -(-len(weeks) // 8)


def _charts(answer: dict[str, Any], names: dict[str, str]) -> list[charts.Chart]:
    """The small charts, each the figures of a table on the page (its ``desc`` says which)."""
    weeks = answer["weeks"]
    labels = [_("w. %(week)s", week=w["week"][-2:]) for w in weeks]
    every = _label_every(weeks)
    out = []
    if answer["total"].get("reports") is not None:
        out += _report_charts(answer, names, labels, every)
    if answer["total"].get("presence") is not None:
        out += _presence_charts(answer, names, labels, every)
    return out


def _report_charts(
    answer: dict[str, Any], names: dict[str, str], labels: list[str], every: int
) -> list[charts.Chart]:
    """Reports per week of each kind, and cases opened and resolved per week."""
    weeks = answer["weeks"]
    out = []
    for item in answer["total"]["reports"]["by_kind"]:
        kind = item["key"]
        counts = [
            next(k["count"] for k in w["reports"]["by_kind"] if k["key"] == kind) for w in weeks
        ]
        out.append(
            charts.bar_chart(
                f"chart-kind-{kind}",
                _("Reports per week: %(kind)s", kind=names.get(kind, kind)),
                _("Bars per ISO week; the figures are in the table Per week."),
                labels,
                [(names.get(kind, kind), counts)],
                label_every=every,
            )
        )
    out.append(
        charts.bar_chart(
            "chart-cases",
            _("Cases opened and resolved per week"),
            _("Solid bars: opened; striped bars: resolved. The figures are in the table Per week."),
            labels,
            [
                (_("Cases opened"), [w["cases"]["opened"] for w in weeks]),
                (_("Cases resolved"), [w["cases"]["resolved"] for w in weeks]),
            ],
            label_every=every,
        )
    )
    return out


def _presence_charts(
    answer: dict[str, Any], names: dict[str, str], labels: list[str], every: int
) -> list[charts.Chart]:
    """Staff hours per week in each zone, and staff hours by hour of day."""
    weeks = answer["weeks"]
    presence = answer["total"]["presence"]
    out = []
    for z in presence["by_zone"]:
        zone = z["zone"]
        name = names.get(zone or "", zone or _("Outside the zones"))
        hours = [
            next(x["hours"] for x in w["presence"]["by_zone"] if x["zone"] == zone) for w in weeks
        ]
        out.append(
            charts.bar_chart(
                f"chart-zone-{zone or 'none'}",
                _("Staff hours per week: %(zone)s", zone=name),
                _("Bars per ISO week; the figures are in the table Staff hours per zone."),
                labels,
                [(name, hours)],
                unit=" h",
                label_every=every,
            )
        )
    out.append(
        charts.bar_chart(
            "chart-hours",
            _("Staff hours by hour of day, all these weeks"),
            _("One bar per hour from 0 to 23; the figures are in the table By hour of day."),
            [f"{h['hour']:02d}" for h in presence["by_hour"]],
            [(_("Staff hours"), [h["hours"] for h in presence["by_hour"]])],
            label_every=3,
        )
    )
    return out


def _org_charts(answer: dict[str, Any], names: dict[str, str]) -> dict[str, charts.Chart]:
    weeks = answer["weeks"]
    labels = [_("w. %(week)s", week=w["week"][-2:]) for w in weeks]
    out = {}
    for total in answer["total"]["organisations"]:
        slug = total["organisation"]
        shares = [
            next(
                None if o["within_deadline_share"] is None else o["within_deadline_share"] * 100
                for o in w["organisations"]
                if o["organisation"] == slug
            )
            for w in weeks
        ]
        out[slug] = charts.bar_chart(
            f"chart-deadline-{slug}",
            _("Share resolved within deadline: %(org)s", org=names.get(slug, slug)),
            _(
                "Bars per ISO week, 0 to 100 %; a week without resolved tasks has no bar "
                "(–). The figures are in the table beside."
            ),
            labels,
            [(_("Resolved within deadline"), shares)],
            unit=" %",
            top=100,
            label_every=_label_every(weeks),
        )
    return out


def _answer() -> tuple[dict[str, Any], dict[str, Any]]:
    query = parse(StatsQuerySchema())
    today = utcnow().astimezone(LOCAL_TZ).date()
    last = query.get("to") or today
    first = query.get("from_") or last - timedelta(weeks=DEFAULT_WEEKS - 1)
    return query, _query(first, last, query.get("zone"))


@bp.get("/stats", endpoint="stats")
@access.page(*ROLES)
def stats_page() -> str:
    """Per week: reports, cases, presence; per organisation: the response figures."""
    query, answer = _answer()
    organisation_names = {
        slug: name
        for slug, name in db.session().execute(select(Organisation.slug, Organisation.name))
    }
    zones = zone_names()
    names = {"litter": _("Litter"), "damage": _("Damage"), **zones}
    changes = charts.week_changes(answer["weeks"], _previous_week(answer, query.get("zone")))
    return render_template(
        "console/stats.html",
        answer=answer,
        query=query,
        zones=zones,
        names=names,
        changes=changes,
        latest=answer["weeks"][-1],
        charts=_charts(answer, names),
        org_charts=_org_charts(answer, organisation_names),
        days={
            key: date.fromisoformat(value)
            for key, value in (
                ("from", answer["from"]),
                ("to", answer["to"]),
                *(
                    (f"contacts_{k}", answer["contacts"][k])
                    for k in ("from", "to")
                    if answer["contacts"]
                ),
            )
        },
        organisation_names=organisation_names,
    )


@bp.get("/stats.csv")
@access.page(*ROLES)
def stats_csv() -> Response:
    """The same figures as the API's CSV (``backend.stats.export``)."""
    _, answer = _answer()
    return spreadsheet.download(export.weekly_csv(answer), export.weekly_filename(answer))
