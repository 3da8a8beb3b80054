"""tasks: routed tasks, their events, stored rule sets; cases waiting for photos

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:24:35.306171

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rule_sets")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("referral", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("rerouted_from_id", sa.Uuid(), nullable=True),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')",
            name=op.f("ck_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_tasks_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_tasks_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_tasks_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rerouted_from_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_rerouted_from_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_tasks_organisation_routed", ["organisation_id", "routed_at"], unique=False
        )
        batch_op.create_index("ix_tasks_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "uq_tasks_open_case",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
            postgresql_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
        )
        batch_op.create_index(
            "uq_tasks_open_contact",
            ["contact_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
            postgresql_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route_after", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_cases_route_after",
            ["route_after"],
            unique=False,
            sqlite_where=sa.text("route_after IS NOT NULL"),
            postgresql_where=sa.text("route_after IS NOT NULL"),
        )

    op.create_table(
        "task_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_events_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_task_events_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_events")),
    )
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_events_task_id"), ["task_id"], unique=False)


def downgrade():
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_events_task_id"))

    op.drop_table("task_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_cases_route_after",
            sqlite_where=sa.text("route_after IS NOT NULL"),
            postgresql_where=sa.text("route_after IS NOT NULL"),
        )
        batch_op.drop_column("route_after")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tasks_open_contact",
            sqlite_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
            postgresql_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
        )
        batch_op.drop_index(
            "uq_tasks_open_case",
            sqlite_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
            postgresql_where=sa.text("status IN ('new', 'acknowledged', 'in_progress')"),
        )
        batch_op.drop_index("ix_tasks_status_due")
        batch_op.drop_index("ix_tasks_organisation_routed")
        batch_op.drop_index(batch_op.f("ix_tasks_case_id"))

    op.drop_table("tasks")
    op.drop_table("rule_sets")
