"""Pull ERP changes into the portal store, following each entity set's change sequence.

Each page of at most 1,000 records is applied in one transaction together with its cursor, so a crash
never loses or double-applies a page. The initial sync is the same pull from cursor 0.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import namedtuple
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, cached_property, lru_cache, partial
from operator import itemgetter, methodcaller
from queue import Empty, Queue
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Date,
    DateTime,
    Dialect,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import ColumnDefault
from sqlalchemy.sql.dml import ValuesBase

from data.access import Principal
from data.db import bind_processors, prepare_bulk_write
from data.models import (
    Base,
    Contact,
    CustomerAccount,
    DeliveryAddress,
    LegalEntity,
    OrderEvent,
    OrderOrigin,
    PriceList,
    PriceListItem,
    Product,
    ProductUnit,
    QuarantinedRecord,
    SalesOrder,
    SalesOrderLine,
    SyncCursor,
    SyncRun,
    SyncState,
)
from sync.erp_client import ErpClient, Record
from sync.push import mark_order_accepted  # one rule for the acceptance, whoever sees it first

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # dual-write's transaction limit; never more per transaction
_ORDER_EVENTS = cast(Table, OrderEvent.__table__)  # Core inserts: the ORM's bulk path costs more per row


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


_ACCOUNTS = _table(CustomerAccount)


class MissingReference(Exception):
    """A record refers to something not applied yet; the pull stops this entity set until next time."""

    def __init__(self, message: str, entity_set: str = "", key: Any = None) -> None:
        super().__init__(message)
        self.entity_set = entity_set
        self.record_key = record_key(key) if key is not None else None


class Malformed(Exception):
    """A record the portal cannot read (a field missing or of the wrong kind): it goes to quarantine."""


#: What a record that cannot be read raises while it is converted (a bug elsewhere is not swallowed).
READ_ERRORS = (KeyError, ValueError, TypeError, ArithmeticError, AttributeError, Malformed)


def record_key(key: Any) -> str:
    """The ERP key of a record as one text ("USMF|US-001"), as stored with a quarantined record."""
    return "|".join("" if part is None else str(part) for part in _as_tuple(key))[:200]


@lru_cache(maxsize=4096)  # a page repeats its timestamps and dates many times
def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@lru_cache(maxsize=4096)
def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _erp(record: Record) -> dict[str, Any]:
    return {
        "erp_change_sequence": int(record["ChangeSequence"]),
        "erp_modified_at": _dt(record.get("ModifiedDateTime")),
    }


#: The longest IN list of a keyed read; longer lists are read in chunks. Lists are compiled for powers of
#: two, a shorter one repeating its last key: the same few SQL texts come back (compiled once here,
#: prepared once by the driver's statement cache), and the database matches at most twice the keys asked.
_KEY_LIST_MAX = 1024


@dataclass(frozen=True)
class _KeyedRead:
    """``SELECT columns WHERE <key> IN (<a list of one length>)``, compiled once and run on the DB-API
    cursor: SQLAlchemy's expanding IN (a bound value and a placeholder built per key), statement and Row
    objects cost three times the SQL itself (a page of lines' orders: 0.96 ms against 0.26 ms).

    A two-column key is read one value of its first column (a company) at a time, ``a = ? AND b IN (...)``,
    which uses the unique index on the key in both databases: SQLite answers a row-value IN with a scan of
    the whole table, and two IN lists of their own matched each order number in every company."""

    sql: str
    names: tuple[str, ...]  # bind names in the statement's order
    positional: bool  # qmark (SQLite: a tuple) or pyformat (psycopg: a dict)
    listed: tuple[str, ...]  # the bind names of the list

    @classmethod
    def of(cls, columns: Sequence[Any], key_cols: Sequence[Any], size: int, dialect: Dialect) -> _KeyedRead:
        if not 1 <= len(key_cols) <= 2:
            raise NotImplementedError("keys of one or two columns")
        listed = tuple(f"k{i}" for i in range(size))
        in_list = key_cols[-1].in_([bindparam(name) for name in listed])
        where = and_(key_cols[0] == bindparam("first"), in_list) if len(key_cols) == 2 else in_list
        compiled = select(*columns).where(where).compile(dialect=dialect)
        if bind_processors(compiled, dialect):
            raise NotImplementedError("key columns whose values the driver takes as they are")
        names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
        return cls(compiled.string, names, dialect.positional, listed)


_READS: dict[tuple[Any, ...], _KeyedRead] = {}
_MAX_COMPILED = 1000  # statements kept, of each kind
_T = TypeVar("_T")


def _compiled(kept: dict[tuple[Any, ...], _T], shape: tuple[Any, ...], compile_: Callable[[], _T]) -> _T:
    """The statement kept for ``shape``, compiled on first use (a full cache starts again empty)."""
    found = kept.get(shape)
    if found is None:
        if len(kept) >= _MAX_COMPILED:
            kept.clear()
        found = kept[shape] = compile_()
    return found


def rows_by_key(
    session: Session, columns: Sequence[Any], key_cols: Sequence[Any], keys: Collection[tuple]
) -> list[tuple]:
    """The rows whose ``key_cols`` equal one of ``keys`` (tuples), as the DB-API's tuples of ``columns``
    (columns of a table)."""
    dialect = session.get_bind().dialect
    statement = (dialect.name, dialect.paramstyle, tuple(map(str, columns)), tuple(map(str, key_cols)))
    groups: dict[Any, list[Any]] = {}
    for key in keys:
        groups.setdefault(key[0] if len(key) == 2 else None, []).append(key[-1])
    session.flush()  # as session.execute would (autoflush)
    connection = session.connection()
    found: list[tuple] = []
    for first, values in groups.items():
        for begin in range(0, len(values), _KEY_LIST_MAX):
            chunk = values[begin : begin + _KEY_LIST_MAX]
            size = 1 << (len(chunk) - 1).bit_length()
            read = _compiled(
                _READS, (*statement, size), partial(_KeyedRead.of, columns, key_cols, size, dialect)
            )
            params = dict(zip(read.listed, chunk + chunk[-1:] * (size - len(chunk)), strict=True))
            if len(key_cols) == 2:
                params["first"] = first
            bound = tuple(params[name] for name in read.names) if read.positional else params
            with connection.exec_driver_sql(read.sql, bound) as result:
                found += result.cursor.fetchall()
    return found


@dataclass(frozen=True)
class _LookUp:
    """One kind of look-up: the key columns, the value (a column, or a tuple of columns for rows with those
    fields as attributes) and the key of a record."""

    key_cols: tuple[Any, ...]
    value: Any
    keys: Callable[[Record], tuple]

    @cached_property
    def columns(self) -> tuple[Any, ...]:
        """What is read: the key columns, then the value's."""
        return (*self.key_cols, *(self.value if isinstance(self.value, tuple) else (self.value,)))

    @cached_property
    def make(self) -> Callable[[Sequence[Any]], Any]:
        """The value from a row of `columns`: the one value column, or a named tuple of them all."""
        if not isinstance(self.value, tuple):
            return itemgetter(len(self.key_cols))
        return namedtuple("Found", [column.key for column in self.columns])._make  # type: ignore[misc,attr-defined]


def _account_look_up(field: str) -> _LookUp:
    c = _ACCOUNTS.c
    return _LookUp(
        (c.legal_entity_id, c.account_number),
        (c.id, c.name, c.price_list_code, c.currency_code, c.country_region_id, c.language_id),
        lambda r: (r["dataAreaId"], r.get(field)),
    )


_LOOK_UPS: dict[str, _LookUp] = {
    "accounts:CustomerAccountNumber": _account_look_up("CustomerAccountNumber"),
    "accounts:OrderingCustomerAccountNumber": _account_look_up("OrderingCustomerAccountNumber"),
    "products": _LookUp(
        (_table(Product).c.legal_entity_id, _table(Product).c.item_number),
        _table(Product).c.id,
        itemgetter("dataAreaId", "ItemNumber"),  # (fields its entity sets require)
    ),
    "price_lists": _LookUp(
        (_table(PriceList).c.legal_entity_id, _table(PriceList).c.code),
        _table(PriceList).c.id,
        itemgetter("dataAreaId", "PriceCustomerGroupCode"),
    ),
    "contacts": _LookUp(
        (_table(Contact).c.erp_contact_id,), _table(Contact).c.id, lambda r: (r.get("ContactPersonId"),)
    ),
    "orders": _LookUp(
        (_table(SalesOrder).c.legal_entity_id, _table(SalesOrder).c.sales_order_number),
        _table(SalesOrder).c.id,
        itemgetter("dataAreaId", "SalesOrderNumber"),
    ),
}


class Lookups:
    """Batch look-ups of portal ids by ERP natural keys, one query per kind and page (made on first use;
    a converter asks once per record, so asking again costs a dictionary look-up)."""

    def __init__(self, session: Session, records: Sequence[Record]) -> None:
        self.session = session
        self.records = records
        self._cache: dict[str, dict[Any, Any]] = {}

    def _get(self, name: str) -> dict:
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = self._load(_LOOK_UPS[name])
        return found

    def _load(self, look_up: _LookUp) -> dict:
        """Values by key for every record of the page."""
        wanted = {k for k in map(look_up.keys, self.records) if None not in k}
        width, make = len(look_up.key_cols), look_up.make
        rows = rows_by_key(self.session, look_up.columns, look_up.key_cols, wanted)
        return {(row[:width] if width > 1 else row[0]): make(row) for row in rows}

    def accounts(self, field: str = "CustomerAccountNumber") -> dict[tuple[str, str], Any]:
        """Accounts by (company, account number): rows with the fields the converters read."""
        return self._get(f"accounts:{field}")

    def account_by_id(self, account_id: int | None) -> Any:
        if "accounts_by_id" not in self._cache:
            self._cache["accounts_by_id"] = {a.id: a for a in self.accounts().values()}
        return self._cache["accounts_by_id"].get(account_id)

    def products(self) -> dict[tuple[str, str], int]:
        return self._get("products")

    def price_lists(self) -> dict[tuple[str, str], int]:
        return self._get("price_lists")

    def contacts(self) -> dict[str, int]:
        return self._get("contacts")

    def orders(self) -> dict[tuple[str, str], int]:
        return self._get("orders")


def _memoized_dates(type_: Any, processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A bind processor, memoized for dates and times: SQLite formats them as text in Python, and a page
    repeats the same few (the pull's values are naive UTC, so equal values format equally)."""
    return lru_cache(maxsize=4096)(processor) if isinstance(type_, Date | DateTime) else processor


@dataclass(frozen=True)
class _CompiledWrite:
    """An INSERT or UPDATE compiled once for one set of columns, run as an executemany of values that
    SQLAlchemy's own bind processors have already converted, column by column.

    ``session.execute(stmt, rows)`` builds, checks and converts a parameter dict per row in Python
    (``construct_params`` and a bind processor call per value): that was most of the cost of writing a
    page of lines. Here each column is converted with one ``map`` over the page and the statement runs
    through ``exec_driver_sql`` (same connection and transaction, events and error wrapping kept).
    """

    sql: str
    names: tuple[str, ...]  # bind names in the statement's order
    positional: bool  # qmark (SQLite: tuples) or pyformat (psycopg: dicts)
    processors: dict[str, Callable[[Any], Any]]
    defaults: dict[str, Any]  # scalar Python-side column defaults of columns not given

    @classmethod
    def of(cls, stmt: ValuesBase, keys: tuple[str, ...], dialect: Dialect) -> _CompiledWrite:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        defaults: dict[str, Any] = {}  # what SQLAlchemy would fill in per row for a column not given
        prefetch = [(c, c.default) for c in compiled.insert_prefetch]
        prefetch += [(c, c.onupdate) for c in compiled.update_prefetch]
        for column, default in prefetch:
            if not isinstance(default, ColumnDefault) or not default.is_scalar:
                raise NotImplementedError(f"{column}: only scalar Python-side defaults are supported here")
            defaults[column.key] = default.arg
        processors = {
            name: _memoized_dates(compiled.binds[name].type, processor)
            for name, processor in bind_processors(compiled, dialect).items()
        }
        names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
        return cls(compiled.string, names, dialect.positional, processors, defaults)

    def execute(self, session: Session, rows: Sequence[dict[str, Any]], same: dict[str, Any]) -> None:
        """Run for every row; ``same`` holds values shared by all rows (an update's time stamp)."""
        if not rows:
            return
        columns: list[Any] = []
        for name in self.names:
            processor = self.processors.get(name)
            if name in rows[0]:
                column: Any = [row[name] for row in rows]
                columns.append(column if processor is None else map(processor, column))
            else:  # one value for every row, converted once
                value = same[name] if name in same else self.defaults[name]
                columns.append([value if processor is None else processor(value)] * len(rows))
        values: list[Any] = list(zip(*columns, strict=True))
        if not self.positional:
            values = [dict(zip(self.names, row, strict=True)) for row in values]
        session.flush()  # as session.execute would (autoflush): pending ORM changes go first
        session.connection().exec_driver_sql(self.sql, values)


_WRITES: dict[tuple[Any, ...], _CompiledWrite] = {}


def _write_many(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    upsert_on: tuple[str, ...] = (),
    **same: Any,
) -> None:
    """Insert ``rows`` into ``table``, or update them by primary key when they carry ``_pk``; ``same``
    holds values shared by every row. With ``upsert_on`` (a unique key), a row whose key exists updates
    it instead (every column but the key, and only while the stored change is not newer than the row's).
    One executemany per set of keys (usually one for all rows), each statement compiled once per
    dialect, table and columns."""
    if not rows:
        return
    first = tuple(rows[0])
    if any(tuple(row) != first for row in rows):
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for group in groups.values():
            _write_many(session, table, group, upsert_on=upsert_on, **same)
        return
    dialect = session.get_bind().dialect
    keys = (*first, *same)
    shape = (dialect.name, dialect.driver, dialect.paramstyle, table.name, keys, upsert_on)

    def compile_() -> _CompiledWrite:
        columns = tuple(k for k in keys if k != "_pk")
        stmt: ValuesBase
        if "_pk" in rows[0]:
            stmt = update(table).where(next(iter(table.primary_key)) == bindparam("_pk"))
        elif upsert_on:
            stmt = _upsert(table, dialect, columns, upsert_on)
        else:
            stmt = insert(table)
        return _CompiledWrite.of(stmt, columns, dialect)

    _compiled(_WRITES, shape, compile_).execute(session, rows, same)


def _upsert(table: Table, dialect: Dialect, columns: tuple[str, ...], key: tuple[str, ...]) -> ValuesBase:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET every other column, unless the row already holds a newer
    ERP change (SQLite and PostgreSQL spell it alike)."""
    if dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect.name}")
    stmt = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
    sequence = table.c.erp_change_sequence
    return stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={name: stmt.excluded[name] for name in columns if name not in key},
        where=or_(sequence.is_(None), sequence <= stmt.excluded.erp_change_sequence),
    )


def _as_tuple(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _need(mapping: dict, key: Any, what: str, entity_set: str) -> Any:
    try:
        return mapping[key]
    except KeyError:
        raise MissingReference(f"{what} {key} not in the portal yet", entity_set, key) from None


CUSTOMERS, PRODUCTS, PRICE_GROUPS, ORDERS = (
    "CustomersV3",
    "ReleasedProductsV2",
    "CustomerPriceGroups",
    "SalesOrderHeadersV2",
)


# --- one converter per entity set: ERP record -> portal column values (ERP-owned fields only) ---


def _legal_entity(r: Record, _: Lookups) -> dict[str, Any]:
    return {
        "id": r["LegalEntityId"],
        "name": r["Name"],
        "currency_code": r["CurrencyCode"],
        "language_id": r["LanguageId"],
        "country_region_id": r["AddressCountryRegionId"],
        **_erp(r),
    }


def _price_list(r: Record, _: Lookups) -> dict[str, Any]:
    return {
        "legal_entity_id": r["dataAreaId"],
        "code": r["PriceGroupId"],
        "name": r["Name"],
        "currency_code": r["CurrencyCode"],
        **_erp(r),
    }


def _customer(r: Record, _: Lookups) -> dict[str, Any]:
    return {
        "legal_entity_id": r["dataAreaId"],
        "account_number": r["CustomerAccount"],
        "name": r["OrganizationName"],
        "customer_group": r.get("CustomerGroupId"),
        "currency_code": r.get("SalesCurrencyCode"),
        "language_id": r.get("LanguageId"),
        "price_list_code": r.get("PriceCustomerGroupCode"),
        "invoice_account_number": r.get("InvoiceAccount"),
        "credit_limit": _dec(r.get("CreditLimit")),
        "on_hold_status": r.get("OnHoldStatus") or "No",
        "country_region_id": r.get("AddressCountryRegionId"),
        **_erp(r),
    }


def _address(r: Record, lk: Lookups) -> dict[str, Any]:
    account = _need(lk.accounts(), (r["dataAreaId"], r["CustomerAccountNumber"]), "customer", CUSTOMERS)
    return {
        "erp_location_id": r["AddressLocationId"],
        "customer_account_id": account.id,
        "description": r["AddressDescription"],
        "street": r.get("AddressStreet"),
        "city": r.get("AddressCity"),
        "zip_code": r.get("AddressZipCode"),
        "country_region_id": r["AddressCountryRegionId"],
        "is_primary": bool(r.get("IsPrimary")),
        "is_delivery": bool(r.get("IsRoleDelivery", True)),
        **_erp(r),
    }


def _contact(r: Record, lk: Lookups) -> dict[str, Any]:
    account = None
    if r.get("CustomerAccountNumber"):
        account = _need(lk.accounts(), (r["dataAreaId"], r["CustomerAccountNumber"]), "customer", CUSTOMERS)
    return {
        "erp_contact_id": r["ContactPersonId"],
        "email": r["PrimaryEmailAddress"].strip().lower(),
        "first_name": r.get("FirstName") or "",
        "last_name": r.get("LastName") or "",
        "customer_account_id": account.id if account else None,
        "language_id": r.get("LanguageId"),
        **_erp(r),
    }


def _contact_defaults(values: dict[str, Any], lk: Lookups) -> dict[str, Any]:
    """Readiness fields a new contact takes from its customer account (an administrator may change them)."""
    account = lk.account_by_id(values["customer_account_id"])
    if account is None:
        return values
    return {
        **values,
        "legal_entity_id": account.legal_entity_id,
        "price_list_code": account.price_list_code,
        "currency_code": account.currency_code,
        "ship_to_country_region_id": account.country_region_id,
        "language_id": values.get("language_id") or account.language_id,
    }


def _product(r: Record, _: Lookups) -> dict[str, Any]:
    return {
        "legal_entity_id": r["dataAreaId"],
        "item_number": r["ItemNumber"],
        "name": r["ProductName"],
        "product_group": r.get("ProductGroupId"),
        "default_sales_unit": r["SalesUnitSymbol"],
        "lifecycle_state": r.get("ProductLifecycleStateId") or "Active",
        **_erp(r),
    }


def _product_unit(r: Record, lk: Lookups) -> dict[str, Any]:
    return {
        "product_id": _need(lk.products(), (r["dataAreaId"], r["ItemNumber"]), "product", PRODUCTS),
        "unit_symbol": r["SalesUnitSymbol"],
        "conversion_factor": _dec(r.get("UnitConversionFactor")) or Decimal(1),
        "decimal_precision": int(r.get("UnitDecimalPrecision") or 0),
        **_erp(r),
    }


def _price_item(r: Record, lk: Lookups) -> dict[str, Any]:
    return {
        "erp_agreement_id": int(r["PriceAgreementId"]),
        "price_list_id": _need(
            lk.price_lists(), (r["dataAreaId"], r["PriceCustomerGroupCode"]), "price list", PRICE_GROUPS
        ),
        "item_number": r["ItemNumber"],
        "unit_symbol": r["QuantityUnitSymbol"],
        "currency_code": r["PriceCurrencyCode"],
        "price": _dec(r["Price"]),
        "valid_from": _date(r.get("PriceApplicableFromDate")),
        **_erp(r),
    }


def _order(r: Record, lk: Lookups) -> dict[str, Any]:
    account = _need(
        lk.accounts("OrderingCustomerAccountNumber"),
        (r["dataAreaId"], r["OrderingCustomerAccountNumber"]),
        "customer",
        CUSTOMERS,
    )
    contact_id = lk.contacts().get(r.get("ContactPersonId") or "")
    return {
        "legal_entity_id": r["dataAreaId"],
        "sales_order_number": r["SalesOrderNumber"],
        "customer_account_id": account.id,
        "ordering_customer_account_number": r["OrderingCustomerAccountNumber"],
        "invoice_customer_account_number": r.get("InvoiceCustomerAccountNumber"),
        "sales_order_name": r.get("SalesOrderName") or account.name,
        "currency_code": r["CurrencyCode"],
        "language_id": r["LanguageId"],
        "price_list_code": r.get("PriceCustomerGroupCode"),
        "contact_person_id": r.get("ContactPersonId"),
        "placed_by_contact_id": contact_id,
        "order_date": _dt(r["OrderCreatedDateTime"]),
        "requested_receipt_date": _date(r["RequestedReceiptDate"]),
        "confirmed_receipt_date": _date(r.get("ConfirmedReceiptDate")),
        "delivery_address_description": r["DeliveryAddressDescription"],
        "delivery_address_street": r.get("DeliveryAddressStreet"),
        "delivery_address_city": r.get("DeliveryAddressCity"),
        "delivery_address_zip_code": r.get("DeliveryAddressZipCode"),
        "delivery_address_country_region_id": r["DeliveryAddressCountryRegionId"],
        "customer_requisition_number": r.get("CustomerRequisitionNumber"),
        "origin_code": r.get("SalesOrderOriginCode"),
        "sales_status": r["SalesOrderStatus"],
        "document_status": r.get("DocumentStatus") or "None",
        "processing_status": r["SalesOrderProcessingStatus"],
        "total_amount": _dec(r.get("TotalAmount")) or Decimal(0),
        **_erp(r),
    }


def _order_defaults(values: dict[str, Any], record: Record) -> dict[str, Any]:
    from_portal = record.get("SalesOrderOriginCode") == "Portal"
    return {
        **values,
        "portal_order_id": record.get("PortalOrderId"),
        "origin": OrderOrigin.PORTAL if from_portal else OrderOrigin.ERP,
        "sync_state": SyncState.ACCEPTED,
    }


def _line(r: Record, lk: Lookups) -> dict[str, Any]:
    return {
        "order_id": _need(lk.orders(), (r["dataAreaId"], r["SalesOrderNumber"]), "sales order", ORDERS),
        "line_number": int(r["LineNumber"]),
        "item_number": r["ItemNumber"],
        "description": r.get("LineDescription"),
        "quantity": _dec(r["OrderedSalesQuantity"]),
        "confirmed_quantity": _dec(r.get("ConfirmedSalesQuantity")),
        "unit_symbol": r["SalesUnitSymbol"],
        "unit_price": _dec(r["SalesPrice"]),
        "line_amount": _dec(r["LineAmount"]),
        "currency_code": r["CurrencyCode"],
        "line_status": r["SalesOrderLineStatus"],
        "requested_receipt_date": _date(r["RequestedReceiptDate"]),
        "confirmed_receipt_date": _date(r.get("ConfirmedReceiptDate")),
        "delivery_address_description": r["DeliveryAddressDescription"],
        "delivery_address_country_region_id": r["DeliveryAddressCountryRegionId"],
        **_erp(r),
    }


@dataclass(frozen=True)
class EntitySync:
    """How one ERP entity set lands in one portal table.

    ``erp_key`` names a record in the quarantine; ``required`` are the fields a record must carry (not
    null) to be applied at all: the converters read optional fields leniently, so a record missing one
    of these would otherwise be applied with a silent default instead of being quarantined.
    """

    entity_set: str
    model: type[Base]
    key: tuple[str, ...]
    convert: Callable[[Record, Lookups], dict[str, Any]]
    erp_key: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @cached_property
    def required_of(self) -> Callable[[Record], tuple]:
        """The required fields of a record, as a tuple (KeyError when one is absent)."""
        return _tuple_getter(self.required)


_ORDER_FIELDS = (
    "dataAreaId",
    "SalesOrderNumber",
    "OrderingCustomerAccountNumber",
    "InvoiceCustomerAccountNumber",
    "SalesOrderName",
    "CurrencyCode",
    "LanguageId",
    "RequestedReceiptDate",
    "DeliveryAddressDescription",
    "DeliveryAddressStreet",
    "DeliveryAddressCity",
    "DeliveryAddressZipCode",
    "DeliveryAddressCountryRegionId",
    "SalesOrderOriginCode",
    "SalesOrderStatus",
    "SalesOrderProcessingStatus",
    "DocumentStatus",
    "OrderCreatedDateTime",
    "TotalAmount",
)
_LINE_FIELDS = (
    "dataAreaId",
    "SalesOrderNumber",
    "LineNumber",
    "ItemNumber",
    "LineDescription",
    "OrderedSalesQuantity",
    "SalesUnitSymbol",
    "SalesPrice",
    "LineAmount",
    "CurrencyCode",
    "SalesOrderLineStatus",
    "RequestedReceiptDate",
    "DeliveryAddressDescription",
    "DeliveryAddressCountryRegionId",
)
ENTITY_SYNCS: tuple[EntitySync, ...] = (  # in dependency order
    EntitySync(
        "LegalEntities", LegalEntity, ("id",), _legal_entity, ("LegalEntityId",),
        ("LegalEntityId", "Name", "CurrencyCode", "LanguageId", "AddressCountryRegionId"),
    ),
    EntitySync(
        PRICE_GROUPS, PriceList, ("legal_entity_id", "code"), _price_list, ("dataAreaId", "PriceGroupId"),
        ("dataAreaId", "PriceGroupId", "Name", "CurrencyCode"),
    ),
    EntitySync(
        CUSTOMERS, CustomerAccount, ("legal_entity_id", "account_number"), _customer,
        ("dataAreaId", "CustomerAccount"),
        ("dataAreaId", "CustomerAccount", "OrganizationName", "CustomerGroupId", "SalesCurrencyCode",
         "LanguageId", "InvoiceAccount", "CreditLimit", "OnHoldStatus", "AddressCountryRegionId"),
    ),
    EntitySync(
        "CustomerPostalAddresses", DeliveryAddress, ("erp_location_id",), _address, ("AddressLocationId",),
        ("dataAreaId", "CustomerAccountNumber", "AddressLocationId", "AddressDescription", "AddressStreet",
         "AddressCity", "AddressZipCode", "AddressCountryRegionId", "IsPrimary", "IsRoleDelivery"),
    ),
    EntitySync(
        "ContactPersonsV2", Contact, ("erp_contact_id",), _contact, ("ContactPersonId",),
        ("dataAreaId", "ContactPersonId", "FirstName", "LastName", "PrimaryEmailAddress",
         "CustomerAccountNumber", "LanguageId"),
    ),
    EntitySync(
        PRODUCTS, Product, ("legal_entity_id", "item_number"), _product, ("dataAreaId", "ItemNumber"),
        ("dataAreaId", "ItemNumber", "ProductName", "ProductGroupId", "SalesUnitSymbol",
         "ProductLifecycleStateId"),
    ),
    EntitySync(
        "ReleasedProductSalesUnits", ProductUnit, ("product_id", "unit_symbol"), _product_unit,
        ("dataAreaId", "ItemNumber", "SalesUnitSymbol"),
        ("dataAreaId", "ItemNumber", "SalesUnitSymbol", "UnitConversionFactor", "UnitDecimalPrecision"),
    ),
    EntitySync(
        "SalesPriceAgreements", PriceListItem, ("erp_agreement_id",), _price_item, ("PriceAgreementId",),
        ("dataAreaId", "PriceAgreementId", "PriceCustomerGroupCode", "ItemNumber", "QuantityUnitSymbol",
         "PriceCurrencyCode", "Price", "PriceApplicableFromDate"),
    ),
    EntitySync(
        ORDERS, SalesOrder, ("legal_entity_id", "sales_order_number"), _order,
        ("dataAreaId", "SalesOrderNumber"), _ORDER_FIELDS,
    ),
    EntitySync(
        "SalesOrderLines", SalesOrderLine, ("order_id", "line_number"), _line,
        ("dataAreaId", "SalesOrderNumber", "LineNumber"), _LINE_FIELDS,
    ),
)  # fmt: skip


@dataclass
class PageResult:
    applied: int = 0
    last_sequence: int = 0
    stopped: str | None = None  # why the pull stopped early (a missing reference)
    quarantined: int = 0


def _check_shape(spec: EntitySync, record: Any) -> None:
    """Raise Malformed unless the record is an object with every required field and a ChangeSequence."""
    if not isinstance(record, dict):
        raise Malformed(f"not a record but {type(record).__name__}")
    try:
        complete = None not in spec.required_of(record)  # (one C call for the usual, complete record)
    except KeyError:
        complete = False
    if not complete:
        missing = [name for name in spec.required if record.get(name) is None]
        raise Malformed(f"required field {', '.join(missing)} missing")
    try:
        int(record["ChangeSequence"])
    except (KeyError, TypeError, ValueError):
        raise Malformed("ChangeSequence missing or not a number") from None


def _tuple_getter(keys: Sequence[Any]) -> Callable[[Any], tuple]:
    """itemgetter that returns a tuple for any number of keys."""
    if len(keys) > 1:
        return itemgetter(*keys)
    return lambda item: tuple(item[key] for key in keys)


class _Changes:
    """Which ERP-owned columns of a row change: the new values, in the form the DB-API stores and returns
    them (SQLAlchemy's bind processors: on SQLite a Decimal becomes a float, a date its text), compared
    with the current row read without result processing (most of the cost of reading a page of orders).
    Columns stored as given are compared as one tuple first (a C loop); the few converted ones each."""

    def __init__(self, table: Table, dialect: Dialect, owned: tuple[str, ...]) -> None:
        processors = {}
        for name in owned:
            type_ = table.c[name].type
            processor = type_.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = _memoized_dates(type_, processor)
        plain = [i for i, name in enumerate(owned) if name not in processors]
        self.plain_names = tuple(owned[i] for i in plain)
        self.new_plain = _tuple_getter(self.plain_names)
        self.old_plain = _tuple_getter(plain)
        self.converted = tuple((name, owned.index(name), processor) for name, processor in processors.items())

    def of(self, values: dict[str, Any], old: Sequence[Any]) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        new_plain, old_plain = self.new_plain(values), self.old_plain(old)
        if new_plain != old_plain:
            for name, new, was in zip(self.plain_names, new_plain, old_plain, strict=True):
                if new != was:
                    changed[name] = new
        for name, index, processor in self.converted:
            new = values[name]
            if (new if new is None else processor(new)) != old[index]:
                changed[name] = new
        return changed


@lru_cache(maxsize=64)
def _changes(table: Table, dialect: Dialect, owned: tuple[str, ...]) -> _Changes:
    return _Changes(table, dialect, owned)


@cache
def _indexed_columns(table: Table) -> frozenset[str]:
    """The columns of ``table`` in any index or unique constraint (SQLite rewrites an index entry for
    every column an UPDATE sets, changed or not)."""
    names = {col.key for index in table.indexes for col in index.columns}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            names.update(col.key for col in constraint.columns)
    return frozenset(names)


@cache
def _text_limits(table: Table) -> tuple[tuple[str, int | None], ...]:
    """The text columns of a portal table and their length limits (None: unlimited)."""
    return tuple((col.key, col.type.length) for col in table.columns if isinstance(col.type, String))


_NONE_TYPE = type(None)
#: Text columns a converter leaves out because they are set on insert only (`_order_defaults`), checked with
#: the converted fields all the same: (portal column, ERP field) by model.
_INSERT_ONLY_TEXT: dict[type[Base], tuple[str, str]] = {SalesOrder: ("portal_order_id", "PortalOrderId")}


def _texts_fit(spec: EntitySync, converted: Sequence[tuple[Record, dict[str, Any]]]) -> bool:
    """Whether every text of a converted page is text and fits its column: checked a column at a time in
    loops that run in C (`_check_text`, a record at a time, cost 14 us per order); a page that does not
    fit is then checked record by record to find the ones that do not."""
    if not converted:
        return True
    first = converted[0][1]
    pages = [values for _, values in converted]
    insert_only, erp_field = _INSERT_ONLY_TEXT.get(spec.model, ("", ""))
    for name, limit in _text_limits(cast(Table, spec.model.__table__)):
        if name == insert_only:
            column = list(map(methodcaller("get", erp_field), (record for record, _ in converted)))
        elif name in first:  # (a converter gives every record the same fields)
            column = list(map(itemgetter(name), pages))
        else:
            continue
        if not {str, _NONE_TYPE}.issuperset(map(type, column)):
            return False
        if limit is not None and max(map(len, filter(None, column)), default=0) > limit:
            return False
    return True


def _check_text(spec: EntitySync, record: Record, values: dict[str, Any]) -> None:
    """Raise Malformed for a text the portal cannot keep whole: longer than its column (PostgreSQL would
    refuse the whole batch, SQLite would keep it whole regardless) or not text at all."""
    fields = values
    if spec.model in _INSERT_ONLY_TEXT:
        insert_only, erp_field = _INSERT_ONLY_TEXT[spec.model]
        fields = {**values, insert_only: record.get(erp_field)}
    for name, limit in _text_limits(cast(Table, spec.model.__table__)):
        value = fields.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise Malformed(f"{_erp_field(record, name, value)} is not text but {type(value).__name__}")
        if limit is not None and len(value) > limit:
            field = _erp_field(record, name, value)
            raise Malformed(f"{field} is {len(value)} characters; the portal keeps at most {limit}")


def _erp_field(record: Record, column: str, value: Any) -> str:
    """The ERP field a converted value came from (the portal column's name when it cannot be told)."""
    wanted = value.strip().lower() if isinstance(value, str) else value
    for name, candidate in record.items():
        if candidate == value or (isinstance(candidate, str) and candidate.strip().lower() == wanted):
            return str(name)
    return column


def _quarantine(session: Session, spec: EntitySync, record: Any, reason: str) -> int | None:
    """Keep an unreadable record with the reason (for administrators); return its ChangeSequence."""
    fields = record if isinstance(record, dict) else {"value": record}
    try:
        sequence: int | None = int(fields["ChangeSequence"])
    except (KeyError, TypeError, ValueError):
        sequence = None
    key = record_key(tuple(fields.get(name) for name in spec.erp_key)) if spec.erp_key else None
    session.add(
        QuarantinedRecord(
            entity_set=spec.entity_set,
            record_key=key,
            change_sequence=sequence,
            reason=reason[:2000],
            record=json.loads(json.dumps(fields, default=str)),
            quarantined_at=_now(),
        )
    )
    log.warning("quarantined %s record %s: %s", spec.entity_set, key, reason)
    return sequence


def _is_quarantined(session: Session, missing: MissingReference) -> bool:
    """Whether a missing reference is a record the pull quarantined (it will not arrive by waiting)."""
    if not missing.entity_set or missing.record_key is None:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    QuarantinedRecord.entity_set == missing.entity_set,
                    QuarantinedRecord.record_key == missing.record_key,
                    QuarantinedRecord.resolved_at.is_(None),
                )
            )
        )
    )


def _convert_page(
    session: Session, spec: EntitySync, records: Sequence[Record], result: PageResult
) -> tuple[Lookups, list[tuple[Record, dict[str, Any]]]]:
    """Convert a page; malformed records go to quarantine and the batch continues (R9).

    The shape check comes first, for the whole page: the look-ups read the key fields of every record,
    so one record without them must not spoil the others.
    """

    def reject(record: Any, reason: str) -> None:
        sequence = _quarantine(session, spec, record, reason)
        result.quarantined += 1
        if sequence is not None:
            result.last_sequence = max(result.last_sequence, sequence)

    readable: list[Record] = []
    problems: dict[int, str] = {}
    for index, record in enumerate(records):
        try:
            _check_shape(spec, record)
            readable.append(record)
        except Malformed as exc:
            problems[index] = f"Malformed: {exc}"
    lookups = Lookups(session, readable)
    converted: list[tuple[Record, dict[str, Any]]] = []
    for index, record in enumerate(records):
        reason = problems.get(index)
        if reason is None:
            try:
                converted.append((record, spec.convert(record, lookups)))
                continue
            except MissingReference as exc:
                if not _is_quarantined(session, exc):
                    result.stopped = str(exc)
                    break
                reason = f"refers to a quarantined record: {exc}"
            except READ_ERRORS as exc:
                reason = f"{type(exc).__name__}: {exc}"
        reject(record, reason)
    if _texts_fit(spec, converted):
        return lookups, converted
    kept = []
    for record, values in converted:  # find the records that do not fit
        try:
            _check_text(spec, record, values)
            kept.append((record, values))
        except Malformed as exc:
            reject(record, f"Malformed: {exc}")
    return lookups, kept


def _match_portal_orders(
    session: Session, latest: dict[tuple, tuple[Record, dict[str, Any]]], existing: dict[tuple, Any]
) -> None:
    """Portal orders the ERP accepted arrive with their PortalOrderId: the portal row gets the ERP number
    (and the "accepted" event once, whether the push or the pull sees the acceptance first)."""
    wanted = {
        str(record["PortalOrderId"]): key
        for key, (record, _values) in latest.items()
        if key not in existing and record.get("PortalOrderId")
    }
    if not wanted:
        return
    rows = session.execute(
        select(
            SalesOrder.portal_order_id,
            SalesOrder.id,
            SalesOrder.processing_status,
            SalesOrder.placed_by_contact_id,
            SalesOrder.erp_change_sequence,
        ).where(SalesOrder.portal_order_id.in_(sorted(wanted)))
    ).all()
    for portal_id, order_id, status, placed_by, sequence in rows:
        key = wanted[str(portal_id)]
        mark_order_accepted(session, order_id, latest[key][1]["sales_order_number"], _now())
        existing[key] = (order_id, status, placed_by, sequence)


def _match_portal_contacts(
    session: Session, latest: dict[tuple, tuple[Record, dict[str, Any]]], existing: dict[tuple, Any]
) -> None:
    """A contact created in the portal arrives from the ERP before the push has stored its ERP id (the
    answer was lost): the same e-mail address without an ERP id is that contact, not a new one."""
    wanted = {values["email"]: key for key, (_r, values) in latest.items() if key not in existing}
    if not wanted:
        return
    rows = session.execute(
        select(Contact.email, Contact.id, Contact.erp_change_sequence).where(
            Contact.email.in_(sorted(wanted)), Contact.erp_contact_id.is_(None)
        )
    ).all()
    for email, *found in rows:
        existing[wanted[email]] = tuple(found)


def apply_page(session: Session, spec: EntitySync, records: Sequence[Record]) -> PageResult:
    """Upsert one page and report the last change sequence it fully applied (caller moves the cursor).

    ERP-owned fields win, but never with an older change than the row already has (a reconciliation or a
    later page may have applied a newer one).
    """
    result = PageResult()
    lookups, converted = _convert_page(session, spec, records, result)
    if not converted:
        return result

    table = cast(Table, spec.model.__table__)
    owned = [name for name in converted[0][1] if name not in spec.key]
    # A table whose rows show when they were updated, or with an index on an ERP-owned column, compares
    # first. Any other (order lines) is written whole, with one upsert per page that checks the change
    # sequence itself: no look-up of the existing rows at all. The page is in change order, so a later
    # change of the same record wins: the upserts run in that order, the comparison keeps the last.
    if "updated_at" in table.c or not _indexed_columns(table).isdisjoint(owned):
        key_of = _tuple_getter(spec.key)
        latest = {key_of(values): (record, values) for record, values in converted}
        _apply_compared(session, spec, lookups, latest, owned)
    else:
        _write_many(session, table, [values for _, values in converted], upsert_on=spec.key)
    result.applied = len(converted)
    result.last_sequence = max(result.last_sequence, *(v["erp_change_sequence"] for _, v in converted))
    _resolve_quarantined(session, spec, [record for record, _ in converted])
    return result


def _apply_compared(
    session: Session,
    spec: EntitySync,
    lookups: Lookups,
    latest: dict[tuple, tuple[Record, dict[str, Any]]],
    owned: list[str],
) -> None:
    """Insert the new rows; update the existing ones.

    SQLite rewrites the entries of every index on a column an UPDATE sets, changed or not, so the indexed
    ERP-owned columns are read along and written only when they changed. The others are written whole
    whenever the ERP sends a newer change (reading and comparing them cost more than writing them: the
    row is rewritten anyway). A change the row already holds (a repair sends it again) is compared in
    full and writes only what differs. The key columns of a row found by its key are equal by definition.
    """
    table = cast(Table, spec.model.__table__)
    key_cols = [table.c[k] for k in spec.key]
    pk = next(iter(table.primary_key))
    is_order = spec.model is SalesOrder
    extra = [table.c.processing_status, table.c.placed_by_contact_id] if is_order else []
    indexed = _indexed_columns(table)
    checked = tuple(name for name in owned if name in indexed)
    written = tuple(name for name in owned if name not in indexed)
    written_of = _tuple_getter(written)
    dialect = session.get_bind().dialect
    width = 2 + len(extra)  # pk, extra, sequence; then the `checked` values (none: a matched portal row)
    sequence_at = width - 1
    existing = _stored(session, key_cols, latest, [pk, *extra, table.c.erp_change_sequence], checked)
    again = {
        k
        for k, found in existing.items()
        if found[sequence_at] in (None, latest[k][1]["erp_change_sequence"])
    }
    current = _stored(session, key_cols, again, [], tuple(owned)) if again else {}
    if is_order:
        _match_portal_orders(session, latest, existing)
    elif spec.model is Contact:
        _match_portal_contacts(session, latest, existing)

    inserts: list[tuple[Record, dict[str, Any]]] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns that change
    status_changes: list[tuple[int, str, str, datetime | None]] = []
    changes = _changes(table, dialect, checked)
    all_changes = _changes(table, dialect, tuple(owned))
    for key, (record, values) in latest.items():
        if key not in existing:
            inserts.append((record, values))
            continue
        found = existing[key]
        if found[sequence_at] is not None and found[sequence_at] > values["erp_change_sequence"]:
            continue  # the row already holds a newer ERP change
        if is_order:
            if values["placed_by_contact_id"] is None:  # portal bookkeeping the ERP does not know
                values = {**values, "placed_by_contact_id": found[2]}
            if found[1] != values["processing_status"]:
                status_changes.append(
                    (found[0], found[1], values["processing_status"], values["erp_modified_at"])
                )
        if key in current:
            changed = all_changes.of(values, current[key])
        elif len(found) == width:  # a portal row matched by its portal id or e-mail gets every field
            changed = values
        else:
            changed = changes.of(values, found[width:])
            changed.update(zip(written, written_of(values), strict=True))
        if changed:
            updates.setdefault(tuple(changed), []).append({**changed, "_pk": found[0]})

    if spec.model is Contact:
        rows = [_contact_defaults(v, lookups) for _, v in inserts]
    elif is_order:
        rows = [_order_defaults(v, r) for r, v in inserts]
    else:
        rows = [v for _, v in inserts]
    # Core inserts (executemany in batches): the ORM's bulk path would fetch server defaults row by row.
    if rows and is_order:
        # No RETURNING: with the rows' order kept, SQLAlchemy runs it one INSERT per row on SQLite. One
        # executemany and one indexed look-up of the new ids by their ERP keys cost far less.
        _write_many(session, table, rows)
        new_keys = [(v["legal_entity_id"], v["sales_order_number"]) for v in rows]
        new_ids = {
            (area, number): order_id
            for area, number, order_id in rows_by_key(session, [*key_cols, table.c.id], key_cols, new_keys)
        }
        events = [_first_event(new_ids[v["legal_entity_id"], v["sales_order_number"]], v) for v in rows]
        _write_many(session, _ORDER_EVENTS, events)
    elif rows:
        _write_many(session, table, rows)
    # Core updates bypass the ORM's onupdate: rows with an updated_at get the time of applying, which
    # the sync health page's lag chart reads (updated_at - erp_modified_at).
    stamp: dict[str, Any] = {"updated_at": _now()} if "updated_at" in table.c else {}
    for params in updates.values():  # one executemany per set of changed columns (SET from the keys)
        _write_many(session, table, params, **stamp)
    if status_changes:
        _write_many(
            session,
            _ORDER_EVENTS,
            [
                {
                    "order_id": order_id,
                    "occurred_at": at or _now(),
                    "kind": "status_changed",
                    "from_status": old,
                    "to_status": new,
                }
                for order_id, old, new, at in status_changes
            ],
        )


def _stored(
    session: Session, key_cols: list[Any], keys: Collection[tuple], columns: list[Any], names: tuple[str, ...]
) -> dict[tuple, tuple]:
    """By key, for the rows with one of ``keys``: ``columns``, then the values of the columns ``names``
    as stored (the DB-API's: compared with new values that the bind processors converted alike)."""
    table = key_cols[0].table
    width = len(key_cols)
    rows = rows_by_key(session, [*key_cols, *columns, *(table.c[name] for name in names)], key_cols, keys)
    return {row[:width]: row[width:] for row in rows}


def _resolve_quarantined(session: Session, spec: EntitySync, applied: Sequence[Record]) -> None:
    """A quarantined record that has now arrived in good shape (the ERP changed it again) is resolved."""
    open_rows = select(
        exists().where(
            QuarantinedRecord.entity_set == spec.entity_set, QuarantinedRecord.resolved_at.is_(None)
        )
    )
    if not spec.erp_key or not session.scalar(open_rows):
        return
    keys = sorted({record_key(tuple(r.get(name) for name in spec.erp_key)) for r in applied})
    for first in range(0, len(keys), 500):
        session.execute(
            update(QuarantinedRecord)
            .where(
                QuarantinedRecord.entity_set == spec.entity_set,
                QuarantinedRecord.resolved_at.is_(None),
                QuarantinedRecord.record_key.in_(keys[first : first + 500]),
            )
            .values(resolved_at=_now())
            .execution_options(synchronize_session=False)
        )


def quarantined_records(
    session: Session, principal: Principal, *, limit: int = 200, include_resolved: bool = False
) -> list[QuarantinedRecord]:
    """The quarantine for the administrators' error list, newest first (nobody else sees sync data)."""
    if not principal.is_admin:
        return []
    stmt = select(QuarantinedRecord).order_by(QuarantinedRecord.id.desc()).limit(limit)
    if not include_resolved:
        stmt = stmt.where(QuarantinedRecord.resolved_at.is_(None))
    return list(session.scalars(stmt))


def _first_event(order_id: int, values: dict[str, Any]) -> dict[str, Any]:
    number = values["sales_order_number"]
    if values["origin"] == OrderOrigin.PORTAL:
        kind, detail = "accepted", f"Accepted by the ERP as {number}"
    else:
        kind, detail = "created_in_erp", f"Entered in the ERP ({values.get('origin_code') or 'ERP'})"
    return {
        "order_id": order_id,
        "occurred_at": values["order_date"],
        "kind": kind,
        "to_status": values["processing_status"],
        "detail": detail,
    }


@dataclass
class PullSummary:
    applied: dict[str, int] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.applied.values())


