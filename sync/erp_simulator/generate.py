"""Deterministic demo data for the simulated ERP: master data and two years of sales orders.

The same ``seed``, ``orders`` and ``anchor_date`` always give byte-identical rows: every random
choice comes from ``random.Random`` streams seeded from ``seed`` (one per phase) and consumed in a
fixed order, and nothing depends on the clock (except the default anchor, today's UTC date), string
hashing or set order. Orders are produced as a stream and written in chunks, so a million orders
never sit in memory at once.

CLI: ``python -m sync.erp_simulator.generate --db URL --orders N --seed S [--anchor-date YYYY-MM-DD]``
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, Engine, Table

from . import store
from .demo_data import (
    ACCOUNTS_WITHOUT_PRICE_GROUP,
    BRANDS,
    CENT,
    CHUNK_ORDERS,
    COMPANY_SETUP,
    COUNTRIES,
    DEMO_ACCOUNT_A,
    DEMO_CONTACTS,
    DEMO_ORDER_QUOTAS,
    EACH_QUANTITIES,
    FORCED_STATUS_AGES,
    HISTORY_DAYS,
    LEGAL_ENTITIES,
    LINE_COUNT_WEIGHTS,
    LINE_STATUSES,
    NOT_RELEASED,
    ORDERS_PER_EXTRA_ACCOUNT,
    PARTIAL_STATUSES,
    PRICE_GROUPS,
    PROCESSING_STATUSES,
    PRODUCT_GROUPS,
    STATUS_BY_AGE,
    STATUS_DELAY_HOURS,
    UNCONFIRMED_STATUSES,
    US001_SHARE,
)
from .store import ENTITY_SETS, SALES_ORDER_SEQUENCE, format_sales_order_number


@dataclass
class _Customer:
    """What order generation needs to know about one customer account."""

    area: str
    account: str
    name: str
    currency: str
    language: str
    country: str
    price_group: str | None
    invoice_account: str
    on_hold: str = "No"
    domain: str = ""
    delivery: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)


@dataclass
class _Product:
    """One catalog product (released to one or more legal entities)."""

    item: str
    name: str
    group: str
    units: list[tuple[str, int, int]]  # (symbol, conversion factor, decimal precision)
    base_price: Decimal  # USD, default unit
    discontinued: bool
    priced: bool
    areas: list[str]


@dataclass
class _Context:
    """Generation state shared by the master-data and order steps."""

    seed: int
    anchor: datetime
    sequence: int = 0
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    order_numbers: dict[str, int] = field(default_factory=dict)  # last SalesOrderNumber per company
    customers: list[_Customer] = field(default_factory=list)
    products: list[_Product] = field(default_factory=list)
    # price group -> [(item, description, [(unit, price, precision)], discontinued)]
    catalog: dict[str, list[tuple[str, str, list[tuple[str, Decimal, int]], bool]]] = field(
        default_factory=dict
    )

    def stream(self, phase: str) -> random.Random:
        """The random stream of one generation phase (seeded with text: no ``hash()`` involved)."""
        return random.Random(f"{self.seed}:{phase}")

    @property
    def start(self) -> datetime:
        return self.anchor - timedelta(days=HISTORY_DAYS)

    def add(self, entity_set: str, row: dict[str, Any]) -> None:
        """Append a master-data row, stamping ChangeSequence and ModifiedDateTime."""
        self.sequence += 1
        row["ChangeSequence"] = self.sequence
        row["ModifiedDateTime"] = self.start - timedelta(days=30) + timedelta(seconds=self.sequence)
        self.rows.setdefault(entity_set, []).append(row)


def _ascii(text_value: str) -> str:
    """Lower-case ASCII for e-mail addresses and domains."""
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", " ": "", "&": "", ".": ""})
    return "".join(ch for ch in text_value.lower().translate(table) if ch.isalnum())


def _postcode(rng: random.Random, country: str, prefix: str) -> str:
    if country == "USA":
        return f"{prefix}{rng.randint(1, 99):02d}"
    if country == "DEU":
        return f"{prefix}{rng.randint(1, 999):03d}"
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{prefix} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _street(rng: random.Random, country: str, street: str) -> str:
    number = rng.randint(1, 250)
    return f"{street} {number}" if country == "DEU" else f"{number} {street}"


def _legal_entities(ctx: _Context) -> None:
    for area, name, currency, language, country in LEGAL_ENTITIES:
        ctx.add(
            "LegalEntities",
            {
                "LegalEntityId": area,
                "Name": name,
                "CurrencyCode": currency,
                "LanguageId": language,
                "AddressCountryRegionId": country,
            },
        )


def _customers(ctx: _Context, orders: int) -> None:
    """Customer accounts and their postal addresses, then their contacts.

    The fixed accounts of every company come first; large stores get extra accounts (one per 500
    orders), drawn from their own random stream so the fixed ones never change with ``orders``.
    """
    names = _Names()
    rng = ctx.stream("customers")
    for area, *_ in LEGAL_ENTITIES:
        _prefix, count, _share, first_name, _groups = COMPANY_SETUP[area]
        on_hold = rng.sample(range(4, count), 2 if area == "USMF" else 1)
        for number in range(1, count + 1):
            customer = _add_customer(ctx, rng, names, area, number, first_name if number == 1 else None)
            if number in on_hold:
                first = on_hold.index(number) == 0
                ctx.rows["CustomersV3"][-1]["OnHoldStatus"] = customer.on_hold = (
                    "Invoice" if first and area != "DEMF" else "All"
                )
    rng = ctx.stream("more-customers")
    extra = orders // ORDERS_PER_EXTRA_ACCOUNT
    for area, *_ in LEGAL_ENTITIES:
        _prefix, count, share, _first, _groups = COMPANY_SETUP[area]
        for number in range(count + 1, count + 1 + round(extra * share)):
            _add_customer(ctx, rng, names, area, number, None)
    _contacts(ctx)


@dataclass
class _Names:
    """Keeps company names and address ids unique."""

    stems: set[str] = field(default_factory=set)  # membership only, never iterated
    location: int = 10000


def _add_customer(
    ctx: _Context, rng: random.Random, names: _Names, area: str, number: int, name: str | None
) -> _Customer:
    """One customer account with 1-3 postal addresses (the first is the primary delivery one)."""
    _le, _name, currency, language, country = next(le for le in LEGAL_ENTITIES if le[0] == area)
    prefix, _count, _share, _first, groups = COMPANY_SETUP[area]
    words = COUNTRIES[country]
    account = f"{prefix}{number:03d}"
    if name is None:
        stem = ""
        for _ in range(10):
            stem = f"{rng.choice(words['words'])} {rng.choice(words['kinds'])}"
            if stem not in names.stems:
                break
        if stem in names.stems:
            stem = f"{stem} {number}"
        name = f"{stem} {rng.choice(words['forms'])}"
    else:
        stem = " ".join(name.split()[:2])
    names.stems.add(stem)
    price_group = None if (area, account) in ACCOUNTS_WITHOUT_PRICE_GROUP else groups[0]
    if price_group and len(groups) > 1 and (number == 1 or rng.random() < 0.35):
        price_group = groups[1]
    invoice_account = account
    if number > 3 and price_group and rng.random() < 0.15:
        invoice_account = f"{prefix}{rng.randint(2, 3):03d}"
    customer = _Customer(area, account, name, currency, language, country, price_group, invoice_account)
    customer.domain = f"{_ascii(stem)}.{words['tld'][0]}"
    ctx.add(
        "CustomersV3",
        {
            "dataAreaId": area,
            "CustomerAccount": account,
            "OrganizationName": name,
            "CustomerGroupId": "20" if number == 1 else rng.choice(("10", "20", "30")),
            "SalesCurrencyCode": currency,
            "LanguageId": language,
            "InvoiceAccount": invoice_account,
            "CreditLimit": Decimal(
                1_000_000 if number == 1 else rng.choice((10, 25, 50, 100, 250, 500)) * 1000
            ),
            "OnHoldStatus": customer.on_hold,
            "PriceCustomerGroupCode": price_group,
            "AddressCountryRegionId": country,
        },
    )
    n_addresses = 3 if number == 1 else rng.choice((1, 1, 2, 2, 3))
    for index in range(n_addresses):
        city, zip_prefix = rng.choice(words["cities"]).split(":")
        place = words["places"][0] if index == 0 else rng.choice(words["places"][1:])
        description = place if index == 0 else f"{place} {city}"
        street = _street(rng, country, rng.choice(words["streets"]))
        zip_code = _postcode(rng, country, zip_prefix)
        delivery = index == 0 or rng.random() < 0.8
        names.location += 1 + rng.randint(0, 20)
        ctx.add(
            "CustomerPostalAddresses",
            {
                "dataAreaId": area,
                "CustomerAccountNumber": account,
                "AddressLocationId": f"{names.location:09d}",
                "AddressDescription": description,
                "AddressStreet": street,
                "AddressCity": city,
                "AddressZipCode": zip_code,
                "AddressCountryRegionId": country,
                "IsPrimary": index == 0,
                "IsRoleDelivery": delivery,
            },
        )
        if delivery:
            customer.delivery.append((description, street, city, zip_code, country))
    ctx.customers.append(customer)
    return customer


def _contacts(ctx: _Context) -> None:
    """1-4 contacts per account with e-mails at the customer's domain; the demo contacts first."""
    rng = ctx.stream("contacts")
    by_key = {(c.area, c.account): c for c in ctx.customers}
    rows = [(d.data_area_id, d.account, d.first_name, d.last_name, d.email) for d in DEMO_CONTACTS]
    for customer in ctx.customers:
        words = COUNTRIES[customer.country]
        emails: list[str] = []
        for _ in range(rng.randint(1, 4)):
            first, last = rng.choice(words["first"]), rng.choice(words["last"])
            email = f"{_ascii(first)}.{_ascii(last)}@{customer.domain}"
            while email in emails:
                email = email.replace("@", f"{rng.randint(1, 9)}@")
            emails.append(email)
            rows.append((customer.area, customer.account, first, last, email))
    for number, (area, account, first, last, email) in enumerate(rows, start=1):
        customer = by_key[(area, account)]
        contact_id = f"CP-{number:06d}"
        customer.contacts.append(contact_id)
        ctx.add(
            "ContactPersonsV2",
            {
                "dataAreaId": area,
                "ContactPersonId": contact_id,
                "FirstName": first,
                "LastName": last,
                "PrimaryEmailAddress": email,
                "CustomerAccountNumber": account,
                "LanguageId": customer.language,
            },
        )


