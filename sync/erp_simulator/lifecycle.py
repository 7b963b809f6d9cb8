"""The simulated ERP's own life: orders move on, new phone and EDI orders, master data changes.

:func:`advance` is one tick, called by the simulator's background :class:`Ticker` or directly by a test
with its own clock and seeded random stream (the same store, ``now`` and seed give the same changes).
Every change is written like any ERP write: new ChangeSequence values from the global counter and
``ModifiedDateTime = now``, so the portal's pull follows it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, update

from .demo_data import CENT, DEMO_CONTACTS, LINE_STATUSES, PROCESSING_STATUSES
from .store import (
    PRODUCT_SEQUENCE,
    allocate,
    contact_persons,
    customer_postal_addresses,
    customers,
    next_change_sequence,
    product_sales_units,
    released_products,
    sales_order_headers,
    sales_order_lines,
    sales_price_agreements,
)
from .writes import BLOCKING_HOLDS, OrderLine, insert_order

log = logging.getLogger(__name__)

FINAL_STATUSES = ("Invoiced", "Canceled")
CANCELABLE = ("Active", "Confirmed", "Picked")
#: Accounts the demo sign-ins order for: the simulator never puts them on hold or cuts their limit.
DEMO_ACCOUNTS = frozenset((c.data_area_id, c.account) for c in DEMO_CONTACTS)
MASTER_CHANGES = ("price", "new_product", "discontinue", "credit_limit", "on_hold")


@dataclass(frozen=True)
class LifecycleOptions:
    """How busy the ERP is per tick (the defaults suit a tick every few seconds)."""

    orders_per_tick: int = 10  # open orders looked at
    move_probability: float = 0.5  # that a looked-at order moves one step on
    cancel_probability: float = 0.03  # that it is canceled instead (before delivery only)
    partial_probability: float = 0.4  # that delivery or invoicing of a multi-line order is partial
    short_confirm_probability: float = 0.1  # that the warehouse confirms less than ordered
    late_confirm_probability: float = 0.25  # that the confirmed date is later than requested
    new_order_probability: float = 0.2  # of one new phone or EDI order
    master_change_probability: float = 0.1  # of one master data change
    candidate_window: int = 500  # the most recently changed open orders the tick picks from


DEFAULT_OPTIONS = LifecycleOptions()


@dataclass
class AdvanceSummary:
    """What one tick changed (for logs and tests)."""

    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (company, number, new status)
    created: list[tuple[str, str]] = field(default_factory=list)
    master_changes: list[str] = field(default_factory=list)


def advance(
    engine: Engine,
    now: datetime,
    rng: random.Random,
    *,
    options: LifecycleOptions = DEFAULT_OPTIONS,
    only: Sequence[tuple[str, str]] | None = None,
) -> AdvanceSummary:
    """One tick of ERP life. ``only`` limits the status moves to these (company, number) orders."""
    summary = AdvanceSummary()
    with engine.connect() as conn:
        candidates = list(only) if only is not None else _candidates(conn, rng, options)
        conn.rollback()
    for area, number in candidates:
        if rng.random() >= options.move_probability:
            continue
        with engine.begin() as conn:
            status = _move_order(conn, area, number, now, rng, options)
        if status:
            summary.moved.append((area, number, status))
    if rng.random() < options.new_order_probability:
        with engine.begin() as conn:
            created = _new_erp_order(conn, now, rng)
        if created:
            summary.created.append(created)
    if rng.random() < options.master_change_probability:
        kind = rng.choice(MASTER_CHANGES)
        with engine.begin() as conn:
            if _MASTER_CHANGERS[kind](conn, now, rng):
                summary.master_changes.append(kind)
    return summary


def _candidates(conn: Connection, rng: random.Random, options: LifecycleOptions) -> list[tuple[str, str]]:
    h = sales_order_headers.c
    rows = conn.execute(
        select(h.dataAreaId, h.SalesOrderNumber)
        .where(h.SalesOrderProcessingStatus.not_in(FINAL_STATUSES))
        .order_by(h.ChangeSequence.desc())
        .limit(options.candidate_window)
    ).all()
    keys = sorted((str(a), str(n)) for a, n in rows)
    return rng.sample(keys, min(options.orders_per_tick, len(keys)))


def _next_status(status: str, n_lines: int, rng: random.Random, options: LifecycleOptions) -> str | None:
    partial = n_lines > 1 and rng.random() < options.partial_probability
    if status in CANCELABLE and rng.random() < options.cancel_probability:
        return "Canceled"
    return {
        "Active": "Confirmed",
        "Confirmed": "Picked",
        "Picked": "PartiallyDelivered" if partial else "Delivered",
        "PartiallyDelivered": "Delivered",
        "Delivered": "PartiallyInvoiced" if partial else "Invoiced",
        "PartiallyInvoiced": "Invoiced",
    }.get(status)


def _line_statuses(status: str, lines: Sequence[RowMapping], rng: random.Random) -> dict[int, str]:
    """Line number -> new line status (a partial step moves some lines on, at least one and not all)."""
    moved, others = LINE_STATUSES[status]
    if status not in ("PartiallyDelivered", "PartiallyInvoiced"):
        return {int(line["LineNumber"]): moved for line in lines}
    numbers = [int(line["LineNumber"]) for line in lines]
    ahead = set(rng.sample(numbers, rng.randint(1, len(numbers) - 1)))
    return {n: moved if n in ahead else others for n in numbers}


def _confirmed_quantity(ordered: Decimal, rng: random.Random, options: LifecycleOptions) -> Decimal:
    if ordered > 1 and rng.random() < options.short_confirm_probability:
        share = Decimal(rng.randint(50, 90)) / 100
        step = Decimal(1) if ordered == ordered.to_integral_value() else CENT
        return max(step, (ordered * share).quantize(step, ROUND_DOWN))
    return ordered


def _move_order(
    conn: Connection, area: str, number: str, now: datetime, rng: random.Random, options: LifecycleOptions
) -> str | None:
    """Move one order one step on (one transaction); the new processing status, or None."""
    sequence = next_change_sequence(conn)  # the writers' lock first, then read
    h, ln = sales_order_headers.c, sales_order_lines.c
    header = (
        conn.execute(select(sales_order_headers).where(h.dataAreaId == area, h.SalesOrderNumber == number))
        .mappings()
        .first()
    )
    if header is None:
        return None
    lines = (
        conn.execute(
            select(sales_order_lines)
            .where(ln.dataAreaId == area, ln.SalesOrderNumber == number)
            .order_by(ln.LineNumber)
        )
        .mappings()
        .all()
    )
    status = _next_status(header["SalesOrderProcessingStatus"], len(lines), rng, options)
    if status is None or not lines:
        return None
    sales_status, document_status = PROCESSING_STATUSES[status]
    changes: dict[str, Any] = {
        "SalesOrderStatus": sales_status,
        "SalesOrderProcessingStatus": status,
        "DocumentStatus": document_status,
        "ChangeSequence": sequence,
        "ModifiedDateTime": now,
    }
    confirming = status == "Confirmed"
    if confirming:
        late = rng.random() < options.late_confirm_probability
        requested = header["RequestedReceiptDate"]
        changes["ConfirmedReceiptDate"] = requested + timedelta(days=rng.randint(1, 10) if late else 0)
    conn.execute(
        update(sales_order_headers).where(h.dataAreaId == area, h.SalesOrderNumber == number).values(changes)
    )
    new_statuses = _line_statuses(status, lines, rng)
    first = next_change_sequence(conn, len(lines))
    for offset, line in enumerate(lines):
        values: dict[str, Any] = {"SalesOrderLineStatus": new_statuses[int(line["LineNumber"])]}
        if confirming:
            values["ConfirmedReceiptDate"] = changes["ConfirmedReceiptDate"]
            values["ConfirmedSalesQuantity"] = _confirmed_quantity(
                Decimal(line["OrderedSalesQuantity"]), rng, options
            )
        if all(line[k] == v for k, v in values.items()):
            continue
        conn.execute(
            update(sales_order_lines)
            .where(ln.dataAreaId == area, ln.SalesOrderNumber == number, ln.LineNumber == line["LineNumber"])
            .values(**values, ChangeSequence=first + offset, ModifiedDateTime=now)
        )
    return status


def _new_erp_order(conn: Connection, now: datetime, rng: random.Random) -> tuple[str, str] | None:
    """A phone or EDI order of a random customer that may order, with 1-4 priced active products."""
    c = customers.c
    rows = (
        conn.execute(
            select(customers)
            .where(c.PriceCustomerGroupCode.is_not(None), c.OnHoldStatus.not_in(BLOCKING_HOLDS))
            .order_by(c.dataAreaId, c.CustomerAccount)
        )
        .mappings()
        .all()
    )
    if not rows:
        return None
    customer = rng.choice(rows)
    area, account = customer["dataAreaId"], customer["CustomerAccount"]
    p, r = sales_price_agreements.c, released_products.c
    priced = conn.execute(
        select(p.ItemNumber, p.QuantityUnitSymbol, p.Price, r.ProductName)
        .join(released_products, (r.dataAreaId == p.dataAreaId) & (r.ItemNumber == p.ItemNumber))
        .where(
            p.dataAreaId == area,
            p.PriceCustomerGroupCode == customer["PriceCustomerGroupCode"],
            r.ProductLifecycleStateId == "Active",
        )
        .order_by(p.ItemNumber, p.QuantityUnitSymbol)
    ).all()
    by_item: dict[str, Any] = {}
    for row in priced:
        by_item.setdefault(row.ItemNumber, row)
    if not by_item:
        return None
    addresses = (
        conn.execute(
            select(customer_postal_addresses)
            .where(
                customer_postal_addresses.c.dataAreaId == area,
                customer_postal_addresses.c.CustomerAccountNumber == account,
                customer_postal_addresses.c.IsRoleDelivery.is_(True),
            )
            .order_by(customer_postal_addresses.c.AddressLocationId)
        )
        .mappings()
        .all()
    )
    address = rng.choice(addresses) if addresses else None
    origin = rng.choice(("Phone", "Phone", "EDI"))
    contacts = (
        conn.execute(
            select(contact_persons.c.ContactPersonId)
            .where(contact_persons.c.dataAreaId == area, contact_persons.c.CustomerAccountNumber == account)
            .order_by(contact_persons.c.ContactPersonId)
        )
        .scalars()
        .all()
    )
    items = rng.sample(sorted(by_item), min(len(by_item), rng.randint(1, 4)))
    requested = now.date() + timedelta(days=rng.randint(3, 21))
    country = address["AddressCountryRegionId"] if address else customer["AddressCountryRegionId"]
    description = address["AddressDescription"] if address else "Main address"
    lines = []
    for n, item in enumerate(items, start=1):
        row = by_item[item]
        quantity = Decimal(rng.randint(1, 10))
        lines.append(
            OrderLine(
                n, item, row.ProductName, quantity, row.QuantityUnitSymbol, Decimal(row.Price), requested,
                description, country,
            )
        )  # fmt: skip
    header = {
        "dataAreaId": area,
        "OrderingCustomerAccountNumber": account,
        "InvoiceCustomerAccountNumber": customer["InvoiceAccount"],
        "SalesOrderName": customer["OrganizationName"],
        "CurrencyCode": customer["SalesCurrencyCode"],
        "LanguageId": customer["LanguageId"],
        "PriceCustomerGroupCode": customer["PriceCustomerGroupCode"],
        "ContactPersonId": rng.choice(contacts) if contacts and origin == "Phone" else None,
        "RequestedReceiptDate": requested,
        "ConfirmedReceiptDate": None,
        "DeliveryAddressDescription": description,
        "DeliveryAddressStreet": address["AddressStreet"] if address else "",
        "DeliveryAddressCity": address["AddressCity"] if address else "",
        "DeliveryAddressZipCode": address["AddressZipCode"] if address else "",
        "DeliveryAddressCountryRegionId": country,
        "CustomerRequisitionNumber": f"{'EDI' if origin == 'EDI' else 'PO'}-{rng.randint(10000, 999999)}",
        "SalesOrderOriginCode": origin,
        "PortalOrderId": None,
        "SalesOrderStatus": "Backorder",
        "SalesOrderProcessingStatus": "Active",
        "DocumentStatus": "None",
        "OrderCreatedDateTime": now,
        "ModifiedDateTime": now,
    }
    first = next_change_sequence(conn, 1 + len(lines))
    number = insert_order(conn, header, lines, {}, first)
    return area, number


# --- master data ---------------------------------------------------------------------------------


def _bump(now: datetime, conn: Connection) -> dict[str, Any]:
    return {"ChangeSequence": next_change_sequence(conn), "ModifiedDateTime": now}


def _change_price(conn: Connection, now: datetime, rng: random.Random) -> bool:
    p = sales_price_agreements.c
    ids = conn.execute(select(p.PriceAgreementId).order_by(p.PriceAgreementId)).scalars().all()
    if not ids:
        return False
    chosen = rng.choice(ids)
    price = conn.execute(select(p.Price).where(p.PriceAgreementId == chosen)).scalar_one()
    factor = Decimal(1) + Decimal(rng.randint(-5, 8)) / 100
    new_price = max(CENT, (Decimal(price) * factor).quantize(CENT, ROUND_HALF_UP))
    conn.execute(
        update(sales_price_agreements)
        .where(p.PriceAgreementId == chosen)
        .values(Price=new_price, **_bump(now, conn))
    )
    return True


def _new_product(conn: Connection, now: datetime, rng: random.Random) -> bool:
    """A new product released to one company, sold in its default unit on every price list there."""
    r = released_products.c
    templates = conn.execute(select(released_products).order_by(r.dataAreaId, r.ItemNumber)).mappings().all()
    if not templates:
        return False
    template = rng.choice(templates)
    area = template["dataAreaId"]
    item = f"N{allocate(conn, PRODUCT_SEQUENCE):05d}"
    conn.execute(
        insert(released_products).values(
            dataAreaId=area,
            ItemNumber=item,
            ProductName=f"{template['ProductName']} Mk{rng.randint(2, 9)}",
            ProductGroupId=template["ProductGroupId"],
            SalesUnitSymbol=template["SalesUnitSymbol"],
            ProductLifecycleStateId="Active",
            **_bump(now, conn),
        )
    )
    conn.execute(
        insert(product_sales_units).values(
            dataAreaId=area,
            ItemNumber=item,
            SalesUnitSymbol=template["SalesUnitSymbol"],
            UnitConversionFactor=Decimal(1),
            UnitDecimalPrecision=0,
            **_bump(now, conn),
        )
    )
    p = sales_price_agreements.c
    groups = conn.execute(
        select(p.PriceCustomerGroupCode, p.PriceCurrencyCode)
        .where(p.dataAreaId == area)
        .distinct()
        .order_by(p.PriceCustomerGroupCode)
    ).all()
    for group, currency in groups:
        conn.execute(
            insert(sales_price_agreements).values(
                dataAreaId=area,
                PriceAgreementId=_next_agreement_id(conn),
                PriceCustomerGroupCode=group,
                ItemNumber=item,
                QuantityUnitSymbol=template["SalesUnitSymbol"],
                PriceCurrencyCode=currency,
                Price=Decimal(rng.randint(500, 50000)) / 100,
                PriceApplicableFromDate=now.date(),
                **_bump(now, conn),
            )
        )
    return True


def _next_agreement_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(sales_price_agreements.c.PriceAgreementId))).scalar() or 0) + 1


def _discontinue(conn: Connection, now: datetime, rng: random.Random) -> bool:
    r = released_products.c
    keys = conn.execute(
        select(r.dataAreaId, r.ItemNumber)
        .where(r.ProductLifecycleStateId == "Active")
        .order_by(r.dataAreaId, r.ItemNumber)
    ).all()
    if not keys:
        return False
    area, item = rng.choice(keys)
    conn.execute(
        update(released_products)
        .where(r.dataAreaId == area, r.ItemNumber == item)
        .values(ProductLifecycleStateId="Discontinued", **_bump(now, conn))
    )
    return True


def _other_customers(conn: Connection) -> list[tuple[str, str]]:
    c = customers.c
    keys = conn.execute(
        select(c.dataAreaId, c.CustomerAccount).order_by(c.dataAreaId, c.CustomerAccount)
    ).all()
    return [(str(a), str(n)) for a, n in keys if (a, n) not in DEMO_ACCOUNTS]


def _change_credit_limit(conn: Connection, now: datetime, rng: random.Random) -> bool:
    keys = _other_customers(conn)
    if not keys:
        return False
    area, account = rng.choice(keys)
    c = customers.c
    limit = Decimal(rng.choice((10, 25, 50, 100, 250, 500)) * 1000)
    conn.execute(
        update(customers)
        .where(c.dataAreaId == area, c.CustomerAccount == account)
        .values(CreditLimit=limit, **_bump(now, conn))
    )
    return True


def _toggle_hold(conn: Connection, now: datetime, rng: random.Random) -> bool:
    keys = _other_customers(conn)
    if not keys:
        return False
    area, account = rng.choice(keys)
    c = customers.c
    current = conn.execute(
        select(c.OnHoldStatus).where(c.dataAreaId == area, c.CustomerAccount == account)
    ).scalar_one()
    new = rng.choice(("All", "Invoice")) if current == "No" else "No"
    conn.execute(
        update(customers)
        .where(c.dataAreaId == area, c.CustomerAccount == account)
        .values(OnHoldStatus=new, **_bump(now, conn))
    )
    return True


_MASTER_CHANGERS: dict[str, Callable[[Connection, datetime, random.Random], bool]] = {
    "price": _change_price,
    "new_product": _new_product,
    "discontinue": _discontinue,
    "credit_limit": _change_credit_limit,
    "on_hold": _toggle_hold,
}


class Ticker:
    """Calls :func:`advance` every ``interval`` seconds on a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        engine: Engine,
        interval: float,
        *,
        clock: Callable[[], datetime],
        seed: int | None = None,
        options: LifecycleOptions = DEFAULT_OPTIONS,
    ) -> None:
        self.engine, self.interval, self.clock, self.options = engine, interval, clock, options
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erp-lifecycle", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                advance(self.engine, self.clock(), self.rng, options=self.options)
            except Exception:  # the simulated ERP keeps living; the next tick tries again
                log.exception("ERP lifecycle tick failed")
