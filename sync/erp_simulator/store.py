"""The simulated ERP's own database: tables shaped like F&O data entities, counters, engine setup.

Column names are the F&O OData field names, so a row maps one-to-one onto the JSON the API serves.
Every entity row carries ``ChangeSequence`` (one global counter shared by all tables) and
``ModifiedDateTime`` (timezone-naive UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

metadata = MetaData()

#: Name of the global change counter in ``erp_counters``.
CHANGE_SEQUENCE = "ChangeSequence"
#: Name of the per-legal-entity sales order number sequence in ``erp_counters``.
SALES_ORDER_SEQUENCE = "SalesOrder"
#: Name of the contact person number sequence in ``erp_counters`` (company "").
CONTACT_SEQUENCE = "ContactPerson"
#: Name of the new-product number sequence in ``erp_counters`` (company "").
PRODUCT_SEQUENCE = "Product"


def money() -> Numeric[Any]:
    """Monetary amount: 18 digits, 2 decimals."""
    return Numeric(18, 2)


def quantity() -> Numeric[Any]:
    """Quantity or conversion factor: 18 digits, 4 decimals."""
    return Numeric(18, 4)


def _tracking() -> list[Column[Any]]:
    """The change-tracking columns every entity row has."""
    return [
        Column("ChangeSequence", BigInteger, nullable=False),
        Column("ModifiedDateTime", DateTime, nullable=False),
    ]


def _entity(name: str, *items: Any, company: bool = True) -> Table:
    """Create an entity table with change-tracking columns and their indexes."""
    table = Table(name, metadata, *items, *_tracking())
    Index(f"ix_{name}_cs", table.c.ChangeSequence, unique=True)
    Index(f"ix_{name}_mdt", table.c.ModifiedDateTime, table.c.ChangeSequence)
    if company:
        Index(f"ix_{name}_area_cs", table.c.dataAreaId, table.c.ChangeSequence)
    return table


def _area() -> Column[str]:
    return Column("dataAreaId", String(8), nullable=False)


legal_entities = _entity(
    "erp_legal_entities",
    Column("LegalEntityId", String(8), primary_key=True),
    Column("Name", String(120), nullable=False),
    Column("CurrencyCode", String(3), nullable=False),
    Column("LanguageId", String(10), nullable=False),
    Column("AddressCountryRegionId", String(3), nullable=False),
    company=False,
)

customers = _entity(
    "erp_customers",
    _area(),
    Column("CustomerAccount", String(20), nullable=False),
    Column("OrganizationName", String(120), nullable=False),
    Column("CustomerGroupId", String(10), nullable=False),
    Column("SalesCurrencyCode", String(3), nullable=False),
    Column("LanguageId", String(10), nullable=False),
    Column("InvoiceAccount", String(20), nullable=False),
    Column("CreditLimit", money(), nullable=False),
    Column("OnHoldStatus", String(10), nullable=False),
    Column("PriceCustomerGroupCode", String(20)),
    Column("AddressCountryRegionId", String(3), nullable=False),
    PrimaryKeyConstraint("dataAreaId", "CustomerAccount"),
    ForeignKeyConstraint(["dataAreaId"], ["erp_legal_entities.LegalEntityId"]),
)

customer_postal_addresses = _entity(
    "erp_customer_postal_addresses",
    _area(),
    Column("CustomerAccountNumber", String(20), nullable=False),
    Column("AddressLocationId", String(20), primary_key=True),
    Column("AddressDescription", String(120), nullable=False),
    Column("AddressStreet", String(250), nullable=False),
    Column("AddressCity", String(60), nullable=False),
    Column("AddressZipCode", String(10), nullable=False),
    Column("AddressCountryRegionId", String(3), nullable=False),
    Column("IsPrimary", Boolean, nullable=False),
    Column("IsRoleDelivery", Boolean, nullable=False),
    ForeignKeyConstraint(
        ["dataAreaId", "CustomerAccountNumber"],
        ["erp_customers.dataAreaId", "erp_customers.CustomerAccount"],
    ),
)
Index(
    "ix_erp_customer_postal_addresses_account",
    customer_postal_addresses.c.dataAreaId,
    customer_postal_addresses.c.CustomerAccountNumber,
)

contact_persons = _entity(
    "erp_contact_persons",
    _area(),
    Column("ContactPersonId", String(20), primary_key=True),
    Column("FirstName", String(60), nullable=False),
    Column("LastName", String(60), nullable=False),
    Column("PrimaryEmailAddress", String(254), nullable=False),
    Column("CustomerAccountNumber", String(20), nullable=False),
    Column("LanguageId", String(10), nullable=False),
    ForeignKeyConstraint(
        ["dataAreaId", "CustomerAccountNumber"],
        ["erp_customers.dataAreaId", "erp_customers.CustomerAccount"],
    ),
)
Index(
    "ix_erp_contact_persons_account",
    contact_persons.c.dataAreaId,
    contact_persons.c.CustomerAccountNumber,
)

released_products = _entity(
    "erp_released_products",
    _area(),
    Column("ItemNumber", String(20), nullable=False),
    Column("ProductName", String(120), nullable=False),
    Column("ProductGroupId", String(20), nullable=False),
    Column("SalesUnitSymbol", String(10), nullable=False),
    Column("ProductLifecycleStateId", String(20), nullable=False),
    PrimaryKeyConstraint("dataAreaId", "ItemNumber"),
    ForeignKeyConstraint(["dataAreaId"], ["erp_legal_entities.LegalEntityId"]),
)

product_sales_units = _entity(
    "erp_product_sales_units",
    _area(),
    Column("ItemNumber", String(20), nullable=False),
    Column("SalesUnitSymbol", String(10), nullable=False),
    Column("UnitConversionFactor", quantity(), nullable=False),
    Column("UnitDecimalPrecision", Integer, nullable=False),
    PrimaryKeyConstraint("dataAreaId", "ItemNumber", "SalesUnitSymbol"),
    ForeignKeyConstraint(
        ["dataAreaId", "ItemNumber"],
        ["erp_released_products.dataAreaId", "erp_released_products.ItemNumber"],
    ),
)

customer_price_groups = _entity(
    "erp_customer_price_groups",
    _area(),
    Column("PriceGroupId", String(20), nullable=False),
    Column("Name", String(120), nullable=False),
    Column("CurrencyCode", String(3), nullable=False),
    PrimaryKeyConstraint("dataAreaId", "PriceGroupId"),
    ForeignKeyConstraint(["dataAreaId"], ["erp_legal_entities.LegalEntityId"]),
)

sales_price_agreements = _entity(
    "erp_sales_price_agreements",
    _area(),
    Column("PriceAgreementId", BigInteger, primary_key=True, autoincrement=False),
    Column("PriceCustomerGroupCode", String(20), nullable=False),
    Column("ItemNumber", String(20), nullable=False),
    Column("QuantityUnitSymbol", String(10), nullable=False),
    Column("PriceCurrencyCode", String(3), nullable=False),
    Column("Price", money(), nullable=False),
    Column("PriceApplicableFromDate", Date, nullable=False),
    ForeignKeyConstraint(
        ["dataAreaId", "PriceCustomerGroupCode"],
        ["erp_customer_price_groups.dataAreaId", "erp_customer_price_groups.PriceGroupId"],
    ),
)
Index(
    "ix_erp_sales_price_agreements_lookup",
    sales_price_agreements.c.dataAreaId,
    sales_price_agreements.c.PriceCustomerGroupCode,
    sales_price_agreements.c.ItemNumber,
    sales_price_agreements.c.QuantityUnitSymbol,
    sales_price_agreements.c.PriceApplicableFromDate,
    unique=True,
)

sales_order_headers = _entity(
    "erp_sales_order_headers",
    _area(),
    Column("SalesOrderNumber", String(20), nullable=False),
    Column("OrderingCustomerAccountNumber", String(20), nullable=False),
    Column("InvoiceCustomerAccountNumber", String(20), nullable=False),
    Column("SalesOrderName", String(120), nullable=False),
    Column("CurrencyCode", String(3), nullable=False),
    Column("LanguageId", String(10), nullable=False),
    Column("PriceCustomerGroupCode", String(20)),
    Column("ContactPersonId", String(20)),
    Column("RequestedReceiptDate", Date, nullable=False),
    Column("ConfirmedReceiptDate", Date),
    Column("DeliveryAddressDescription", String(120), nullable=False),
    Column("DeliveryAddressStreet", String(250), nullable=False),
    Column("DeliveryAddressCity", String(60), nullable=False),
    Column("DeliveryAddressZipCode", String(10), nullable=False),
    Column("DeliveryAddressCountryRegionId", String(3), nullable=False),
    Column("CustomerRequisitionNumber", String(60)),
    Column("SalesOrderOriginCode", String(10), nullable=False),
    Column("PortalOrderId", String(36)),
    Column("SalesOrderStatus", String(20), nullable=False),
    Column("SalesOrderProcessingStatus", String(20), nullable=False),
    Column("DocumentStatus", String(20), nullable=False),
    Column("OrderCreatedDateTime", DateTime, nullable=False),
    Column("TotalAmount", money(), nullable=False),
    PrimaryKeyConstraint("dataAreaId", "SalesOrderNumber"),
    ForeignKeyConstraint(
        ["dataAreaId", "OrderingCustomerAccountNumber"],
        ["erp_customers.dataAreaId", "erp_customers.CustomerAccount"],
    ),
)
Index("ix_erp_sales_order_headers_portal", sales_order_headers.c.PortalOrderId, unique=True)
Index(
    "ix_erp_sales_order_headers_customer",
    sales_order_headers.c.dataAreaId,
    sales_order_headers.c.OrderingCustomerAccountNumber,
    sales_order_headers.c.ChangeSequence,
)
Index("ix_erp_sales_order_headers_contact", sales_order_headers.c.ContactPersonId)

sales_order_lines = _entity(
    "erp_sales_order_lines",
    _area(),
    Column("SalesOrderNumber", String(20), nullable=False),
    Column("LineNumber", Integer, nullable=False),
    Column("ItemNumber", String(20), nullable=False),
    Column("LineDescription", String(250), nullable=False),
    Column("OrderedSalesQuantity", quantity(), nullable=False),
    Column("ConfirmedSalesQuantity", quantity()),
    Column("SalesUnitSymbol", String(10), nullable=False),
    Column("SalesPrice", money(), nullable=False),
    Column("LineAmount", money(), nullable=False),
    Column("CurrencyCode", String(3), nullable=False),
    Column("SalesOrderLineStatus", String(20), nullable=False),
    Column("RequestedReceiptDate", Date, nullable=False),
    Column("ConfirmedReceiptDate", Date),
    Column("DeliveryAddressDescription", String(120), nullable=False),
    Column("DeliveryAddressCountryRegionId", String(3), nullable=False),
    PrimaryKeyConstraint("dataAreaId", "SalesOrderNumber", "LineNumber"),
    ForeignKeyConstraint(
        ["dataAreaId", "SalesOrderNumber"],
        ["erp_sales_order_headers.dataAreaId", "erp_sales_order_headers.SalesOrderNumber"],
    ),
)

counters = Table(
    "erp_counters",
    metadata,
    Column("CounterName", String(40), nullable=False),
    Column("dataAreaId", String(8), nullable=False),
    Column("LastValue", BigInteger, nullable=False),
    PrimaryKeyConstraint("CounterName", "dataAreaId"),
)

#: What the ERP answered to each idempotency key it refused, or which record a key created (not served).
#: An ERP remembers both so that a retried request gets the same answer, never a second record.
idempotency_keys = Table(
    "erp_idempotency_keys",
    metadata,
    Column("IdempotencyKey", String(64), primary_key=True),
    Column("EntitySet", String(40), nullable=False),
    Column("StatusCode", Integer, nullable=False),
    Column("ErrorCode", String(40)),
    Column("ErrorMessage", String(500)),
    Column("ResourceKey", String(60)),
    Column("CreatedDateTime", DateTime, nullable=False),
)

#: Entity set name (as served under ``/data/<name>``) -> table, in dependency order.
ENTITY_SETS: Mapping[str, Table] = {
    "LegalEntities": legal_entities,
    "CustomersV3": customers,
    "CustomerPostalAddresses": customer_postal_addresses,
    "ContactPersonsV2": contact_persons,
    "ReleasedProductsV2": released_products,
    "ReleasedProductSalesUnits": product_sales_units,
    "CustomerPriceGroups": customer_price_groups,
    "SalesPriceAgreements": sales_price_agreements,
    "SalesOrderHeadersV2": sales_order_headers,
    "SalesOrderLines": sales_order_lines,
}

#: Entity set name -> key fields (the F&O entity key).
ENTITY_KEYS: Mapping[str, tuple[str, ...]] = {
    name: tuple(col.name for col in table.primary_key.columns) for name, table in ENTITY_SETS.items()
}


def _is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    """An engine safe to share between threads, with the SQLite pragmas set on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if _is_memory_sqlite(url):
        # One shared connection, or every thread would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"timeout": 15})
    file_based = not _is_memory_sqlite(url)

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if file_based:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    return engine