def _products(ctx: _Context) -> None:
    """The catalog: released products per legal entity and their sales units."""
    rng = ctx.stream("products")
    names: list[str] = []
    number = 0
    for group, (unit, precision, (low, high), kinds, count, packs) in PRODUCT_GROUPS.items():
        for _ in range(count):
            number += 1
            while True:
                name = (
                    f"{rng.choice(BRANDS)} {rng.choice(kinds)} {rng.choice('SXMP')}{rng.randint(10, 99) * 10}"
                )
                if name not in names:
                    break
            names.append(name)
            units = [(unit, 1, precision)]
            if rng.random() < 0.6:
                box = rng.choice(packs)
                units.append(("box", box, 0))
                if unit == "ea" and rng.random() < 0.3:
                    units.append(("pal", box * rng.choice((10, 20)), 0))
            cents = rng.randint(low * 100, high * 100)
            if cents >= 1000:
                cents = cents // 100 * 100 + 99
            ctx.products.append(
                _Product(
                    f"A{number:04d}", name, group, units, Decimal(cents).scaleb(-2),
                    discontinued=rng.random() < 0.05, priced=True, areas=[],
                )
            )  # fmt: skip
    for product in rng.sample(ctx.products, 4):
        product.priced = False  # deliberately missing from every price list
    for area, *_ in LEGAL_ENTITIES:
        hidden = rng.sample(range(len(ctx.products)), NOT_RELEASED[area])
        for index, product in enumerate(ctx.products):
            if index not in hidden:
                product.areas.append(area)
    for area, *_ in LEGAL_ENTITIES:
        for product in ctx.products:
            if area not in product.areas:
                continue
            ctx.add(
                "ReleasedProductsV2",
                {
                    "dataAreaId": area,
                    "ItemNumber": product.item,
                    "ProductName": product.name,
                    "ProductGroupId": product.group,
                    "SalesUnitSymbol": product.units[0][0],
                    "ProductLifecycleStateId": "Discontinued" if product.discontinued else "Active",
                },
            )
        for product in ctx.products:
            if area not in product.areas:
                continue
            for symbol, factor, precision in product.units:
                ctx.add(
                    "ReleasedProductSalesUnits",
                    {
                        "dataAreaId": area,
                        "ItemNumber": product.item,
                        "SalesUnitSymbol": symbol,
                        "UnitConversionFactor": Decimal(factor),
                        "UnitDecimalPrecision": precision,
                    },
                )


