"""Spatial buckets for finding dedup candidates without scanning every stored case.

The earth is cut into a fixed grid of cells at least ``CELL_SIZE_M`` on a side. A case stores the
cell of its location (``cell_of``) in an indexed column; a new report queries the cases in its
own cell and the neighbouring ones (``query_cells``: 3 x 3 cells around Stockholm). Because a
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

Changing ``CELL_SIZE_M`` renumbers every cell: it needs a migration recomputing
``cases.dedup_cell`` from the stored locations.
"""

from __future__ import annotations

import functools
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
"""Columns are CELL_SIZE_M wide at 60° N: Sergels Torg (59.33° N) lies just south of it, where
they are slightly wider, so Stockholm queries 3 x 3 cells. Further from the equator a degree of
longitude shrinks and ``query_cells`` reaches more columns to stay correct."""

# The geodesic between two points on a parallel is a little shorter than the parallel's arc, so
# this underestimates a degree's length: columns come out at least CELL_SIZE_M wide.
_M_PER_DEG_LON_REF: float = _GEOD.inv(0.0, _COLUMN_REFERENCE_LAT, 1.0, _COLUMN_REFERENCE_LAT)[2]
COLUMNS: int = math.floor(360.0 * _M_PER_DEG_LON_REF / CELL_SIZE_M)
_COL_DEG = 360.0 / COLUMNS


def _row(lat: float) -> int:
    return min(math.floor((lat + 90.0) / _ROW_DEG), ROWS - 1)


def _col(lon: float) -> int:
    return math.floor((lon + 180.0) / _COL_DEG) % COLUMNS


def cell_of(lat: float, lon: float) -> int:
    """The cell of a WGS 84 point as one integer, for an indexed BIGINT column."""
    return _row(lat) * COLUMNS + _col(lon)


@functools.lru_cache(maxsize=4096)
def _column_reach(row: int) -> int:
    """How many columns either side of a point in this row a point within CELL_SIZE_M can lie."""
    # Any path of length CELL_SIZE_M from a point in this row stays within one row further
    # from the equator (rows are at least that tall), and a path between longitudes λ1 and λ2
    # that stays at latitudes below φ is at least |λ1 - λ2| times the length of a degree of
    # longitude at φ: bound the reach by that outer latitude.
    south = -90.0 + row * _ROW_DEG
    outer = max(abs(south), abs(south + _ROW_DEG)) + _ROW_DEG
    if outer >= 90.0:
        return COLUMNS
    m_per_deg_lon: float = _GEOD.inv(0.0, outer, 1.0, outer)[2]
    return math.ceil(CELL_SIZE_M / m_per_deg_lon / _COL_DEG)


def query_cells(lat: float, lon: float) -> tuple[int, ...]:
    """Every cell that can hold a case within CELL_SIZE_M of the point, ascending, no repeats.

    Nine cells around Stockholm; more columns at high latitudes, where cells are narrower.
    """
    row, col = _row(lat), _col(lon)
    reach = _column_reach(row)
    cells: set[int] = set()
    for r in range(max(row - 1, 0), min(row + 1, ROWS - 1) + 1):
        if 2 * reach + 1 >= COLUMNS:
            cells.update(range(r * COLUMNS, (r + 1) * COLUMNS))
            continue
        cells.update(r * COLUMNS + (c % COLUMNS) for c in range(col - reach, col + reach + 1))
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
