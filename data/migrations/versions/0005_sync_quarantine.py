"""sync: quarantine for malformed ERP records, and the outbox index that keeps one record's entries in order

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_set", sa.String(length=60), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=True),
        sa.Column("change_sequence", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_quarantine")),
    )
    op.create_index("ix_sync_quarantine_entity_seq", "sync_quarantine", ["entity_set", "change_sequence"])
    op.create_index("ix_sync_outbox_entity", "sync_outbox", ["entity", "entity_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_sync_outbox_entity", table_name="sync_outbox")
    op.drop_index("ix_sync_quarantine_entity_seq", table_name="sync_quarantine")
    op.drop_table("sync_quarantine")