def _cursor(session: Session, entity_set: str) -> SyncCursor:
    cursor = session.get(SyncCursor, entity_set)
    if cursor is None:
        cursor = SyncCursor(entity_set=entity_set, last_sequence=0)
        session.add(cursor)
    return cursor


_DONE = object()


def prefetched(pages: Iterator[list[Record]], depth: int = 2) -> Iterator[list[Record]]:
    """Read the next pages over HTTP on a thread while the current page is being applied."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                if stop.is_set():
                    return
                queue.put(page)
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)

    reader = threading.Thread(target=produce, name="erp-page-reader", daemon=True)
    reader.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # let a reader blocked on a full queue finish
            try:
                queue.get_nowait()
            except Empty:
                reader.join(0.05)


def pull_entity_set(
    factory: sessionmaker[Session], client: ErpClient, spec: EntitySync, *, page_size: int = PAGE_SIZE
) -> PageResult:
    """Follow one entity set from its cursor to the end; one transaction per page."""
    with factory() as session:
        start = _cursor(session, spec.entity_set).last_sequence
    total = PageResult(last_sequence=start)
    for records in prefetched(client.iter_pages(spec.entity_set, after_sequence=start, top=page_size)):
        if not records:
            break
        stopped = False
        # An ERP that ignores $top must not make a transaction bigger than page_size records.
        for first in range(0, len(records), page_size):
            page = _apply_batch(factory, spec, records[first : first + page_size])
            total.applied += page.applied
            total.quarantined += page.quarantined
            total.last_sequence = max(total.last_sequence, page.last_sequence)
            if page.stopped:
                total.stopped = page.stopped
                log.info("pull of %s stops for now: %s", spec.entity_set, page.stopped)
                stopped = True
                break
        if stopped:
            break
    return total


def _apply_batch(factory: sessionmaker[Session], spec: EntitySync, records: Sequence[Record]) -> PageResult:
    """One transaction: the applied records, the quarantined ones and the cursor move together."""
    with factory() as session, session.begin():
        prepare_bulk_write(session)
        page = apply_page(session, spec, records)
        if page.last_sequence:
            cursor = _cursor(session, spec.entity_set)
            if page.last_sequence > cursor.last_sequence:
                cursor.last_sequence = page.last_sequence
                cursor.updated_at = _now()
    return page


def pull_all(factory: sessionmaker[Session], client: ErpClient, *, kind: str = "pull") -> PullSummary:
    """Pull every entity set in dependency order and record the run.

    Idle pulls (nothing changed) extend the previous idle run instead of adding a row every interval,
    so the run history stays small while `finished_at` still says when the ERP was last checked.
    """
    started = _now()
    summary = PullSummary()
    status, detail = "ok", None
    try:
        for spec in ENTITY_SYNCS:
            page = pull_entity_set(factory, client, spec)
            summary.applied[spec.entity_set] = page.applied
            if page.quarantined:
                summary.quarantined[spec.entity_set] = page.quarantined
            if page.stopped:
                summary.stopped[spec.entity_set] = page.stopped
    except Exception as exc:
        status, detail = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        _record_run(factory, kind, started, status, summary.total, detail)
    return summary


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record_run(
    factory: sessionmaker[Session],
    kind: str,
    started: datetime,
    status: str,
    applied: int,
    detail: str | None,
) -> None:
    with factory() as session, session.begin():
        last = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()
        idle = status == "ok" and applied == 0
        if idle and last and (last.kind, last.status, last.records_applied) == (kind, "ok", 0):
            last.finished_at = _now()
            return
        session.add(
            SyncRun(
                kind=kind,
                started_at=started,
                finished_at=_now(),
                status=status,
                records_read=applied,
                records_applied=applied,
                errors=int(status == "failed"),
                detail=detail,
            )
        )


def needs_initial_sync(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return session.scalar(select(SyncCursor.entity_set).limit(1)) is None
