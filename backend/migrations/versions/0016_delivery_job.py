"""deliveries.job_id: the RQ job that carries an enqueued delivery

The relay now puts one organisation's inbox deliveries in one job (up to
``delivery.relay.JOB_BATCH``), so a delivery's job id is no longer always its own id. The sweep
reads this column to ask Redis whether the job is still waiting. NULL for rows enqueued before
(their job id is their own id) and for pending rows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 18:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("job_id")