def _prices(ctx: _Context) -> None:
    """Price lists (customer price groups) and one price agreement per group, item and unit."""
    for area, group, name, currency, _rate in PRICE_GROUPS:
        ctx.add(
            "CustomerPriceGroups",
            {"dataAreaId": area, "PriceGroupId": group, "Name": name, "CurrencyCode": currency},
        )
    valid_from = (ctx.start - timedelta(days=30)).date()
    agreement = 0
    for area, group, _name, currency, rate in PRICE_GROUPS:
        catalog = ctx.catalog.setdefault(group, [])
        for product in ctx.products:
            if area not in product.areas or not product.priced:
                continue
            unit_price = (product.base_price * rate).quantize(CENT, ROUND_HALF_UP)
            priced_units = []
            for symbol, factor, precision in product.units:
                price = (unit_price * factor).quantize(CENT, ROUND_HALF_UP)
                priced_units.append((symbol, price, precision))
                agreement += 1
                ctx.add(
                    "SalesPriceAgreements",
                    {
                        "dataAreaId": area,
                        "PriceAgreementId": agreement,
                        "PriceCustomerGroupCode": group,
                        "ItemNumber": product.item,
                        "QuantityUnitSymbol": symbol,
                        "PriceCurrencyCode": currency,
                        "Price": price,
                        "PriceApplicableFromDate": valid_from,
                    },
                )
            catalog.append((product.item, product.name, priced_units, product.discontinued))


