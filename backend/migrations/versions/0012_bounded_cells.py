"""bounded cells: recompute cases.dedup_cell where sync.cells narrowed its rows (beyond 60°)

Rows further than about 60° from the equator now have fewer columns, so that a report anywhere
queries at most 3 x 3 cells. Cells closer to the equator (Stockholm included) keep their
numbers; cases beyond are renumbered here from their stored location.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:30:00

"""

import math

import sqlalchemy as sa
from alembic import op
from pyproj import Geod

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The first narrowed row begins at 59.998°; every case from 59.9° on is looked at.
NARROWED_FROM_DEG = 59.9


# The numbering of sync/cells.py as of this revision, frozen here: a migration must compute what
# it computed when it was written, whatever sync/cells.py becomes (a later change to the
# numbering ships a migration of its own; tests/unit/test_cells.py compares the two).
_GEOD = Geod(ellps="WGS84")
CELL_SIZE_M = 100.0
_ROWS = math.floor(180.0 * _GEOD.inv(0.0, 0.0, 0.0, 1.0)[2] / CELL_SIZE_M)
_ROW_DEG = 180.0 / _ROWS
_COLUMNS = math.floor(360.0 * _GEOD.inv(0.0, 60.0, 1.0, 60.0)[2] / CELL_SIZE_M)


def _m_per_deg_lon(lat):
    phi = math.radians(min(abs(lat), 90.0))
    radius = _GEOD.a * math.cos(phi) / math.sqrt(1.0 - _GEOD.es * math.sin(phi) ** 2)
    return max(radius * math.pi / 180.0 * (1.0 - 1e-9), 0.0)


def _columns(row):
    south = -90.0 + row * _ROW_DEG
    outer = max(abs(south), abs(south + _ROW_DEG)) + 2 * _ROW_DEG
    if outer >= 90.0:
        return 1
    return max(1, min(_COLUMNS, math.floor(360.0 * _m_per_deg_lon(outer) / CELL_SIZE_M)))


def cell_of(lat, lon):
    row = min(math.floor((lat + 90.0) / _ROW_DEG), _ROWS - 1)
    count = _columns(row)
    return row * _COLUMNS + math.floor((lon + 180.0) % 360.0 / (360.0 / count)) % count


def upgrade():
    cases = sa.table(
        "cases",
        sa.column("id", sa.Uuid()),
        sa.column("lat", sa.Float()),
        sa.column("lon", sa.Float()),
        sa.column("dedup_cell", sa.BigInteger()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(cases.c.id, cases.c.lat, cases.c.lon, cases.c.dedup_cell).where(
            sa.or_(cases.c.lat >= NARROWED_FROM_DEG, cases.c.lat <= -NARROWED_FROM_DEG)
        )
    ).all()
    changed = [
        {"case_id": row.id, "cell": cell_of(row.lat, row.lon)}
        for row in rows
        if cell_of(row.lat, row.lon) != row.dedup_cell
    ]
    if changed:
        bind.execute(
            cases.update()
            .where(cases.c.id == sa.bindparam("case_id"))
            .values(dedup_cell=sa.bindparam("cell")),
            changed,
        )


def downgrade():
    # The old numbering is not kept: after a downgrade, cases beyond 60° are found again only
    # by reports pushed after it (a duplicate case at worst, never a lost report).
    pass
