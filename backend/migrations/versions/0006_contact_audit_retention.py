"""contact reads audit (append-only), retention runs, contact zone

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-28 04:11:04.011210

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The audit log is append-only for everyone, the application's own database role included:
# a row that could be changed or removed would prove nothing. TRUNCATE (PostgreSQL) and
# dropping the trigger stay possible for the database owner, outside the application.
PG_GUARD = """
CREATE FUNCTION contact_reads_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'contact_reads is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER contact_reads_append_only BEFORE UPDATE OR DELETE ON contact_reads
FOR EACH ROW EXECUTE FUNCTION contact_reads_append_only()
"""
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER contact_reads_no_update BEFORE UPDATE ON contact_reads
    BEGIN SELECT RAISE(ABORT, 'contact_reads is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER contact_reads_no_delete BEFORE DELETE ON contact_reads
    BEGIN SELECT RAISE(ABORT, 'contact_reads is append-only: DELETE refused'); END
    """,
)


def upgrade():
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_runs_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "contact_reads",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=False),
        sa.Column("reader_role", sa.String(length=16), nullable=False),
        sa.Column("reader_organisation", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["users.id"],
            name=op.f("fk_contact_reads_reader_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_contact_reads")),
    )
    with op.batch_alter_table("contact_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_reads_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contact_reads_read_at"), ["read_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_reads_reader_id"), ["reader_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("zone")

    with op.batch_alter_table("contact_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_reads_reader_id"))
        batch_op.drop_index(batch_op.f("ix_contact_reads_read_at"))
        batch_op.drop_index(batch_op.f("ix_contact_reads_contact_id"))

    op.drop_table("contact_reads")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION contact_reads_append_only()")

    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_runs_started_at"))

    op.drop_table("retention_runs")
