"""bounded cells: recompute cases.dedup_cell where sync.cells narrowed its rows (beyond 60°)

Rows further than about 60° from the equator now have fewer columns, so that a report anywhere
queries at most 3 x 3 cells. Cells closer to the equator (Stockholm included) keep their
numbers; cases beyond are renumbered here from their stored location.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:30:00

"""

import sqlalchemy as sa
from alembic import op

from sync.cells import cell_of

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The first narrowed row begins at 59.998°; every case from 59.9° on is looked at.
NARROWED_FROM_DEG = 59.9


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
