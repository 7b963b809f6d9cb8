"""orders grid: an account's orders by status (status chips and the status filter of representatives)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sales_orders_account_status_date",
        "sales_orders",
        ["customer_account_id", "processing_status", "order_date", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_sales_orders_account_status_date", table_name="sales_orders")
