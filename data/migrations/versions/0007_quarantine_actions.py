"""sync: administrators retry or dismiss a quarantined ERP record

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_quarantine") as table:
        table.add_column(sa.Column("retry_requested_at", sa.DateTime(), nullable=True))
        table.add_column(sa.Column("resolution", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_quarantine") as table:
        table.drop_column("resolution")
        table.drop_column("retry_requested_at")
