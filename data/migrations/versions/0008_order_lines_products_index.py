"""orders: a covering index of order lines for the account summary's top products (PostgreSQL only)

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INCLUDE = ["line_status", "item_number", "unit_symbol", "currency_code", "quantity", "line_amount"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE; its summary needs no extra index
    op.create_index(
        "ix_sales_order_lines_order_products", "sales_order_lines", ["order_id"], postgresql_include=INCLUDE
    )
    op.execute("ANALYZE sales_order_lines")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_sales_order_lines_order_products", table_name="sales_order_lines")
