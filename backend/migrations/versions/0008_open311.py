"""open311: organisations' API keys, and the updates their systems posted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:28:39.860145

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "open311_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_open311_keys_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_open311_keys_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_keys_key_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_open311_keys_user_id")),
    )
    with op.batch_alter_table("open311_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_keys_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "open311_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("update_id", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_open311_updates_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["open311_keys.id"],
            name=op.f("fk_open311_updates_key_id_open311_keys"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_open311_updates_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_open311_updates_task_id_tasks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_updates")),
        sa.UniqueConstraint(
            "organisation_id", "update_id", name=op.f("uq_open311_updates_organisation_id")
        ),
    )
    with op.batch_alter_table("open311_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open311_updates_key_id"), ["key_id"], unique=False)


def downgrade():
    with op.batch_alter_table("open311_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_updates_key_id"))

    op.drop_table("open311_updates")
    with op.batch_alter_table("open311_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_keys_organisation_id"))

    op.drop_table("open311_keys")
