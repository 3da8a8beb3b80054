"""Spatial buckets for finding dedup candidates without scanning every stored case.

The earth is cut into a fixed grid of cells at least ``CELL_SIZE_M`` on a side. A case stores the
cell of its location (``cell_of``) in an indexed column; a new report queries the cases in its
own cell and the neighbouring ones (``query_cells``: at most 3 x 3 cells, anywhere). Because a
cell is at least as large as the widest effective dedup radius, every case close enough to merge
lies in one of those cells, and the lookup costs the same with a thousand stored reports or a
million.

How this becomes SQL (the integrator's part):

- ``cases.dedup_cell BIGINT NOT NULL`` = ``cell_of(lat, lon)`` of the case's location, written
  once when the case is created (the location never moves, see ``sync.dedup``), and
  ``cases.dedup_group``; one index ``(dedup_group, dedup_cell)``, partial ``WHERE resolved_at IS
  NULL`` (both SQLite and PostgreSQL support partial indexes), so resolved cases cost nothing.
  Candidates: ``WHERE dedup_group = :group AND dedup_cell IN :query_cells AND resolved_at IS
  NULL AND last_at >= :captured_at - window AND first_at <= :captured_at + window``.
- Concurrency: two pushes of the same bin must not both see "no case" and both create one.
  On PostgreSQL the push transaction takes ``pg_advisory_xact_lock(k)`` for every ``k`` in
  ``lock_keys(lat, lon, group)``, one statement per key in the given (ascending) order so two
  pushes never wait on each other in a cycle, *before* it reads candidates. Two reports close
  enough to merge share at least one key (each one's cell is among the other's query cells), so
  the second waits for the first to commit and then sees its case. On SQLite ``BEGIN IMMEDIATE``
  already serialises every writer, so no further lock is needed there.

Changing ``CELL_SIZE_M`` or ``columns`` renumbers cells: it needs a migration recomputing
``cases.dedup_cell`` from the stored locations (as 0012_bounded_cells does for the rows beyond
60° that ``columns`` narrowed).
"""

from __future__ import annotations

import hashlib
import math

from pyproj import Geod

_GEOD = Geod(ellps="WGS84")

CELL_SIZE_M = 100.0
"""Smallest side of a cell, and so the widest effective dedup radius the grid can serve.

Today's widest is 50 m (25 m for dumped rubbish in ``categories.toml`` plus the 25 m GPS bound
in ``sync.dedup``); 100 m leaves room for a category's radius to grow to 75 m without renumbering
the stored cells. Larger cells would only return more candidates to filter.
"""

# Rows have a constant height in degrees; a degree of latitude is shortest at the equator, so
# sizing rows there keeps every row at least CELL_SIZE_M tall.
_M_PER_DEG_LAT_MIN: float = _GEOD.inv(0.0, 0.0, 0.0, 1.0)[2]
ROWS: int = math.floor(180.0 * _M_PER_DEG_LAT_MIN / CELL_SIZE_M)
_ROW_DEG = 180.0 / ROWS

_COLUMN_REFERENCE_LAT = 60.0
"""Where the equatorward rows' columns are CELL_SIZE_M wide: at 60° N. Sergels Torg (59.33° N)
lies just south of it, where they are slightly wider."""

# The geodesic between two points on a parallel is a little shorter than the parallel's arc, so
# this underestimates a degree's length: columns come out at least CELL_SIZE_M wide.
_M_PER_DEG_LON_REF: float = _GEOD.inv(0.0, _COLUMN_REFERENCE_LAT, 1.0, _COLUMN_REFERENCE_LAT)[2]
COLUMNS: int = math.floor(360.0 * _M_PER_DEG_LON_REF / CELL_SIZE_M)
"""Columns of every row up to about 60° from the equator, and the most any row has: a cell's
number is ``row * COLUMNS + column``."""

_A = _GEOD.a
_E2 = _GEOD.es


def _m_per_deg_lon(lat: float) -> float:
    """Length of a degree of longitude along the parallel at ``lat`` (a circle of radius
    N cos φ on the ellipsoid), shortened by a hair so rounding never makes a cell too narrow."""
    phi = math.radians(min(abs(lat), 90.0))
    radius = _A * math.cos(phi) / math.sqrt(1.0 - _E2 * math.sin(phi) ** 2)
    return max(radius * math.pi / 180.0 * (1.0 - 1e-9), 0.0)


def columns(row: int) -> int:
    """How many columns this row has: COLUMNS near the equator, fewer towards the poles, so
    that every cell of the row is at least CELL_SIZE_M wide up to two rows beyond the row's
    edge furthest from the equator (one row at the pole: it is a single cell there).

    Fewer columns near the poles is what bounds ``query_cells`` to 3 x 3 cells at every
    latitude (see there); the grid of one column width everywhere reached ~200,000 cells per
    report at the poles."""
    south = -90.0 + row * _ROW_DEG
    outer = max(abs(south), abs(south + _ROW_DEG)) + 2 * _ROW_DEG
    if outer >= 90.0:
        return 1
    return max(1, min(COLUMNS, math.floor(360.0 * _m_per_deg_lon(outer) / CELL_SIZE_M)))


def _row(lat: float) -> int:
    return min(math.floor((lat + 90.0) / _ROW_DEG), ROWS - 1)


def _col(lon: float, count: int = COLUMNS) -> int:
    return math.floor((lon + 180.0) % 360.0 / (360.0 / count)) % count


def _check(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0):
        raise ValueError(f"not a WGS 84 point: lat={lat!r}, lon={lon!r}")


def cell_of(lat: float, lon: float) -> int:
    """The cell of a WGS 84 point as one integer, for an indexed BIGINT column."""
    _check(lat, lon)
    row = _row(lat)
    return row * COLUMNS + _col(lon, columns(row))


def query_cells(lat: float, lon: float) -> tuple[int, ...]:
    """Every cell that can hold a case within CELL_SIZE_M of the point, ascending, no repeats:
    at most 9, at any latitude.

    A point Q within CELL_SIZE_M of P lies in P's row or a neighbouring one (rows are at
    least that tall), and the shortest path from P to Q stays within those three rows. Along
    a path at latitudes no further out than φ, a longitude difference Δλ costs at least
    Δλ times the length of a degree of longitude at φ; φ is at most one row beyond P's row,
    which is within two rows of the outer edge of Q's row, where ``columns`` sizes that row's
    cells to be CELL_SIZE_M wide. So Q's longitude is within one cell width of P's, and Q's
    cell is the one under P's longitude in that row or a neighbour of it.
    """
    _check(lat, lon)
    row = _row(lat)
    cells: set[int] = set()
    for r in range(max(row - 1, 0), min(row + 1, ROWS - 1) + 1):
        count = columns(r)
        col = _col(lon, count)
        cells.update(r * COLUMNS + (col + d) % count for d in (-1, 0, 1))
    return tuple(sorted(cells))


def lock_key(cell: int, group: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock`` naming one cell of one dedup group.

    A hash collision only makes two unrelated pushes wait for each other; it never lets two
    pushes of the same thing through at once.
    """
    digest = hashlib.blake2b(f"dedup:{group}:{cell}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(lat: float, lon: float, group: str) -> tuple[int, ...]:
    """The advisory lock keys a push of a report at this point takes, in the order to take them."""
    return tuple(sorted({lock_key(cell, group) for cell in query_cells(lat, lon)}))
