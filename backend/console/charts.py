"""The Statistik page's small charts and week-over-week changes, as plain values.

The charts are inline SVG drawn by the template from the geometry computed here: no script, so
they honour the console's Content-Security-Policy, work without JavaScript, can be tested from
the HTML, and carry their own text alternative (``<title>``/``<desc>``) beside the table that
holds the same figures. No Flask import: the view passes in the translated strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 320
"""The viewBox; the stylesheet scales the SVG to its column."""
HEIGHT = 120
PLOT_TOP = 14
"""Room above the tallest bar for its value label."""
PLOT_BOTTOM = 100
"""Below this: the week labels."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    x: float
    y: float
    width: float
    height: float
    series: int


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    series: tuple[str, ...]
    bars: tuple[Bar, ...]
    labels: tuple[tuple[str, float], ...]
    """Axis labels and their x (every label, or every third of 24 hours)."""


def _text(value: float, unit: str) -> str:
    shown = f"{value:g}" if value == int(value) else f"{value:.1f}"
    return f"{shown}{unit}"


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str = "",
    top: float | None = None,
    label_every: int = 1,
) -> Chart:
    """Grouped bars: one group per label, one bar per series, heights scaled to the largest
    value (or ``top``, 100 for shares). A missing value (nothing to measure) is drawn as no
    bar and labelled "–", never as a zero."""
    values = [v for _, vs in series for v in vs if v is not None]
    scale_top = top if top is not None else max([*values, 0]) or 1
    group = WIDTH / max(len(labels), 1)
    gap = group * 0.2
    bar_width = (group - gap) / max(len(series), 1)
    bars = []
    for n, (_, vs) in enumerate(series):
        for i, (label, v) in enumerate(zip(labels, vs, strict=True)):
            height = 0.0 if v is None else (PLOT_BOTTOM - PLOT_TOP) * v / scale_top
            bars.append(
                Bar(
                    label=label,
                    value=0.0 if v is None else v,
                    text="–" if v is None else _text(v, unit),
                    x=round(i * group + gap / 2 + n * bar_width, 2),
                    y=round(PLOT_BOTTOM - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    series=n,
                )
            )
    return Chart(
        id=chart_id,
        title=title,
        desc=desc,
        series=tuple(name for name, _ in series),
        bars=tuple(bars),
        labels=tuple(
            (label, round(i * group + group / 2, 2))
            for i, label in enumerate(labels)
            if i % label_every == 0
        ),
    )


@dataclass(frozen=True)
class Change:
    """The change of one weekly figure from the week before."""

    absolute: float | None
    percent: float | None
    """None where the previous week is zero or either value is missing."""
    new: bool
    """Nothing the week before, something now: a percentage would be infinite."""

    def text(self, new_word: str, points: str = "") -> str:
        """``+2 (+67 %)``, ``±0``, ``ny`` or ``–``; for a share, ``+5 p.e.`` (points)."""
        if self.new:
            return new_word
        if self.absolute is None:
            return "–"
        if self.absolute == 0:
            return "±0"
        sign = "+" if self.absolute > 0 else "−"
        magnitude = _text(round(abs(self.absolute), 1), "")
        if points:
            return f"{sign}{magnitude} {points}"
        if self.percent is None:
            return f"{sign}{magnitude}"
        return f"{sign}{magnitude} ({sign}{abs(self.percent):.0f} %)"


def change(current: float | None, previous: float | None, *, share: bool = False) -> Change:
    """``current`` against ``previous``. A share (0..1) changes in percentage points and has
    no percentage of its own: "50 % to 75 %" is +25 points, and +50 % would mislead."""
    if current is None or previous is None:
        return Change(None, None, False)
    if share:
        return Change(round((current - previous) * 100, 1), None, False)
    if previous == 0:
        return Change(current, None, current != 0)
    return Change(round(current - previous, 2), (current - previous) / previous * 100, False)


def figures(row: dict[str, Any]) -> dict[str, float | None]:
    """One week of ``stats.services.weekly_table`` as named figures, for looking up the same
    figure in the previous week (whose keys may differ: a kind, zone or organisation absent)."""
    out: dict[str, float | None] = {}
    if row.get("reports") is not None:
        out["reports"] = row["reports"]["total"]
        for item in row["reports"]["by_kind"]:
            out[f"kind:{item['key']}"] = item["count"]
        out["opened"] = row["cases"]["opened"]
        out["resolved"] = row["cases"]["resolved"]
    if row.get("presence") is not None:
        out["hours"] = row["presence"]["hours"]
        for item in row["presence"]["by_zone"]:
            out[f"zone:{item['zone'] or ''}"] = item["hours"]
    for o in row["organisations"]:
        slug = o["organisation"]
        for name in ("received", "acknowledged", "resolved", "forwarded", "became_overdue"):
            out[f"org:{slug}:{name}"] = o[name]
        out[f"org:{slug}:ack_median"] = o["hours_to_acknowledge"]["median"]
        out[f"org:{slug}:resolve_median"] = o["hours_to_resolve"]["median"]
        out[f"org:{slug}:resolve_p90"] = o["hours_to_resolve"]["p90"]
        out[f"org:{slug}:within_deadline_share"] = o["within_deadline_share"]
    return out


def week_changes(
    rows: Sequence[dict[str, Any]], previous: dict[str, Any] | None
) -> dict[str, dict[str, Change]]:
    """Per week label, per figure name, the change from the week before: the first week of
    the range is compared with ``previous`` (the week before the range), when there is one.
    A figure the previous week lacks counts as zero there if it is a count (nothing
    happened), and as missing if it is a median or share (nothing to measure)."""
    out: dict[str, dict[str, Change]] = {}
    before = figures(previous) if previous is not None else None
    for row in rows:
        now = figures(row)
        changes = {}
        for name, value in now.items():
            measured = name.endswith(("_median", "_p90", "_share"))
            prior = None if before is None else before.get(name, None if measured else 0)
            changes[name] = change(value, prior, share=name.endswith("_share"))
        out[row["week"]] = changes
        before = now
    return out
