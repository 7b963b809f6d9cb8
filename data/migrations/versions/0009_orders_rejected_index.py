"""orders: a partial index of the orders the ERP rejected, per account and date (the account summary)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REJECTED_SQL = "sync_state = 'rejected'"  # data.models.REJECTED_SQL when this was written


def upgrade() -> None:
    op.create_index(
        "ix_sales_orders_account_rejected",
        "sales_orders",
        ["customer_account_id", "order_date"],
        sqlite_where=sa.text(REJECTED_SQL),
        postgresql_where=sa.text(REJECTED_SQL),
    )
    op.execute("ANALYZE sales_orders")


def downgrade() -> None:
    op.drop_index("ix_sales_orders_account_rejected", table_name="sales_orders")
