"""CSV that is safe to open in a spreadsheet: every CSV the service writes goes through here.

A cell beginning with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel and LibreOffice, and a
tab or carriage return can start one after the program trims it (OWASP, "CSV Injection"): a
worker named ``=HYPERLINK("http://x/","y")`` would put a link, or worse, in a supervisor's
sheet. Such cells get a leading apostrophe, which the spreadsheet shows as text and does not
display; the csv module quotes the rest (commas, quotes, line breaks).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def neutralise(cell: object) -> str:
    """The cell as text a spreadsheet will not evaluate."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A header row and the rows, every cell neutralised, CRLF line ends as RFC 4180."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in header])
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return out.getvalue()


def csv_bytes(text: str) -> bytes:
    """UTF-8 with a byte-order mark: Excel, which most of the city's offices open CSV in, reads a
    file without one as Windows-1252 and garbles å, ä and ö."""
    return text.encode("utf-8-sig")


def download(text: str, filename: str, *, negotiated: bool = False) -> Response:
    """``text`` as a CSV file to save as ``filename`` (the API's and the console's downloads).
    ``negotiated``: the route also answers JSON, chosen by ``Accept`` (so caches must vary)."""
    response = Response(csv_bytes(text), content_type=MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if negotiated:
        response.headers["Vary"] = "Accept"
    return response
