"""sync: ledger, reports, contacts, presence, feed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:32:26.120729

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feed_changes",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", "seq", name=op.f("pk_feed_changes")),
    )
    with op.batch_alter_table("feed_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_changes_subject"), ["subject"], unique=False)

    op.create_table(
        "feed_streams",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_feed_streams")),
    )
    op.create_table(
        "sync_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("captured_at_raw", sa.String(length=64), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_skew_s", sa.Float(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sync_items_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_items")),
    )
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_items_user_id"), ["user_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("contact_type", sa.String(length=32), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("referral", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"], ["sync_items.id"], name=op.f("fk_contacts_id_sync_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contacts_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "presence_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["sync_items.id"],
            name=op.f("fk_presence_events_id_sync_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_presence_events_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_events")),
    )
    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presence_events_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_presence_events_user_id"), ["user_id"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category"],
            ["categories.code"],
            name=op.f("fk_reports_category_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["sync_items.id"], name=op.f("fk_reports_id_sync_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reports_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_user_id"), ["user_id"], unique=False)

    op.create_table(
        "report_photos",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_photos_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "sha256", name=op.f("pk_report_photos")),
    )
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_photos_sha256"), ["sha256"], unique=False)

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_photos_sha256"))

    op.drop_table("report_photos")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_user_id"))
        batch_op.drop_index(batch_op.f("ix_reports_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_reports_case_id"))

    op.drop_table("reports")
    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presence_events_user_id"))
        batch_op.drop_index(batch_op.f("ix_presence_events_occurred_at"))

    op.drop_table("presence_events")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_user_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_occurred_at"))

    op.drop_table("contacts")
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_items_user_id"))

    op.drop_table("sync_items")
    op.drop_table("feed_streams")
    with op.batch_alter_table("feed_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_changes_subject"))

    op.drop_table("feed_changes")
    # ### end Alembic commands ###