def _demo_slots(orders: int) -> dict[int, str]:
    """Order index -> demo e-mail, spread evenly over the history, so demo users own orders."""
    slots: dict[int, str] = {}
    cap = orders // 8  # at most an eighth of the orders per contact (none for tiny stores)
    for offset, (email, (share, minimum)) in enumerate(DEMO_ORDER_QUOTAS.items()):
        quota = min(max(minimum, int(orders * share)), cap)
        if quota == 0:
            continue
        for k in range(quota):
            index = int((k + (offset + 0.5) / len(DEMO_ORDER_QUOTAS)) * orders / quota)
            index = min(index, orders - 1)
            while index in slots:
                index = (index + 1) % orders
            slots[index] = email
    return slots


def _forced_statuses(orders: int) -> dict[int, str]:
    """Order index -> processing status for a few recent orders, so every status occurs."""
    forced: dict[int, str] = {}
    for status, age in FORCED_STATUS_AGES.items():
        index = max(0, min(orders - 1, orders - 1 - int(age * orders / HISTORY_DAYS)))
        while index in forced and index > 0:
            index -= 1
        forced.setdefault(index, status)
    return forced


def _status_tables() -> list[tuple[float, list[str], list[int]]]:
    return [
        (limit, [s for s, _ in weights], list(accumulate(w for _, w in weights)))
        for limit, weights in STATUS_BY_AGE
    ]