def create_store(url: str) -> Engine:
    """Create (if missing) the ERP tables and counters at ``url`` and return a thread-safe engine."""
    engine = make_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        _ensure_counter(conn, CHANGE_SEQUENCE, "")
    return engine


def is_empty(conn: Connection) -> bool:
    """True when no entity table holds a row."""
    return not any(
        conn.execute(select(exists().select_from(table))).scalar() for table in ENTITY_SETS.values()
    )


def _ensure_counter(conn: Connection, name: str, data_area_id: str) -> None:
    """Create a counter row at 0 unless it exists (safe against a concurrent creator)."""
    values = {"CounterName": name, "dataAreaId": data_area_id, "LastValue": 0}
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(counters).values(values).on_conflict_do_nothing())
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite_insert(counters).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases: check first, then insert
        found = conn.execute(
            select(counters.c.LastValue).where(
                counters.c.CounterName == name, counters.c.dataAreaId == data_area_id
            )
        ).first()
        if found is None:
            conn.execute(insert(counters).values(values))


def _allocate(conn: Connection, name: str, data_area_id: str, n: int) -> int:
    """Reserve ``n`` consecutive values of a counter; return the first one."""
    if n < 1:
        raise ValueError("n must be at least 1")
    bump = (
        update(counters)
        .where(counters.c.CounterName == name, counters.c.dataAreaId == data_area_id)
        .values(LastValue=counters.c.LastValue + n)
        .returning(counters.c.LastValue)
    )
    last = conn.execute(bump).scalar()
    if last is None:  # first use of this counter: create it, then take the values
        _ensure_counter(conn, name, data_area_id)
        last = conn.execute(bump).scalar_one()
    return int(last) - n + 1


