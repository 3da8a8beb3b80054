"""presence days: each worker's computed day, read by the daily log instead of the events

Every (worker, local day) whose event window holds an existing presence event gets a dirty
row (``computed`` NULL), so the first read of that day computes it from the events; from
then on the push and retention keep the rows (``backend/presence/stored.py``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 18:40:00

"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# As of this revision (backend/localtime.py, backend/presence/values.py): a later change of
# either must mark the days again in its own migration.
LOCAL_TZ = ZoneInfo("Europe/Stockholm")
MAX_SHIFT = timedelta(hours=13)


def _days(at):
    """The local days whose event window [start - 13 h, end + 13 h] holds ``at``."""
    first = (at - MAX_SHIFT).astimezone(LOCAL_TZ).date() - timedelta(days=1)
    last = (at + MAX_SHIFT).astimezone(LOCAL_TZ).date()
    day = first
    while day <= last:
        start = _midnight(day)
        end = _midnight(day + timedelta(days=1))
        if start - MAX_SHIFT <= at <= end + MAX_SHIFT:
            yield day
        day += timedelta(days=1)


def _midnight(day):
    return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)


def upgrade():
    op.create_table(
        "presence_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed", sa.Integer(), nullable=True),
        sa.Column("segments", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_presence_days_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "user_id", name=op.f("pk_presence_days")),
    )
    with op.batch_alter_table("presence_days", schema=None) as batch_op:
        batch_op.create_index(
            "ix_presence_days_dirty",
            ["day"],
            unique=False,
            sqlite_where=sa.text("computed IS NULL"),
            postgresql_where=sa.text("computed IS NULL"),
        )
    events = sa.table(
        "presence_events",
        sa.column("user_id", sa.Uuid()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
    )
    days = sa.table(
        "presence_days",
        sa.column("day", sa.Date()),
        sa.column("user_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
    )
    bind = op.get_bind()
    keys = set()
    for user_id, at in bind.execute(sa.select(events.c.user_id, events.c.occurred_at)):
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at  # SQLite: naive UTC
        keys.update((day, user_id) for day in _days(at))
    rows = [{"day": day, "user_id": user_id, "version": 1} for day, user_id in sorted(keys)]
    for n in range(0, len(rows), 1000):
        bind.execute(sa.insert(days), rows[n : n + 1000])


def downgrade():
    op.drop_table("presence_days")
