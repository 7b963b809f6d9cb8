"""orders grid: a person's own orders sorted by requested receipt date or total through an index

Without these, PostgreSQL walks the index over all orders by total and filters for the person (85 ms
for a page at 1M orders instead of about 2).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_sales_orders_placed_by_requested": ["placed_by_contact_id", "requested_receipt_date", "id"],
    "ix_sales_orders_placed_by_total": ["placed_by_contact_id", "total_amount", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "sales_orders", columns)
    op.execute("ANALYZE sales_orders")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="sales_orders")
