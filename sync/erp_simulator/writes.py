"""The simulated ERP's write side: sales orders and contact persons created through the API.

An ERP validates what it is sent and answers a retried request as it answered the first one: an order
is found again by its ``PortalOrderId`` (unique), a refusal by the idempotency key it was given
(``erp_idempotency_keys``). Every write takes its ChangeSequence values first, in its own transaction:
that row lock (PostgreSQL) or write lock (SQLite) serialises writers, so two posts of the same key
never both insert, and the pull never sees a lower sequence commit after a higher one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .demo_data import CENT
from .store import (
    CONTACT_SEQUENCE,
    SALES_ORDER_SEQUENCE,
    advance_counter,
    allocate,
    contact_persons,
    customers,
    format_sales_order_number,
    idempotency_keys,
    next_change_sequence,
    product_sales_units,
    released_products,
    sales_order_headers,
    sales_order_lines,
)

ORDERS = "SalesOrderHeadersV2"
CONTACTS = "ContactPersonsV2"
#: Sales statuses whose value still counts against the credit limit (not invoiced, not canceled).
OPEN_SALES_STATUSES = ("Backorder", "Delivered")
#: Customer hold codes that block new sales orders ("Invoice" only blocks invoicing).
BLOCKING_HOLDS = ("All", "Yes")
MAX_LINES = 500


class BadPayload(Exception):
    """The request body is not a valid document (400): a client bug, not a business refusal."""


class Rejected(Exception):
    """A business refusal (422) in words a customer understands; remembered for the idempotency key."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(Exception):
    """The addressed record does not exist (404)."""


@dataclass(frozen=True)
class WriteResult:
    """A created (201) or found-again (200) record: the header row and, for orders, its lines."""

    status: int
    row: Any  # a RowMapping or the dict just inserted
    lines: Sequence[Any] = ()


# --- reading the payload -------------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 250) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadPayload(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{name} must be text.")
    if len(value) > limit:
        raise BadPayload(f"{name} is longer than {limit} characters.")
    return value.strip()


