"""case hints: an index of open cases by zone, for the pull's nearby_cases

The reporter's hints (issue 21) need no new column: the hint and its outcome are stored in
``reports.merge_reason`` (JSON, no check constraint on its ``rule``), beside the rules' reason.
The offline list of a zone's open cases reads this partial index, so a year of resolved cases
in the zone costs nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_open_zone",
            ["zone", "last_at"],
            unique=False,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_cases_open_zone",
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
