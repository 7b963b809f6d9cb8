"""sync: the shared control row (who runs the scheduled jobs, lease, pause state, reconcile requests)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    control = op.create_table(
        "sync_control",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_by", sa.String(length=20), nullable=True),
        sa.Column("resumed_at", sa.DateTime(), nullable=True),
        sa.Column("reconcile_requested_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_control")),
    )
    op.bulk_insert(control, [{"name": "sync", "paused": False}])


def downgrade() -> None:
    op.drop_table("sync_control")
