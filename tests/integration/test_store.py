"""The portal store: migrations equal the models, constraints and the grid's indexes hold."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from data.db import migrate, prepare_bulk_write, session_scope
from data.models import (
    Base,
    Contact,
    ContactRole,
    CustomerAccount,
    LegalEntity,
    OrderEvent,
    OutboxEntry,
    SalesOrder,
    SalesOrderLine,
    SyncState,
    WebRole,
)

#: Indexes the models create on PostgreSQL only (`ddl_if`), which the migrations create there only too.
POSTGRESQL_ONLY = {"ix_sales_order_lines_order_products"}


def test_migrations_match_models(portal_db):
    def compared(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "index" and name in POSTGRESQL_ONLY and conn.dialect.name != "postgresql")

    with portal_db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": compared})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    if conn.dialect.name == "postgresql":  # the covering index really is one
        with portal_db.connect() as conn:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_sales_order_lines_order_products'"
            ).scalar_one()
        assert (
            "INCLUDE (line_status, item_number, unit_symbol, currency_code, quantity, line_amount)"
            in definition
        )


def test_migrate_is_idempotent(portal_db):
    migrate(portal_db)
    migrate(portal_db)
    assert "sales_orders" in inspect(portal_db).get_table_names()


def test_orders_grid_indexes_exist(portal_db):
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(portal_db).get_indexes("sales_orders")}
    assert indexes["ix_sales_orders_account_date"] == ["customer_account_id", "order_date", "id"]
    assert indexes["ix_sales_orders_placed_by_date"] == ["placed_by_contact_id", "order_date", "id"]
    assert indexes["ix_sales_orders_status_date"] == ["processing_status", "order_date", "id"]


def _account(session) -> CustomerAccount:
    session.add(
        LegalEntity(id="USMF", name="USA", currency_code="USD", language_id="en-us", country_region_id="USA")
    )
    session.flush()
    account = CustomerAccount(
        legal_entity_id="USMF",
        account_number="US-001",
        name="Adventure Works",
        currency_code="USD",
        price_list_code="USD-RETAIL",
        credit_limit=Decimal("50000.00"),
        on_hold_status="No",
    )
    session.add(account)
    session.flush()
    return account


def _order(account: CustomerAccount, number: str | None, **extra) -> SalesOrder:
    return SalesOrder(
        legal_entity_id="USMF",
        customer_account_id=account.id,
        ordering_customer_account_number="US-001",
        sales_order_name="Adventure Works",
        currency_code="USD",
        language_id="en-us",
        sales_order_number=number,
        order_date=datetime(2026, 11, 2, 9, 30),
        requested_receipt_date=date(2026, 11, 9),
        delivery_address_description="Main warehouse",
        delivery_address_country_region_id="USA",
        origin="portal",
        **extra,
    )


def test_order_graph_round_trip(portal_sessions):
    with session_scope(portal_sessions) as session:
        account = _account(session)
        contact = Contact(email="buyer@example.com", customer_account_id=account.id)
        contact.roles.append(ContactRole(role=WebRole.AUTHORIZED_USER))
        session.add(contact)
        session.flush()
        order = _order(
            account,
            None,
            portal_order_id="7c9e6679-7425-40de-944b-e07fc1f90ae7",
            placed_by_contact_id=contact.id,
            sync_state=SyncState.SUBMITTED,
            total_amount=Decimal("1234.56"),
        )
        order.lines.append(
            SalesOrderLine(
                line_number=1,
                item_number="A0001",
                quantity=Decimal("2.5000"),
                unit_symbol="kg",
                unit_price=Decimal("493.82"),
                line_amount=Decimal("1234.55"),
                currency_code="USD",
                requested_receipt_date=date(2026, 11, 9),
                delivery_address_description="Main warehouse",
                delivery_address_country_region_id="USA",
            )
        )
        session.add(order)
        session.flush()
        session.add(OrderEvent(order_id=order.id, occurred_at=datetime.now(UTC), kind="submitted"))
        session.add(
            OutboxEntry(
                entity="sales_order",
                entity_id=order.id,
                idempotency_key=order.portal_order_id,
                payload={"a": 1},
            )
        )

    with session_scope(portal_sessions) as session:
        order = session.scalars(select(SalesOrder)).one()
        assert order.total_amount == Decimal("1234.56")
        assert order.lines[0].quantity == Decimal("2.5")
        assert [e.kind for e in order.events] == ["submitted"]
        assert order.sync_state == "submitted"
        placer = session.get(Contact, order.placed_by_contact_id)
        assert placer.web_roles == {WebRole.AUTHORIZED_USER}
        assert session.scalars(select(OutboxEntry.payload)).one() == {"a": 1}


def test_sales_order_number_unique_per_company(portal_sessions):
    with session_scope(portal_sessions) as session:
        account = _account(session)
        session.add(_order(account, "SO-0000001"))
        session.add(_order(account, None))
        session.add(_order(account, None))  # several orders may wait for their number
    with pytest.raises(IntegrityError), session_scope(portal_sessions) as session:
        account = session.scalars(select(CustomerAccount)).one()
        session.add(_order(account, "SO-0000001"))


def test_contact_email_unique(portal_sessions):
    with session_scope(portal_sessions) as session:
        session.add(Contact(email="a@example.com"))
    with pytest.raises(IntegrityError), session_scope(portal_sessions) as session:
        session.add(Contact(email="a@example.com"))


def test_a_bulk_writer_checkpoints_rarely_and_the_web_as_sqlite_does(portal_db, portal_sessions):
    """The pull's connections checkpoint the WAL at 10,000 pages (one batch of 1,000 orders dirties about
    1,000, so each commit would checkpoint, with two fsyncs); a connection that never wrote in bulk keeps
    SQLite's 1,000, so the web's commits still checkpoint a WAL the pull left large."""
    if portal_db.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    with portal_sessions() as writer, portal_sessions() as web:
        prepare_bulk_write(writer)
        assert writer.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
        assert writer.execute(text("PRAGMA cache_size")).scalar() == -65_536
        assert web.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1_000