def next_change_sequence(conn: Connection, n: int = 1) -> int:
    """Allocate ``n`` global change sequence values in the caller's transaction; return the first."""
    return _allocate(conn, CHANGE_SEQUENCE, "", n)


def next_sales_order_number(conn: Connection, data_area_id: str) -> str:
    """Allocate the next SalesOrderNumber of a legal entity ("SO-0000001", ...)."""
    return format_sales_order_number(_allocate(conn, SALES_ORDER_SEQUENCE, data_area_id, 1))


def allocate(conn: Connection, name: str, data_area_id: str = "", n: int = 1) -> int:
    """Reserve ``n`` consecutive values of any counter in the caller's transaction; return the first."""
    return _allocate(conn, name, data_area_id, n)


def format_sales_order_number(value: int) -> str:
    """The F&O-style sales order number for a sequence value."""
    return f"SO-{value:07d}"


def counter_value(conn: Connection, name: str, data_area_id: str = "") -> int:
    """The last value handed out by a counter (0 when it has never been used)."""
    value = conn.execute(
        select(counters.c.LastValue).where(
            counters.c.CounterName == name, counters.c.dataAreaId == data_area_id
        )
    ).scalar()
    return int(value or 0)


def advance_counter(conn: Connection, name: str, data_area_id: str, value: int) -> None:
    """Make sure a counter continues after ``value`` (never moves it backwards)."""
    _ensure_counter(conn, name, data_area_id)
    conn.execute(
        update(counters)
        .where(
            counters.c.CounterName == name,
            counters.c.dataAreaId == data_area_id,
            counters.c.LastValue < value,
        )
        .values(LastValue=value)
    )
