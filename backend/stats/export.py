"""The weekly table as CSV: one row per week and figure, for a spreadsheet's pivot table.

Columns:

================  ==============================================================
``week``          ISO week (``2026-W13``), or ``total`` for the whole range
``week_start``    its Monday, ``YYYY-MM-DD``
``week_end``      its Sunday
``section``       ``reports``, ``cases``, ``organisation``, ``presence``, ``contacts``
``organisation``  the organisation slug (section ``organisation``), else empty
``key``           what is counted: a kind, category, zone (empty: no zone), ``h08`` for
                  the local hour 08-09, empty for a section's total
``measure``       ``count``, ``hours``, ``share`` or a named figure (``received``,
                  ``hours_to_resolve_median`` ...)
``value``         the number, ``.`` as decimal separator; empty for no data (a median of
                  nothing) and for a suppressed contact count
================  ==============================================================

Contacts are the rows of the contact aggregates' ``by_week`` and ``total`` (suppressed cells
empty, with a ``suppressed`` row saying so). Their total is that of the period the contact
aggregates answer for (issue 14: the week, month, quarter or ISO year holding the range), so
the ``total`` block's contact rows name it in ``key`` (``2026-Q2``); none for a range whose
weeks lie in two ISO years.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from backend import spreadsheet

CSV_COLUMNS = (
    "week",
    "week_start",
    "week_end",
    "section",
    "organisation",
    "key",
    "measure",
    "value",
)


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _figures(figures: dict[str, Any]) -> Iterator[tuple[str, str, str, str, Any]]:
    """(section, organisation, key, measure, value) for one week's or the total's figures."""
    reports = figures.get("reports")
    if reports is not None:
        yield "reports", "", "", "count", reports["total"]
        for group in ("by_kind", "by_category"):
            for cell in reports[group]:
                yield "reports", "", cell["key"], "count", cell["count"]
    cases = figures.get("cases")
    if cases is not None:
        yield "cases", "", "", "opened", cases["opened"]
        yield "cases", "", "", "resolved", cases["resolved"]
    for org in figures["organisations"]:
        slug = org["organisation"]
        for name, value in org.items():
            if name == "organisation":
                continue
            if isinstance(value, dict):
                for stat, number in value.items():
                    yield "organisation", slug, "", f"{name}_{stat}", number
            else:
                yield "organisation", slug, "", name, value
    presence = figures.get("presence")
    if presence is not None:
        yield "presence", "", "", "hours", presence["hours"]
        for zone in presence["by_zone"]:
            yield "presence", "", zone["zone"] or "", "hours", zone["hours"]
        for hour in presence["by_hour"]:
            yield "presence", "", f"h{hour['hour']:02d}", "hours", hour["hours"]


def _contact_rows(contacts: dict[str, Any] | None) -> dict[str, list[tuple[Any, ...]]]:
    if contacts is None:
        return {}
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for cell in contacts["by_week"]:
        rows[cell["key"]] = [
            ("contacts", "", "", "count", cell["count"]),
            ("contacts", "", "", "suppressed", cell["suppressed"]),
        ]
    period = contacts["period"]
    rows["total"] = [
        ("contacts", "", period, "count", contacts["total"]),
        ("contacts", "", period, "suppressed", contacts["total_suppressed"]),
    ]
    return rows


def weekly_filename(answer: dict[str, Any]) -> str:
    """What the API's and the console's downloads of ``answer`` are saved as."""
    return f"statistik-{answer['from']}-{answer['to']}.csv"


def weekly_csv(answer: dict[str, Any]) -> str:
    """The answer of ``services.weekly_table`` as CSV (columns above), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    contacts = _contact_rows(answer["contacts"])
    blocks = [(week["week"], week) for week in answer["weeks"]]
    blocks.append(("total", answer["total"]))
    for label, figures in blocks:
        rows = list(_figures(figures))
        if answer["contacts"] is not None:
            rows += contacts.get(label, [("contacts", "", "", "count", 0)])
        for section, organisation, key, measure, value in rows:
            writer.writerow(
                (
                    label,
                    figures["start"],
                    figures["end"],
                    section,
                    # Text cells only: numbers (``_number``) stay numbers in the sheet.
                    spreadsheet.neutralise(organisation),
                    spreadsheet.neutralise(key),
                    measure,
                    _number(value),
                )
            )
    return out.getvalue()