def _quantity(rng: random.Random, unit: str, precision: int) -> Decimal:
    if precision:
        return Decimal(rng.randint(10**precision, 250 * 10**precision)).scaleb(-precision)
    if unit == "box":
        return Decimal(rng.randint(1, 12))
    if unit == "pal":
        return Decimal(rng.randint(1, 3))
    return Decimal(rng.choice(EACH_QUANTITIES))


def _iter_orders(ctx: _Context, orders: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Sales order headers with their lines, in creation (and ChangeSequence) order."""
    rng = ctx.stream("orders")
    start, anchor = ctx.start, ctx.anchor
    span = (anchor - start).total_seconds()
    orderable = [c for c in ctx.customers if c.price_group]
    by_account = {(c.area, c.account): c for c in orderable}
    sizes = Counter(c.area for c in orderable)
    weights = [COMPANY_SETUP[c.area][2] / sizes[c.area] * rng.uniform(0.3, 3.0) for c in orderable]
    us001 = orderable.index(by_account[DEMO_ACCOUNT_A])
    weights[us001] = US001_SHARE / (1 - US001_SHARE) * (sum(weights) - weights[us001])
    cumulative = list(accumulate(weights))
    total_weight = cumulative[-1]
    demo = {d.email: (by_account[(d.data_area_id, d.account)], d.contact_person_id) for d in DEMO_CONTACTS}
    slots, forced = _demo_slots(orders), _forced_statuses(orders)
    status_tables = _status_tables()
    line_cumulative = list(accumulate(LINE_COUNT_WEIGHTS))
    active_catalog = {g: [p for p in items if not p[3]] for g, items in ctx.catalog.items()}
    numbers = ctx.order_numbers
    numbers.update({area: 0 for area, *_ in LEGAL_ENTITIES})
    for index in range(orders):
        created = start + timedelta(seconds=int(span * (index + rng.random()) / orders))
        age_days = (anchor - created).total_seconds() / 86400
        contact: str | None
        if index in slots:
            customer, contact = demo[slots[index]]
            origin = "Portal"
        else:
            customer = orderable[bisect.bisect(cumulative, rng.random() * total_weight)]
            while customer.on_hold == "All" and age_days < 60:  # blocked: no new orders
                customer = orderable[bisect.bisect(cumulative, rng.random() * total_weight)]
            roll = rng.random()
            origin = "Portal" if roll < 0.3 else "Phone" if roll < 0.8 else "EDI"
            contact = None
            if origin == "Portal" or (origin == "Phone" and rng.random() < 0.5):
                contact = rng.choice(customer.contacts)
        status = forced.get(index)
        if status is None:
            _limit, names, cum = next(t for t in status_tables if age_days < t[0])
            status = names[bisect.bisect(cum, rng.random() * cum[-1])]
        n_lines = bisect.bisect(line_cumulative, rng.random() * line_cumulative[-1]) + 1
        if status in PARTIAL_STATUSES:
            n_lines = max(2, n_lines)
        catalog = (ctx.catalog if age_days > 180 else active_catalog)[customer.price_group or ""]
        items = rng.sample(catalog, n_lines)
        moved_on = (
            set(rng.sample(range(n_lines), rng.randint(1, n_lines - 1)))
            if status in PARTIAL_STATUSES
            else None
        )
        description, street, city, zip_code, country = rng.choice(customer.delivery)
        requested = created.date() + timedelta(days=rng.randint(3, 21))
        confirmed = None
        if status not in UNCONFIRMED_STATUSES:
            confirmed = requested if rng.random() < 0.75 else requested + timedelta(days=rng.randint(1, 10))
        low, high = STATUS_DELAY_HOURS[status]
        delay = timedelta(seconds=rng.randint(low * 3600, high * 3600))
        if created + delay > anchor:
            delay = timedelta(seconds=int((anchor - created).total_seconds() * rng.random()))
        modified = created + delay
        numbers[customer.area] += 1
        ctx.sequence += 1
        reference = None
        if origin == "EDI" or rng.random() < 0.5:
            reference = f"{'EDI' if origin == 'EDI' else 'PO'}-{rng.randint(10000, 999999)}"
        portal_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if origin == "Portal" else None
        sales_status, document_status = PROCESSING_STATUSES[status]
        header = {
            "dataAreaId": customer.area,
            "SalesOrderNumber": format_sales_order_number(numbers[customer.area]),
            "OrderingCustomerAccountNumber": customer.account,
            "InvoiceCustomerAccountNumber": customer.invoice_account,
            "SalesOrderName": customer.name,
            "CurrencyCode": customer.currency,
            "LanguageId": customer.language,
            "PriceCustomerGroupCode": customer.price_group,
            "ContactPersonId": contact,
            "RequestedReceiptDate": requested,
            "ConfirmedReceiptDate": confirmed,
            "DeliveryAddressDescription": description,
            "DeliveryAddressStreet": street,
            "DeliveryAddressCity": city,
            "DeliveryAddressZipCode": zip_code,
            "DeliveryAddressCountryRegionId": country,
            "CustomerRequisitionNumber": reference,
            "SalesOrderOriginCode": origin,
            "PortalOrderId": portal_id,
            "SalesOrderStatus": sales_status,
            "SalesOrderProcessingStatus": status,
            "DocumentStatus": document_status,
            "OrderCreatedDateTime": created,
            "TotalAmount": Decimal(0),
            "ChangeSequence": ctx.sequence,
            "ModifiedDateTime": modified,
        }
        lines = _order_lines(ctx, rng, header, items, moved_on)
        header["TotalAmount"] = sum((line["LineAmount"] for line in lines), Decimal(0))
        yield header, lines


def _order_lines(
    ctx: _Context,
    rng: random.Random,
    header: dict[str, Any],
    items: list[tuple[str, str, list[tuple[str, Decimal, int]], bool]],
    moved_on: set[int] | None,
) -> list[dict[str, Any]]:
    """The lines of one order; ``moved_on`` holds the indexes of lines ahead of the others."""
    moved, others = LINE_STATUSES[header["SalesOrderProcessingStatus"]]
    confirmed = header["ConfirmedReceiptDate"]
    lines = []
    for index, (item, name, units, _discontinued) in enumerate(items):
        unit, price, precision = units[0] if len(units) == 1 else rng.choice(units)
        ordered = _quantity(rng, unit, precision)
        confirmed_quantity = None
        if confirmed is not None:
            confirmed_quantity = ordered
            if rng.random() < 0.05 and ordered > 1:  # the warehouse cannot deliver all of it
                confirmed_quantity = (ordered * Decimal(rng.randint(50, 90)) / 100).quantize(
                    Decimal(1).scaleb(-precision)
                )
        ctx.sequence += 1
        lines.append(
            {
                "dataAreaId": header["dataAreaId"],
                "SalesOrderNumber": header["SalesOrderNumber"],
                "LineNumber": index + 1,
                "ItemNumber": item,
                "LineDescription": name,
                "OrderedSalesQuantity": ordered,
                "ConfirmedSalesQuantity": confirmed_quantity,
                "SalesUnitSymbol": unit,
                "SalesPrice": price,
                "LineAmount": (ordered * price).quantize(CENT, ROUND_HALF_UP),
                "CurrencyCode": header["CurrencyCode"],
                "SalesOrderLineStatus": moved if moved_on is None or index in moved_on else others,
                "RequestedReceiptDate": header["RequestedReceiptDate"],
                "ConfirmedReceiptDate": confirmed,
                "DeliveryAddressDescription": header["DeliveryAddressDescription"],
                "DeliveryAddressCountryRegionId": header["DeliveryAddressCountryRegionId"],
                "ChangeSequence": ctx.sequence,
                "ModifiedDateTime": header["ModifiedDateTime"],
            }
        )
    return lines


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert (executemany) in slices of 20,000 rows."""
    for start in range(0, len(rows), 20_000):
        conn.execute(table.insert(), rows[start : start + 20_000])


def _tune_for_load(conn: Connection, loading: bool) -> None:
    """SQLite: no fsync and a big cache while loading; back to normal afterwards."""
    if conn.dialect.name != "sqlite":
        return
    if loading:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
    else:
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        conn.exec_driver_sql("PRAGMA cache_size=-65536")
    conn.commit()


def generate(
    engine: Engine,
    *,
    seed: int = 7,
    orders: int = 2000,
    anchor_date: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill an EMPTY store with deterministic demo data; return the row count per entity set.

    ``anchor_date`` (default: today, UTC) is the end of the two-year order history. ``progress``
    receives status lines; by default they go to stderr for runs of 50,000 orders or more.
    """
    if orders < 1:
        raise ValueError("orders must be at least 1")
    if anchor_date is None:
        anchor_date = datetime.now(UTC).date()
    if progress is None and orders >= 50_000:
        progress = _stderr
    ctx = _Context(seed, datetime(anchor_date.year, anchor_date.month, anchor_date.day))
    _legal_entities(ctx)
    _customers(ctx, orders)
    _products(ctx)
    _prices(ctx)
    counts = {name: len(ctx.rows.get(name, ())) for name in ENTITY_SETS}
    began = time.perf_counter()
    with engine.connect() as conn:
        empty = store.is_empty(conn)
        conn.rollback()
        if not empty:
            raise ValueError("the ERP store is not empty; generate() only fills an empty store")
        _tune_for_load(conn, True)
        with conn.begin():
            for name, table in ENTITY_SETS.items():
                _insert(conn, table, ctx.rows.get(name, []))
        counts["SalesOrderLines"] = _load_orders(conn, ctx, orders, progress)
        counts["SalesOrderHeadersV2"] = orders
        with conn.begin():
            store.advance_counter(conn, store.CHANGE_SEQUENCE, "", ctx.sequence)
            for area, last in ctx.order_numbers.items():
                store.advance_counter(conn, SALES_ORDER_SEQUENCE, area, last)
        _tune_for_load(conn, False)
        if progress:
            progress("analyzing tables")
        if conn.dialect.name == "postgresql":  # VACUUM also enables index-only scans at once
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    if progress:
        progress(f"done: {orders:,} orders in {time.perf_counter() - began:,.1f} s")
    return counts


def _load_orders(conn: Connection, ctx: _Context, orders: int, progress: Callable[[str], None] | None) -> int:
    """Stream the orders into the store in chunks, one transaction each; return the line count.

    The secondary indexes of the two order tables are dropped for the load and built afterwards
    (faster than maintaining them row by row), also when the load fails.
    """
    headers, lines = ENTITY_SETS["SalesOrderHeadersV2"], ENTITY_SETS["SalesOrderLines"]
    indexes = sorted((i for t in (headers, lines) for i in t.indexes), key=lambda i: str(i.name))
    with conn.begin():
        for index in indexes:
            index.drop(conn)
    began = time.perf_counter()
    header_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    done = line_count = 0
    try:
        for header, order_lines in _iter_orders(ctx, orders):
            header_rows.append(header)
            line_rows.extend(order_lines)
            if len(header_rows) >= CHUNK_ORDERS or done + len(header_rows) == orders:
                with conn.begin():
                    _insert(conn, headers, header_rows)
                    _insert(conn, lines, line_rows)
                done += len(header_rows)
                line_count += len(line_rows)
                header_rows, line_rows = [], []
                if progress and done % 50_000 == 0:
                    rate = done / (time.perf_counter() - began)
                    progress(f"generated {done:,}/{orders:,} orders ({rate:,.0f} orders/s)")
    finally:
        if conn.in_transaction():
            conn.rollback()
        if progress:
            progress("building indexes")
        with conn.begin():
            for index in indexes:
                index.create(conn, checkfirst=True)
    return line_count


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Fill an empty ERP simulator store with demo data.")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:///erp.sqlite")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--anchor-date", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    engine = store.create_store(args.db)
    try:
        counts = generate(
            engine,
            seed=args.seed,
            orders=args.orders,
            anchor_date=args.anchor_date,
            progress=_stderr,
        )
    finally:
        engine.dispose()
    for name, count in counts.items():
        print(f"{name:28} {count:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
