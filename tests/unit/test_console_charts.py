"""The Statistik page's week-over-week change and bar geometry, by hand."""

from __future__ import annotations

import pytest

from backend.console import charts


@pytest.mark.parametrize(
    ("current", "previous", "share", "text"),
    [
        (4, 1, False, "+3 (+300 %)"),
        (1, 4, False, "−3 (−75 %)"),
        (3, 3, False, "±0"),
        (0, 0, False, "±0"),
        (2, 0, False, "ny"),
        (0, 2, False, "−2 (−100 %)"),
        (None, 2.5, False, "–"),  # nothing to measure this week (a median)
        (2.5, None, False, "–"),
        (0.75, 0.5, True, "+25 p.e."),  # a share changes in points, not percent
        (0.5, 0.5, True, "±0"),
        (12.25, 10.0, False, "+2.2 (+22 %)"),
    ],
)
def test_change_as_shown(current, previous, share, text):
    assert charts.change(current, previous, share=share).text("ny", "p.e." if share else "") == text


def test_bars_scale_to_the_largest_and_a_missing_value_is_no_bar():
    chart = charts.bar_chart("c", "t", "d", ["a", "b", "c"], [("s", [2, 4, None])])
    assert [b.height for b in chart.bars] == [43.0, 86.0, 0.0]
    assert [b.text for b in chart.bars] == ["2", "4", "–"]
    assert chart.bars[1].y == charts.PLOT_BOTTOM - 86.0


def test_all_zero_weeks_draw_flat_bars():
    chart = charts.bar_chart("c", "t", "d", ["a", "b"], [("s", [0, 0]), ("r", [0, 0])])
    assert [b.height for b in chart.bars] == [0.0] * 4
    assert {b.series for b in chart.bars} == {0, 1}


def test_a_share_is_drawn_against_100():
    chart = charts.bar_chart("c", "t", "d", ["a"], [("s", [50.0])], unit=" %", top=100)
    assert chart.bars[0].height == 43.0 and chart.bars[0].text == "50 %"
