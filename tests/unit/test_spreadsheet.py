"""CSV cells a spreadsheet would run as formulas are neutralised (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from backend.spreadsheet import csv_bytes, csv_text, neutralise


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://x/","y")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_formula_start_gets_an_apostrophe(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Anna Andersson", "2026-05-12", "12.50", "a=b", "", None, 7])
def test_other_cells_are_left_as_they_are(cell):
    assert neutralise(cell) == ("" if cell is None else str(cell))


def test_every_cell_of_every_row_and_the_header_is_neutralised():
    text = csv_text(["=header", "ok"], [["=1+1", "fine"], ["plain", '@me, "quoted"']])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["'=header", "ok"], ["'=1+1", "fine"], ["plain", '\'@me, "quoted"']]
    assert csv_bytes(text).startswith(b"\xef\xbb\xbf")