def _decimal(body: Mapping[str, Any], name: str) -> Decimal:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadPayload(f"{name} must be a decimal number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadPayload(f"{name} must be a decimal number.") from None
    if not number.is_finite():
        raise BadPayload(f"{name} must be a decimal number.")
    return number


def _date(body: Mapping[str, Any], name: str, default: date | None = None) -> date:
    value = body.get(name)
    if value is None and default is not None:
        return default
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BadPayload(f"{name} must be a date (YYYY-MM-DD).") from None


def order_key(body: Mapping[str, Any], header_key: str | None) -> str:
    """The idempotency key: body field PortalOrderId and/or header Idempotency-Key, which must agree."""
    body_key = body.get("PortalOrderId")
    if body_key is not None and not isinstance(body_key, str):
        raise BadPayload("PortalOrderId must be text.")
    if body_key and header_key and body_key != header_key:
        raise BadPayload("PortalOrderId and the Idempotency-Key header differ.")
    key = (body_key or header_key or "").strip()
    if not key or len(key) > 36:
        raise BadPayload("PortalOrderId (or an Idempotency-Key header) of at most 36 characters is required.")
    return key


# --- sales orders ----------------------------------------------------------------------------------


def _order_rows(conn: Connection, number_filter: Any) -> tuple[RowMapping, list[RowMapping]] | None:
    header = conn.execute(select(sales_order_headers).where(number_filter)).mappings().first()
    if header is None:
        return None
    lines = (
        conn.execute(
            select(sales_order_lines)
            .where(
                sales_order_lines.c.dataAreaId == header["dataAreaId"],
                sales_order_lines.c.SalesOrderNumber == header["SalesOrderNumber"],
            )
            .order_by(sales_order_lines.c.LineNumber)
        )
        .mappings()
        .all()
    )
    return header, list(lines)


def find_order(conn: Connection, key: str) -> WriteResult | None:
    """The order a portal key created, as it is now (200)."""
    found = _order_rows(conn, sales_order_headers.c.PortalOrderId == key)
    return WriteResult(200, found[0], found[1]) if found else None


def remembered_reject(conn: Connection, key: str) -> Rejected | None:
    row = conn.execute(
        select(idempotency_keys.c.ErrorCode, idempotency_keys.c.ErrorMessage).where(
            idempotency_keys.c.IdempotencyKey == key, idempotency_keys.c.StatusCode == 422
        )
    ).first()
    return Rejected(row[0], row[1]) if row else None


def _remember_reject(conn: Connection, key: str, entity_set: str, reject: Rejected, now: datetime) -> None:
    conn.execute(
        insert(idempotency_keys).values(
            IdempotencyKey=key,
            EntitySet=entity_set,
            StatusCode=422,
            ErrorCode=reject.code,
            ErrorMessage=reject.message[:500],
            CreatedDateTime=now,
        )
    )


@dataclass(frozen=True)
class OrderLine:
    number: int
    item: str
    description: str | None
    quantity: Decimal
    unit: str
    price: Decimal
    requested: date
    address: str
    country: str


def _parse_lines(body: Mapping[str, Any], requested: date, address: str, country: str) -> list[OrderLine]:
    raw = body.get("SalesOrderLines")
    if not isinstance(raw, list) or not raw:
        raise BadPayload("SalesOrderLines must list at least one line.")
    if len(raw) > MAX_LINES:
        raise BadPayload(f"An order has at most {MAX_LINES} lines.")
    lines, numbers = [], set()
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise BadPayload("Every sales order line must be an object.")
        number = item.get("LineNumber", index)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1 or number in numbers:
            raise BadPayload("LineNumber must be a distinct positive integer.")
        numbers.add(number)
        lines.append(
            OrderLine(
                number=number,
                item=str(_text(item, "ItemNumber", limit=20)),
                description=_text(item, "LineDescription", required=False),
                quantity=_decimal(item, "OrderedSalesQuantity"),
                unit=str(_text(item, "SalesUnitSymbol", limit=10)),
                price=_decimal(item, "SalesPrice"),
                requested=_date(item, "RequestedReceiptDate", requested),
                address=_text(item, "DeliveryAddressDescription", required=False, limit=120) or address,
                country=_text(item, "DeliveryAddressCountryRegionId", required=False, limit=3) or country,
            )
        )
    return lines


def _validate_customer(conn: Connection, area: str, account: str) -> RowMapping:
    customer = (
        conn.execute(
            select(customers).where(customers.c.dataAreaId == area, customers.c.CustomerAccount == account)
        )
        .mappings()
        .first()
    )
    if customer is None:
        raise Rejected("CustomerNotFound", f"Customer account {account} does not exist in company {area}.")
    return customer


def _validate_lines(conn: Connection, area: str, lines: Sequence[OrderLine]) -> dict[str, str]:
    """Each product released to the company and not discontinued, in one of its sales units; names back."""
    items = sorted({line.item for line in lines})
    products = {
        row.ItemNumber: row
        for row in conn.execute(
            select(
                released_products.c.ItemNumber,
                released_products.c.ProductName,
                released_products.c.ProductLifecycleStateId,
            ).where(released_products.c.dataAreaId == area, released_products.c.ItemNumber.in_(items))
        )
    }
    units = {
        (row.ItemNumber, row.SalesUnitSymbol): int(row.UnitDecimalPrecision)
        for row in conn.execute(
            select(
                product_sales_units.c.ItemNumber,
                product_sales_units.c.SalesUnitSymbol,
                product_sales_units.c.UnitDecimalPrecision,
            ).where(product_sales_units.c.dataAreaId == area, product_sales_units.c.ItemNumber.in_(items))
        )
    }
    for line in lines:
        product = products.get(line.item)
        if product is None:
            raise Rejected(
                "ProductNotReleased",
                f"Line {line.number}: product {line.item} is not sold by company {area}.",
            )
        if product.ProductLifecycleStateId == "Discontinued":
            raise Rejected(
                "ProductDiscontinued",
                f"Line {line.number}: product {line.item} ({product.ProductName}) is discontinued.",
            )
        precision = units.get((line.item, line.unit))
        if precision is None:
            raise Rejected(
                "UnitNotAllowed",
                f"Line {line.number}: product {line.item} cannot be ordered in unit '{line.unit}'.",
            )
        if line.quantity <= 0:
            raise Rejected("InvalidQuantity", f"Line {line.number}: the quantity must be more than zero.")
        if line.price < 0:
            raise Rejected("InvalidPrice", f"Line {line.number}: the price cannot be negative.")
        if line.quantity != line.quantity.quantize(Decimal(1).scaleb(-precision)):  # "2.0000" is fine
            raise Rejected(
                "QuantityPrecision",
                f"Line {line.number}: unit '{line.unit}' allows {precision} decimal places.",
            )
    return {item: row.ProductName for item, row in products.items()}


def _check_credit(conn: Connection, customer: RowMapping, amount: Decimal) -> None:
    """Open (not invoiced, not canceled) order value plus this order must stay within the limit (0: none)."""
    limit = Decimal(customer["CreditLimit"] or 0)
    if limit <= 0:
        return
    open_value = conn.execute(
        select(func.coalesce(func.sum(sales_order_headers.c.TotalAmount), 0)).where(
            sales_order_headers.c.dataAreaId == customer["dataAreaId"],
            sales_order_headers.c.OrderingCustomerAccountNumber == customer["CustomerAccount"],
            sales_order_headers.c.SalesOrderStatus.in_(OPEN_SALES_STATUSES),
        )
    ).scalar_one()
    if Decimal(open_value) + amount > limit:
        currency = customer["SalesCurrencyCode"]
        raise Rejected(
            "CreditLimitExceeded",
            f"This order ({amount:,.2f} {currency}) would exceed the credit limit of account "
            f"{customer['CustomerAccount']} ({limit:,.2f} {currency}, {Decimal(open_value):,.2f} already on "
            "open orders). Please contact your account manager.",
        )


def _order_values(
    body: Mapping[str, Any], customer: RowMapping, key: str, now: datetime
) -> tuple[dict[str, Any], list[OrderLine]]:
    """Header column values (without number and sequence) and the parsed lines."""
    requested = _date(body, "RequestedReceiptDate")
    address = str(_text(body, "DeliveryAddressDescription", limit=120))
    country = str(_text(body, "DeliveryAddressCountryRegionId", limit=3))
    lines = _parse_lines(body, requested, address, country)
    header = {
        "dataAreaId": customer["dataAreaId"],
        "OrderingCustomerAccountNumber": customer["CustomerAccount"],
        "InvoiceCustomerAccountNumber": _text(body, "InvoiceCustomerAccountNumber", required=False, limit=20)
        or customer["InvoiceAccount"],
        "SalesOrderName": _text(body, "SalesOrderName", required=False, limit=120)
        or customer["OrganizationName"],
        "CurrencyCode": _text(body, "CurrencyCode", required=False, limit=3) or customer["SalesCurrencyCode"],
        "LanguageId": _text(body, "LanguageId", required=False, limit=10) or customer["LanguageId"],
        "PriceCustomerGroupCode": _text(body, "PriceCustomerGroupCode", required=False, limit=20)
        or customer["PriceCustomerGroupCode"],
        "ContactPersonId": _text(body, "ContactPersonId", required=False, limit=20),
        "RequestedReceiptDate": requested,
        "ConfirmedReceiptDate": None,
        "DeliveryAddressDescription": address,
        "DeliveryAddressStreet": _text(body, "DeliveryAddressStreet", required=False) or "",
        "DeliveryAddressCity": _text(body, "DeliveryAddressCity", required=False, limit=60) or "",
        "DeliveryAddressZipCode": _text(body, "DeliveryAddressZipCode", required=False, limit=10) or "",
        "DeliveryAddressCountryRegionId": country,
        "CustomerRequisitionNumber": _text(body, "CustomerRequisitionNumber", required=False, limit=60),
        "SalesOrderOriginCode": "Portal",
        "PortalOrderId": key,
        "SalesOrderStatus": "Backorder",
        "SalesOrderProcessingStatus": "Active",
        "DocumentStatus": "None",
        "OrderCreatedDateTime": now,
        "ModifiedDateTime": now,
    }
    if header["CurrencyCode"] != customer["SalesCurrencyCode"]:
        raise Rejected(
            "CurrencyMismatch",
            f"Account {customer['CustomerAccount']} buys in {customer['SalesCurrencyCode']}, "
            f"not {header['CurrencyCode']}.",
        )
    return header, lines


def insert_order(
    conn: Connection,
    header: dict[str, Any],
    lines: Sequence[OrderLine],
    names: Mapping[str, str],
    first: int,
    written: list[dict[str, Any]] | None = None,
) -> str:
    """Insert a validated order: number from the company's sequence, ChangeSequence from ``first`` on."""
    area = header["dataAreaId"]
    number = format_sales_order_number(allocate(conn, SALES_ORDER_SEQUENCE, area))
    rows = []
    for offset, line in enumerate(lines, start=1):
        rows.append(
            {
                "dataAreaId": area,
                "SalesOrderNumber": number,
                "LineNumber": line.number,
                "ItemNumber": line.item,
                "LineDescription": (line.description or names.get(line.item) or line.item)[:250],
                "OrderedSalesQuantity": line.quantity,
                "ConfirmedSalesQuantity": None,
                "SalesUnitSymbol": line.unit,
                "SalesPrice": line.price.quantize(CENT, ROUND_HALF_UP),
                "LineAmount": (line.quantity * line.price).quantize(CENT, ROUND_HALF_UP),
                "CurrencyCode": header["CurrencyCode"],
                "SalesOrderLineStatus": "Backorder",
                "RequestedReceiptDate": line.requested,
                "ConfirmedReceiptDate": None,
                "DeliveryAddressDescription": line.address,
                "DeliveryAddressCountryRegionId": line.country,
                "ChangeSequence": first + offset,
                "ModifiedDateTime": header["ModifiedDateTime"],
            }
        )
    total = sum((row["LineAmount"] for row in rows), Decimal(0))
    header_row = {**header, "SalesOrderNumber": number, "TotalAmount": total, "ChangeSequence": first}
    conn.execute(insert(sales_order_headers).values(header_row))
    conn.execute(insert(sales_order_lines), rows)
    if written is not None:
        written.append(header_row)
        written.extend(rows)
    return number


def create_sales_order(
    engine: Engine, body: Mapping[str, Any], key: str, now: datetime, *, forced: Rejected | None = None
) -> WriteResult:
    """Create a portal order, or answer as before for a key already seen (the order, or the same refusal).

    ``forced`` is the fault injector's validation reject: refused and remembered like any other.
    """
    if not isinstance(body, Mapping):
        raise BadPayload("The body must be a JSON object.")
    lines_given = body.get("SalesOrderLines")
    n_lines = len(lines_given) if isinstance(lines_given, list) else 0
    try:
        with engine.connect() as conn, conn.begin() as trans:
            first = next_change_sequence(conn, 1 + max(n_lines, 1))  # the writers' lock, taken first
            found = find_order(conn, key)
            reject = remembered_reject(conn, key)
            if found is not None or reject is not None:
                trans.rollback()
                if found is not None:
                    return found
                raise reject  # type: ignore[misc]
            try:
                customer = _validate_customer(
                    conn,
                    str(_text(body, "dataAreaId", limit=8)),
                    str(_text(body, "OrderingCustomerAccountNumber", limit=20)),
                )
                header, lines = _order_values(body, customer, key, now)
                if forced is not None:
                    raise forced
                if customer["OnHoldStatus"] in BLOCKING_HOLDS:
                    raise Rejected(
                        "CustomerOnHold",
                        f"Account {customer['CustomerAccount']} is on hold: no new orders can be placed. "
                        "Please contact your account manager.",
                    )
                names = _validate_lines(conn, customer["dataAreaId"], lines)
                amount = sum(
                    ((ln.quantity * ln.price).quantize(CENT, ROUND_HALF_UP) for ln in lines), Decimal(0)
                )
                _check_credit(conn, customer, amount)
            except Rejected as exc:
                _remember_reject(conn, key, ORDERS, exc, now)
                trans.commit()
                raise
            written: list[dict[str, Any]] = []
            insert_order(conn, header, lines, names, first, written)
    except IntegrityError:  # a concurrent post of the same key won (only without the lock, e.g. other DBs)
        with engine.connect() as conn:
            again = find_order(conn, key)
            reject = remembered_reject(conn, key)
        if again is not None:
            return again
        if reject is not None:
            raise reject from None
        raise
    return WriteResult(201, written[0], written[1:])  # as inserted: no second read


# --- contact persons ------------------------------------------------------------------------------

CONTACT_FIELDS = ("FirstName", "LastName", "PrimaryEmailAddress", "LanguageId", "CustomerAccountNumber")


def _contact_row(conn: Connection, contact_id: str) -> RowMapping | None:
    return (
        conn.execute(select(contact_persons).where(contact_persons.c.ContactPersonId == contact_id))
        .mappings()
        .first()
    )


def _next_contact_id(conn: Connection) -> str:
    """CP-nnnnnn after the highest one in use (generated contacts do not advance the counter)."""
    highest = conn.execute(select(func.max(contact_persons.c.ContactPersonId))).scalar()
    if highest and highest.startswith("CP-") and highest[3:].isdigit():
        advance_counter(conn, CONTACT_SEQUENCE, "", int(highest[3:]))
    return f"CP-{allocate(conn, CONTACT_SEQUENCE):06d}"


def _contact_values(conn: Connection, body: Mapping[str, Any], area: str, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    limits = {"FirstName": 60, "LastName": 60, "PrimaryEmailAddress": 254, "LanguageId": 10}
    for name, limit in limits.items():
        if partial and name not in body:
            continue
        values[name] = _text(body, name, limit=limit)
    if not partial or "CustomerAccountNumber" in body:
        account = str(_text(body, "CustomerAccountNumber", limit=20))
        _validate_customer(conn, area, account)
        values["CustomerAccountNumber"] = account
    if "@" not in values.get("PrimaryEmailAddress", "@"):
        raise BadPayload("PrimaryEmailAddress must be an e-mail address.")
    return values


def _seen_key(conn: Connection, key: str) -> RowMapping | None:
    return (
        conn.execute(select(idempotency_keys).where(idempotency_keys.c.IdempotencyKey == key))
        .mappings()
        .first()
    )


def _contact_answer(conn: Connection, seen: Any, status: int) -> WriteResult:
    """The answer for a contact key: the remembered refusal, or the contact it created as it is now."""
    if seen["StatusCode"] == 422:
        raise Rejected(seen["ErrorCode"], seen["ErrorMessage"])
    row = _contact_row(conn, seen["ResourceKey"])
    if row is None:
        raise NotFound(f"Contact {seen['ResourceKey']} no longer exists.")
    return WriteResult(status, row)


def create_contact(engine: Engine, body: Mapping[str, Any], key: str, now: datetime) -> WriteResult:
    """Create a contact person of a customer, or answer as before for a key already seen."""
    if not isinstance(body, Mapping):
        raise BadPayload("The body must be a JSON object.")
    try:
        with engine.connect() as conn:
            with conn.begin() as trans:
                sequence = next_change_sequence(conn)  # the writers' lock, taken first
                seen = _seen_key(conn, key)
                if seen is not None:
                    trans.rollback()
                else:
                    area = str(_text(body, "dataAreaId", limit=8))
                    try:
                        values = _contact_values(conn, body, area, partial=False)
                    except Rejected as exc:
                        _remember_reject(conn, key, CONTACTS, exc, now)
                        trans.commit()
                        raise
                    contact_id = _next_contact_id(conn)
                    conn.execute(
                        insert(contact_persons).values(
                            dataAreaId=area,
                            ContactPersonId=contact_id,
                            ChangeSequence=sequence,
                            ModifiedDateTime=now,
                            **values,
                        )
                    )
                    conn.execute(
                        insert(idempotency_keys).values(
                            IdempotencyKey=key,
                            EntitySet=CONTACTS,
                            StatusCode=201,
                            ResourceKey=contact_id,
                            CreatedDateTime=now,
                        )
                    )
            if seen is not None:
                return _contact_answer(conn, seen, 200)
            return _contact_answer(conn, {"StatusCode": 201, "ResourceKey": contact_id}, 201)
    except IntegrityError:  # a concurrent create with the same key won
        with engine.connect() as conn:
            again = _seen_key(conn, key)
            if again is None:
                raise
            return _contact_answer(conn, again, 200)


def update_contact(engine: Engine, contact_id: str, body: Mapping[str, Any], now: datetime) -> WriteResult:
    """Set the given fields of a contact person (setting is idempotent: a retry changes nothing more)."""
    if not isinstance(body, Mapping):
        raise BadPayload("The body must be a JSON object.")
    with engine.connect() as conn:
        with conn.begin():
            sequence = next_change_sequence(conn)
            current = _contact_row(conn, contact_id)
            if current is None:
                raise NotFound(f"Contact {contact_id} does not exist.")
            values = _contact_values(conn, body, current["dataAreaId"], partial=True)
            if any(current[name] != value for name, value in values.items()):
                conn.execute(
                    update(contact_persons)
                    .where(contact_persons.c.ContactPersonId == contact_id)
                    .values(ChangeSequence=sequence, ModifiedDateTime=now, **values)
                )
        row = _contact_row(conn, contact_id)
    assert row is not None
    return WriteResult(200, row)
