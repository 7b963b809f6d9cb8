"""Fill a portal store with a realistic synthetic order history, fast, on SQLite and PostgreSQL.

Usage: ``python bench/portal_store.py [--db URL] [--orders 1000000] [--seed 7] [--check] [--digest]``
(``--db`` must name an empty database; default: a new SQLite file in a temp dir, printed and kept), or
``python bench/portal_store.py --db URL --check-only [--digest]`` to check an existing store.

Writes the portal's own schema (``data.db.migrate``) directly, without the ERP simulator: 3 legal
entities, about 2,000 customer accounts (``US-001`` in USMF holds 3.7 % of the orders, 37,000 of a
million), their delivery addresses, about 3 contacts per account with web roles and readiness fields (the
demo sign-ins among them), about 500 products released to the legal entities with sales units, 4 price
lists, then N sales orders with about 3.9 lines and 2 timeline events each.

Speed: the orders, lines and events are made by set-based SQL inside the database (``INSERT ... SELECT``
over ``generate_series`` on PostgreSQL, over a recursive CTE on SQLite), in chunks of 100,000 orders.
Every "random" value is an integer hash of the row number and a per-seed salt evaluated in SQL, so the
same seed, order count and anchor date give the same rows on both databases, and no row is ever held in
Python. While loading, the secondary indexes of the three order tables are dropped (on PostgreSQL also
their unique and foreign-key constraints, on SQLite foreign-key enforcement is switched off); they are
recreated afterwards from the DDL the database reported before the load (so whatever the migrations
defined, nothing hard-coded), the foreign keys are validated, and the tables are analyzed.

``--check`` prints the distribution of the order columns and consistency counts that must be 0 (foreign keys,
placed-by contacts of the order's account, totals, numbering); ``--digest`` a content digest of the order
tables (equal on SQLite and PostgreSQL for the same arguments). ``--compare-executemany`` (SQLite) also times
inserting the very same order rows as plain DBAPI tuples with ``executemany`` in chunks of 50,000 into an
empty store: the floor of any generator that builds rows in Python. ``--keep-indexes`` maintains the indexes
during the load instead (to measure what dropping them gains). Results: bench/RESULTS-portal-store.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.db import make_engine, migrate  # noqa: E402
from data.demo import seed_demo  # noqa: E402
from data.models import (  # noqa: E402
    Base,
    Contact,
    ContactRole,
    CustomerAccount,
    DeliveryAddress,
    LegalEntity,
    PriceList,
    PriceListItem,
    Product,
    ProductUnit,
    WebRole,
)
from sync.erp_simulator.demo_data import (  # noqa: E402
    ACCOUNTS_WITHOUT_PRICE_GROUP,
    BRANDS,
    COMPANY_SETUP,
    COUNTRIES,
    DEMO_CONTACTS,
    EACH_QUANTITIES,
    LEGAL_ENTITIES,
    LINE_COUNT_WEIGHTS,
    LINE_STATUSES,
    NOT_RELEASED,
    PARTIAL_STATUSES,
    PRICE_GROUPS,
    PROCESSING_STATUSES,
    PRODUCT_GROUPS,
    STATUS_BY_AGE,
    STATUS_DELAY_HOURS,
    UNCONFIRMED_STATUSES,
)

ANCHOR = date(2026, 11, 20)  # end of the order history (same anchor as bench/generate_orders.py)
HISTORY_DAYS = 3 * 365
ORDER_TABLES = ("sales_orders", "sales_order_lines", "order_events")
CHUNK_ORDERS = 100_000
ACCOUNTS = 2_000
PRODUCTS = 500
BIG_ACCOUNT = ("USMF", "US-001")
BIG_ACCOUNT_SHARE = 0.037  # 37,000 of 1,000,000 orders
PICK_SLOTS = 100_000  # account choice: slot -> account, slots in proportion to the account's weight
P = 2_147_483_647  # 2**31 - 1: the modulus of the SQL hash (every product stays below 2**63)
ORIGINS = (("Portal", 600), ("Phone", 250), ("EDI", 100), ("Email", 50))  # per mille
REJECT_REASONS = (
    "Customer account {account} is on hold.",
    "Credit limit of customer account {account} exceeded.",
    "One or more items are not released to legal entity {entity}.",
    "Requested receipt date falls in a closed period.",
)
TIME_ZONES = {
    "USA": ("America/Chicago", "America/New_York", "America/Los_Angeles", "America/Denver"),
    "DEU": ("Europe/Berlin",),
    "GBR": ("Europe/London",),
}
CENT = Decimal("0.01")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------------
# SQL building blocks (the only dialect differences)


class _Sql:
    """Expressions that differ between SQLite and PostgreSQL, and the seeded hash."""

    def __init__(self, dialect: str, seed: int) -> None:
        self.pg = dialect == "postgresql"
        self.seed = seed
        # Keeps a subquery from being merged into its parent, so each column is computed once per row.
        self.fence = "OFFSET 0" if self.pg else "LIMIT -1 OFFSET 0"

    def rnd(self, key: str, salt: str) -> str:
        """A pseudo-random integer in [0, P) from an integer key: a seeded quadratic hash mod P.

        t = (a*key + b) mod P, r = (c*t*t + t) mod P; a, b, c come from the seed and the salt.
        """
        rng = random.Random(f"{self.seed}:hash:{salt}")
        a, b, c = rng.randrange(1 << 20, P), rng.randrange(P), rng.randrange(1 << 20, P)
        t = f"((CAST({key} AS BIGINT) * {a} + {b}) % {P})"
        return f"((({t} * {t}) % {P} * {c} + {t}) % {P})"

    def series(self, lo: int, hi: int) -> str:
        """A FROM item with one column n from lo to hi."""
        if self.pg:
            return f"generate_series(CAST({int(lo)} AS BIGINT), {int(hi)}) AS g(n)"
        return (
            f"(WITH RECURSIVE s(n) AS (SELECT {int(lo)} UNION ALL SELECT n + 1 FROM s WHERE n < {int(hi)})"
            " SELECT n FROM s) AS g"
        )

    def ts(self, epoch: str) -> str:
        """Epoch seconds to a DateTime value (SQLite: SQLAlchemy's text format, microseconds included)."""
        if self.pg:
            return f"(TIMESTAMP '1970-01-01 00:00:00' + ({epoch}) * INTERVAL '1 second')"
        return f"(datetime({epoch}, 'unixepoch') || '.000000')"

    def day(self, days: str) -> str:
        """Epoch days to a Date value."""
        if self.pg:
            return f"(DATE '1970-01-01' + CAST({days} AS INTEGER))"
        return f"date(({days}) * 86400, 'unixepoch')"

    def plus_seconds(self, column: str, seconds: str) -> str:
        """A DateTime column plus a number of seconds."""
        if self.pg:
            return f"({column} + ({seconds}) * INTERVAL '1 second')"
        return f"(datetime({column}, '+' || ({seconds}) || ' seconds') || '.000000')"

    def zpad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(CAST({expr} AS TEXT), {width}, '0')"
        return f"printf('%0{width}d', {expr})"

    def hexpad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(to_hex({expr}), {width}, '0')"
        return f"printf('%0{width}x', {expr})"

    # Line and event ids follow (order, line) and (order, event). SQLite inserts in that order already (its
    # nested loops run in it) and numbers rows as they come; PostgreSQL hash-joins, so the ids are explicit:
    # for lines from a running line count per order (bench_hdr.line_base), for events by sorting.
    @property
    def id_column(self) -> str:
        return "id, " if self.pg else ""

    def id_value(self, before: int, order: str) -> str:
        return f"{int(before)} + row_number() OVER (ORDER BY {order}), " if self.pg else ""

    def ordered(self, order: str) -> str:
        return f" ORDER BY {order}" if self.pg else ""

    def json(self, expr: str) -> str:
        return f"CAST({expr} AS JSON)" if self.pg else expr


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pick(draw: str, weighted: list[tuple[str, int]]) -> str:
    """CASE choosing a value by weight; ``draw`` must lie in [0, sum of weights)."""
    parts, bound = [], 0
    for value, weight in weighted[:-1]:
        bound += weight
        parts.append(f"WHEN {draw} < {bound} THEN {value}")
    return f"CASE {' '.join(parts)} ELSE {weighted[-1][0]} END" if parts else weighted[-1][0]


# --------------------------------------------------------------------------------------------------
# Master data (built in Python: a few thousand rows)


@dataclass
class _Account:
    id: int
    entity: str
    number: str
    name: str
    currency: str
    language: str
    country: str
    price_list: str | None
    invoice_account: str
    weight: float = 0.0
    first_contact: int = 0
    contacts: int = 0
    first_address: int = 0
    delivery_addresses: int = 0


@dataclass
class _Master:
    """The rows of every master-data table, and what the order SQL needs to know about them."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    accounts: list[_Account] = field(default_factory=list)
    catalog: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # price list -> entries

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


def _ascii(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _master_data(seed: int, accounts: int, anchor: datetime) -> _Master:
    m = _Master()
    start = anchor - timedelta(days=HISTORY_DAYS)
    erp_time = start - timedelta(days=30)
    for entity, name, currency, language, country in LEGAL_ENTITIES:
        m.add(
            "legal_entities",
            {
                "id": entity,
                "name": name,
                "currency_code": currency,
                "language_id": language,
                "country_region_id": country,
                "erp_change_sequence": 1,
                "erp_modified_at": erp_time,
            },
        )
    _accounts(m, random.Random(f"{seed}:accounts"), accounts, erp_time)
    _contacts(m, random.Random(f"{seed}:contacts"), anchor, erp_time)
    _products(m, random.Random(f"{seed}:products"), erp_time)
    return m


def _accounts(m: _Master, rng: random.Random, total: int, erp_time: datetime) -> None:
    """Accounts (half in USMF, 30 % DEMF, 20 % GBSI), 1-3 addresses each; weights for the order spread."""
    account_id = address_id = 0
    location = 100_000
    used: set[str] = set()
    for entity, _name, currency, language, country in LEGAL_ENTITIES:
        prefix, _count, share, first_name, groups = COMPANY_SETUP[entity]
        words = COUNTRIES[country]
        for number in range(1, round(total * share) + 1):
            account_id += 1
            city, zip_prefix = rng.choice(words["cities"]).split(":")
            if number == 1:
                name, stem = first_name, " ".join(first_name.split()[:2])
            else:
                stem = f"{rng.choice(words['words'])} {rng.choice(words['kinds'])}"
                if stem in used:
                    stem = f"{stem} {city}"
                if stem in used:
                    stem = f"{stem} {number}"
                name = f"{stem} {rng.choice(words['forms'])}"
            used.add(stem)
            price_list: str | None = groups[0]
            if len(groups) > 1 and (number == 1 or rng.random() < 0.35):
                price_list = groups[1]
            if (
                entity,
                f"{prefix}{number:03d}",
            ) in ACCOUNTS_WITHOUT_PRICE_GROUP:  # "missing setup": no orders
                price_list = None
            invoice = f"{prefix}{number:03d}"
            if number > 3 and rng.random() < 0.15:
                invoice = f"{prefix}{rng.randint(2, 3):03d}"
            on_hold = "No"
            if number > 3 and rng.random() < 0.01:
                on_hold = rng.choice(("Invoice", "All"))
            account = _Account(
                account_id,
                entity,
                f"{prefix}{number:03d}",
                name,
                currency,
                language,
                country,
                price_list,
                invoice,
                weight=share / round(total * share) * rng.lognormvariate(0, 1),
            )
            m.accounts.append(account)
            m.add(
                "customer_accounts",
                {
                    "id": account_id,
                    "legal_entity_id": entity,
                    "account_number": account.number,
                    "name": name,
                    "customer_group": "20" if number == 1 else rng.choice(("10", "20", "30")),
                    "currency_code": currency,
                    "language_id": language,
                    "price_list_code": price_list,
                    "invoice_account_number": invoice,
                    "credit_limit": Decimal(
                        1_000_000 if number == 1 else rng.choice((10, 25, 50, 100, 250, 500)) * 1000
                    ),
                    "on_hold_status": on_hold,
                    "country_region_id": country,
                    "erp_change_sequence": 100 + account_id,
                    "erp_modified_at": erp_time,
                },
            )
            addresses: list[dict[str, Any]] = []
            for index in range(3 if number == 1 else rng.choice((1, 1, 2, 2, 3))):
                city, zip_prefix = (
                    (city, zip_prefix) if index == 0 else rng.choice(words["cities"]).split(":")
                )
                place = words["places"][0] if index == 0 else rng.choice(words["places"][1:])
                street_name, house = rng.choice(words["streets"]), rng.randint(1, 250)
                location += 1 + rng.randint(0, 20)
                addresses.append(
                    {
                        "erp_location_id": f"{location:09d}",
                        "description": place if index == 0 else f"{place} {city}",
                        "street": f"{street_name} {house}" if country == "DEU" else f"{house} {street_name}",
                        "city": city,
                        "zip_code": _postcode(rng, country, zip_prefix),
                        "country_region_id": country,
                        "is_primary": index == 0,
                        "is_delivery": index == 0 or rng.random() < 0.8,
                    }
                )
            # Delivery addresses first: an order picks one of the first `delivery_addresses` of its account.
            addresses.sort(key=lambda a: not a["is_delivery"])
            account.first_address = address_id + 1
            account.delivery_addresses = sum(a["is_delivery"] for a in addresses)
            for address in addresses:
                address_id += 1
                m.add(
                    "delivery_addresses",
                    {
                        "id": address_id,
                        "customer_account_id": account_id,
                        "origin": "erp",
                        "erp_change_sequence": 10_000 + address_id,
                        "erp_modified_at": erp_time,
                        **address,
                    },
                )
    _weigh_accounts(m)


def _weigh_accounts(m: _Master) -> None:
    """Order shares: US-001 gets BIG_ACCOUNT_SHARE, the rest keep their company's share (lognormal spread)."""
    orderable = [a for a in m.accounts if a.price_list]
    big = next(a for a in orderable if (a.entity, a.number) == BIG_ACCOUNT)
    others = sum(a.weight for a in orderable if a is not big)
    for account in orderable:
        account.weight = (
            BIG_ACCOUNT_SHARE if account is big else account.weight / others * (1 - BIG_ACCOUNT_SHARE)
        )


def _postcode(rng: random.Random, country: str, prefix: str) -> str:
    if country == "USA":
        return f"{prefix}{rng.randint(1, 99):02d}"
    if country == "DEU":
        return f"{prefix}{rng.randint(1, 999):03d}"
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{prefix} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _contacts(m: _Master, rng: random.Random, anchor: datetime, erp_time: datetime) -> None:
    """2-4 contacts per account (6 at US-001); the first is the customer representative, the others
    authorized users. The demo sign-ins are the first contacts of US-001 and DE-001."""
    demo: dict[tuple[str, str], list[Any]] = {}
    for d in DEMO_CONTACTS:
        demo.setdefault((d.data_area_id, d.account), []).append(d)
    primary_country = {
        r["customer_account_id"]: r["country_region_id"]
        for r in m.rows["delivery_addresses"]
        if r["is_primary"]
    }
    contact_id = 0
    emails: set[str] = set()
    for account in m.accounts:
        words = COUNTRIES[account.country]
        fixed = demo.get((account.entity, account.number), [])
        count = (
            6 if (account.entity, account.number) == BIG_ACCOUNT else max(len(fixed) + 1, rng.randint(2, 4))
        )
        domain = _ascii(" ".join(account.name.split()[:2])) + "." + words["tld"][0]
        account.first_contact, account.contacts = contact_id + 1, count
        for index in range(count):
            contact_id += 1
            if index < len(fixed):
                first, last, email = fixed[index].first_name, fixed[index].last_name, fixed[index].email
            else:
                first, last = rng.choice(words["first"]), rng.choice(words["last"])
                email = f"{_ascii(first)}.{_ascii(last)}@{domain}"
                while email in emails:
                    email = email.replace("@", f"{rng.randint(1, 9)}@", 1)
            emails.add(email)
            signed_in = None
            if rng.random() < 0.7:
                signed_in = anchor - timedelta(seconds=rng.randint(0, 60 * 86400))
            m.add(
                "contacts",
                {
                    "id": contact_id,
                    "erp_contact_id": f"CP-{contact_id:06d}",
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "legal_entity_id": account.entity,
                    "customer_account_id": account.id,
                    "price_list_code": account.price_list,
                    "currency_code": account.currency,
                    "ship_to_country_region_id": primary_country[account.id],
                    "language_id": account.language,
                    "password_hash": None,
                    "is_enabled": index < len(fixed) or rng.random() < 0.98,
                    "session_version": 1,
                    "last_sign_in_at": signed_in,
                    "time_zone": rng.choice(TIME_ZONES[account.country]),
                    "origin": "erp",
                    "erp_change_sequence": 20_000 + contact_id,
                    "erp_modified_at": erp_time,
                    "created_at": erp_time,
                    "updated_at": erp_time,
                },
            )
            role = WebRole.CUSTOMER_REPRESENTATIVE if index == 0 else WebRole.AUTHORIZED_USER
            m.add("contact_roles", {"contact_id": contact_id, "role": role.value})


def _products(m: _Master, rng: random.Random, erp_time: datetime) -> None:
    """About 500 items (the ERP simulator's product groups, scaled), released per legal entity with their
    sales units; 4 price lists with a price per item and unit; the catalog the order lines draw from."""
    scale = PRODUCTS / sum(spec[4] for spec in PRODUCT_GROUPS.values())
    items: list[dict[str, Any]] = []
    names: set[str] = set()
    for group, (unit, precision, (low, high), kinds, count, packs) in PRODUCT_GROUPS.items():
        for _ in range(round(count * scale)):
            name = ""
            while not name or name in names:
                name = (
                    f"{rng.choice(BRANDS)} {rng.choice(kinds)} {rng.choice('SXMP')}{rng.randint(10, 99) * 10}"
                )
            names.add(name)
            units = [(unit, 1, precision)]
            if rng.random() < 0.6:
                box = rng.choice(packs)
                units.append(("box", box, 0))
                if unit == "ea" and rng.random() < 0.3:
                    units.append(("pal", box * rng.choice((10, 20)), 0))
            cents = rng.randint(low * 100, high * 100)
            if cents >= 1000:
                cents = cents // 100 * 100 + 99
            items.append(
                {
                    "item": f"A{len(items) + 1:04d}",
                    "name": name,
                    "group": group,
                    "units": units,
                    "price": Decimal(cents).scaleb(-2),
                    "discontinued": rng.random() < 0.05,
                }
            )
    released = {
        entity: set(range(len(items))) - set(rng.sample(range(len(items)), NOT_RELEASED[entity]))
        for entity, *_ in LEGAL_ENTITIES
    }
    product_id = unit_id = 0
    for entity, *_ in LEGAL_ENTITIES:
        for index, item in enumerate(items):
            if index not in released[entity]:
                continue
            product_id += 1
            m.add(
                "products",
                {
                    "id": product_id,
                    "legal_entity_id": entity,
                    "item_number": item["item"],
                    "name": item["name"],
                    "product_group": item["group"],
                    "default_sales_unit": item["units"][0][0],
                    "lifecycle_state": "Discontinued" if item["discontinued"] else "Active",
                    "erp_change_sequence": 30_000 + product_id,
                    "erp_modified_at": erp_time,
                },
            )
            for symbol, factor, precision in item["units"]:
                unit_id += 1
                m.add(
                    "product_units",
                    {
                        "id": unit_id,
                        "product_id": product_id,
                        "unit_symbol": symbol,
                        "conversion_factor": Decimal(factor),
                        "decimal_precision": precision,
                        "erp_change_sequence": 40_000 + unit_id,
                        "erp_modified_at": erp_time,
                    },
                )
    agreement = 0
    for list_id, (entity, code, name, currency, rate) in enumerate(PRICE_GROUPS, start=1):
        m.add(
            "price_lists",
            {
                "id": list_id,
                "legal_entity_id": entity,
                "code": code,
                "name": name,
                "currency_code": currency,
                "erp_change_sequence": 50_000 + list_id,
                "erp_modified_at": erp_time,
            },
        )
        entries = m.catalog.setdefault(code, [])
        for index, item in enumerate(items):
            if index not in released[entity]:
                continue
            unit_price = (item["price"] * rate).quantize(CENT, ROUND_HALF_UP)
            prices = []
            for symbol, factor, precision in item["units"]:
                agreement += 1
                price = (unit_price * factor).quantize(CENT, ROUND_HALF_UP)
                prices.append((symbol, int(price * 100), precision))
                m.add(
                    "price_list_items",
                    {
                        "id": agreement,
                        "erp_agreement_id": agreement,
                        "price_list_id": list_id,
                        "item_number": item["item"],
                        "unit_symbol": symbol,
                        "currency_code": currency,
                        "price": price,
                        "valid_from": erp_time.date(),
                        "erp_change_sequence": 60_000 + agreement,
                        "erp_modified_at": erp_time,
                    },
                )
            entries.append({"item_number": item["item"], "name": item["name"], "units": prices})


MASTER_MODELS = (
    LegalEntity,
    CustomerAccount,
    DeliveryAddress,
    Contact,
    ContactRole,
    Product,
    ProductUnit,
    PriceList,
    PriceListItem,
)


def _load_master(conn: Connection, m: _Master) -> int:
    rows = 0
    for model in MASTER_MODELS:
        table = Base.metadata.tables[model.__tablename__]
        batch = m.rows.get(table.name, [])
        for start in range(0, len(batch), 5000):
            conn.execute(insert(table), batch[start : start + 5000])
        rows += len(batch)
    return rows


def _bulk(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Plain tuples into a table: COPY on PostgreSQL, executemany on SQLite."""
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    elif rows:
        marks = ", ".join("?" * len(rows[0]))
        dbapi.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # type: ignore[union-attr]


def _load_helpers(conn: Connection, m: _Master) -> tuple[dict[str, int], dict[str, int]]:
    """Temporary tables the order SQL joins: account slots, line numbers and the per-list catalog."""
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE bench_pick (slot INTEGER PRIMARY KEY, account_id INTEGER, entity VARCHAR(10),"
        " account_number VARCHAR(20), invoice_account VARCHAR(20), account_name VARCHAR(200),"
        " currency VARCHAR(3), language VARCHAR(10), price_list VARCHAR(20), list_no INTEGER,"
        " list_size INTEGER, first_contact INTEGER, contacts INTEGER, first_address INTEGER,"
        " addresses INTEGER)"
    )
    conn.exec_driver_sql("CREATE TEMPORARY TABLE bench_k (k INTEGER PRIMARY KEY)")
    # One row per price list, catalog position and unit choice (0: the default unit, 1: the box, 2: the
    # pallet, each falling back to the one before), keyed by ((list_no * 1024 + k) * 4 + choice), with what
    # the quantity draw needs: "each" units draw from EACH_QUANTITIES, the others from qbase + [0, qrange).
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE bench_catalog (id INTEGER PRIMARY KEY, item_number VARCHAR(30),"
        " name VARCHAR(200), unit VARCHAR(10), price BIGINT, pow10 INTEGER, each INTEGER, qbase INTEGER,"
        " qrange INTEGER)"
    )
    list_no = {code: number for number, (_e, code, *_r) in enumerate(PRICE_GROUPS, start=1)}
    list_size = {code: len(entries) for code, entries in m.catalog.items()}
    orderable = [a for a in m.accounts if a.price_list]
    # Largest remainder: every orderable account gets at least one slot.
    exact = [a.weight * PICK_SLOTS for a in orderable]
    slots = [max(1, int(x)) for x in exact]
    by_remainder = sorted(range(len(orderable)), key=lambda i: (slots[i] - exact[i], i))
    for i in by_remainder[: PICK_SLOTS - sum(slots)]:
        slots[i] += 1
    pick, slot = [], 0
    for account, count in zip(orderable, slots, strict=True):
        code = account.price_list or ""
        row = (
            account.id,
            account.entity,
            account.number,
            account.invoice_account,
            account.name,
            account.currency,
            account.language,
            code,
            list_no[code],
            list_size[code],
            account.first_contact,
            account.contacts,
            account.first_address,
            account.delivery_addresses,
        )
        for _ in range(count):
            pick.append((slot, *row))
            slot += 1
    assert slot == PICK_SLOTS, slot
    catalog = []
    for code, entries in m.catalog.items():
        for k, entry in enumerate(entries):
            units = entry["units"]
            choices = (units[0], units[min(1, len(units) - 1)], units[min(2, len(units) - 1)])
            for choice, (unit, price, precision) in enumerate(choices):
                pow10 = 10**precision
                each = precision == 0 and unit not in ("box", "pal")
                base, width = {"box": (1, 12), "pal": (1, 3)}.get(unit, (pow10, 249 * pow10 + 1))
                catalog.append(
                    (
                        (list_no[code] * 1024 + k) * 4 + choice,
                        entry["item_number"],
                        entry["name"],
                        unit,
                        price,
                        pow10,
                        int(each),
                        base,
                        width,
                    )
                )
    _bulk(conn, "bench_pick", pick)
    _bulk(conn, "bench_catalog", catalog)
    _bulk(conn, "bench_k", [(k,) for k in range(1, len(LINE_COUNT_WEIGHTS) + 1)])
    conn.exec_driver_sql("ANALYZE bench_pick")
    conn.exec_driver_sql("ANALYZE bench_catalog")
    conn.exec_driver_sql("ANALYZE bench_k")
    share = {a.number: n for a, n in zip(orderable, slots, strict=True) if a.entity == BIG_ACCOUNT[0]}
    return list_size, share


# --------------------------------------------------------------------------------------------------
# The order history in SQL


@dataclass(frozen=True)
class _Frame:
    orders: int
    anchor_s: int  # epoch seconds of the anchor (end of history)
    span_s: int

    @property
    def start_s(self) -> int:
        return self.anchor_s - self.span_s


def _header_sql(q: _Sql, f: _Frame, lo: int, hi: int) -> str:
    """One row per order n in [lo, hi] with every header decision (kept in bench_hdr for lines and orders).

    Each level is fenced so that a value the next level uses several times is computed once.
    """
    r = q.rnd
    draws = {
        "r_origin": f"{r('n', 'origin')} % 1000",
        "r_sync": f"{r('n', 'sync')} % 1000",
        "r_status": f"{r('n', 'status')} % 100",
        "r_contact": r("n", "contact"),
        "r_requested": f"{r('n', 'requested')} % 19",
        "r_confirm": f"{r('n', 'confirm')} % 100",
        "r_confirm_days": f"{r('n', 'confirm-days')} % 10",
        "r_delay": r("n", "delay"),
        "r_capped": f"{r('n', 'capped')} % 1000",
        "r_ref": f"{r('n', 'reference')} % 100",
        "r_ref_no": f"{r('n', 'reference-number')} % 900000",
        "r_lines": f"{r('n', 'lines')} % 100",
        "r_k0": r("n", "first-item"),
        "r_step": r("n", "item-step"),
        "r_reject": f"{r('n', 'reject')} % {len(REJECT_REASONS)}",
        "u1": r("n", "uuid-1"),
        "u2": f"{r('n', 'uuid-2')} % 65536",
        "u3": f"{r('n', 'uuid-3')} % 4096",
        "u4": f"{r('n', 'uuid-4')} % 16384",
    }
    level1 = (
        f"SELECT g.n, {', '.join(f'{expr} AS {name}' for name, expr in draws.items())},"
        f" {f.start_s} + ((g.n - 1) * {f.span_s} + {r('g.n', 'time')} % {f.span_s}) / {f.orders} AS created,"
        " p.account_id, p.entity, p.account_number, p.invoice_account, p.account_name, p.currency,"
        " p.language,"
        f" p.price_list, p.list_no, p.list_size, p.first_contact, p.contacts,"
        f" a.description AS addr_description, a.street AS addr_street, a.city AS addr_city,"
        f" a.zip_code AS addr_zip, a.country_region_id AS addr_country"
        f" FROM {q.series(lo, hi)}"
        f" JOIN bench_pick p ON p.slot = {r('g.n', 'account')} % {PICK_SLOTS}"
        f" JOIN delivery_addresses a ON a.id = p.first_address + {r('g.n', 'address')} % p.addresses"
    )
    origin = _pick("d.r_origin", [(_lit(code), weight) for code, weight in ORIGINS])
    age = f"({f.anchor_s} - d.created)"
    sync_state = (
        f"CASE WHEN d.r_origin >= {ORIGINS[0][1]} THEN 'accepted'"
        f" WHEN {age} < 86400 AND d.r_sync < 500 THEN 'submitted'"
        f" WHEN {age} < 3 * 86400 AND d.r_sync < 100 THEN 'submitted'"
        f" WHEN d.r_sync >= 995 THEN 'rejected' ELSE 'accepted' END"
    )  # ORIGINS[0] is the portal: only portal orders wait for the ERP or are rejected by it
    by_age = " ".join(
        f"WHEN {age} < {int(limit * 86400)} THEN {_pick('d.r_status', [(_lit(st), w) for st, w in weights])}"
        for limit, weights in STATUS_BY_AGE[:-1]
    )
    last = _pick("d.r_status", [(_lit(st), w) for st, w in STATUS_BY_AGE[-1][1]])
    status = f"CASE WHEN ({sync_state}) <> 'accepted' THEN 'Active' {by_age} ELSE {last} END"
    level2 = (
        f"SELECT d.*, {origin} AS origin_code, {sync_state} AS sync_state, {status} AS status"
        f" FROM ({level1} {q.fence}) d"
    )
    lines = _pick("t.r_lines", [(str(i + 1), w) for i, w in enumerate(LINE_COUNT_WEIGHTS)])
    partial = ", ".join(_lit(s) for s in PARTIAL_STATUSES)
    n_lines = f"CASE WHEN t.status IN ({partial}) AND {lines} < 2 THEN 2 ELSE {lines} END"
    line_base = ""  # PostgreSQL: the chunk's lines before this order's, for the line ids
    if q.pg:
        line_base = f" SUM({n_lines}) OVER (ORDER BY t.n ROWS UNBOUNDED PRECEDING) - {n_lines} AS line_base,"
    unconfirmed = ", ".join(_lit(s) for s in UNCONFIRMED_STATUSES)
    hours = STATUS_DELAY_HOURS.items()
    low = "CASE t.status " + " ".join(f"WHEN {_lit(s)} THEN {lo_h * 3600}" for s, (lo_h, _) in hours) + " END"
    width = (
        "CASE t.status "
        + " ".join(f"WHEN {_lit(s)} THEN {(hi_h - lo_h) * 3600 + 1}" for s, (lo_h, hi_h) in hours)
        + " END"
    )
    delay = f"({low} + t.r_delay % {width})"
    requested = "(t.created / 86400 + 3 + t.r_requested)"
    confirmed = (
        f"CASE WHEN t.sync_state <> 'accepted' OR t.status IN ({unconfirmed}) THEN NULL"
        f" WHEN t.r_confirm < 75 THEN {requested} ELSE {requested} + 1 + t.r_confirm_days END"
    )
    modified = (
        f"CASE WHEN t.sync_state <> 'accepted' THEN NULL"
        f" WHEN t.created + {delay} <= {f.anchor_s} THEN t.created + {delay}"
        f" ELSE t.created + ({f.anchor_s} - t.created) * t.r_capped / 1000 END"
    )
    return (
        "SELECT t.n, t.account_id, t.entity, t.account_number, t.invoice_account, t.account_name, t.currency,"
        " t.language, t.price_list, t.list_no, t.list_size, t.addr_description, t.addr_street, t.addr_city,"
        " t.addr_zip, t.addr_country, t.origin_code, t.sync_state, t.status, t.r_ref, t.r_ref_no,"
        " t.r_reject, t.u1, t.u2, t.u3, t.u4,"
        f" {n_lines} AS n_lines,{line_base}"
        f" t.r_k0 % t.list_size AS k0, 1 + t.r_step % (t.list_size / {len(LINE_COUNT_WEIGHTS)}) AS step,"
        f" {q.ts('t.created')} AS created, {q.day(requested)} AS requested,"
        f" {q.day(f'({confirmed})')} AS confirmed, {q.ts(f'({modified})')} AS modified,"
        " CASE WHEN t.origin_code = 'Portal' THEN t.first_contact + t.r_contact % t.contacts END AS"
        " contact_id"
        f" FROM ({level2} {q.fence}) t"
    )


EACH = "".join(f"{v:03d}" for v in EACH_QUANTITIES)  # EACH_QUANTITIES[i] = substr(EACH, 3 * i + 1, 3)


def _lines_sql(q: _Sql, before: int) -> str:
    """The lines of the orders in bench_hdr: distinct catalog entries, units, quantities, prices, statuses."""
    key = "(h.n * 8 + k.k)"
    r = q.rnd
    position = f"CAST(3 * ({r(key, 'quantity')} % {len(EACH_QUANTITIES)}) + 1 AS INTEGER)"
    each = f"CAST(substr('{EACH}', {position}, 3) AS INTEGER)"
    choice = (
        f"CASE WHEN {r(key, 'unit')} % 100 < 70 THEN 0 WHEN {r(key, 'unit')} % 100 < 95 THEN 1 ELSE 2 END"
    )
    level1 = (
        f"SELECT h.n, k.k, {'h.line_base, ' if q.pg else ''}h.n_lines, h.status, h.currency, h.requested,"
        " h.confirmed, h.addr_description,"
        " h.addr_country, h.modified, c.item_number, c.name, c.unit, c.price, c.pow10,"
        f" CASE WHEN c.each = 1 THEN {each} ELSE c.qbase + {r(key, 'quantity')} % c.qrange END AS qu,"
        f" {r(key, 'short')} % 100 AS r_short, {r(key, 'short-share')} % 41 AS r_short_pct,"
        f" {r(key, 'moved')} % 2 AS r_moved"
        " FROM bench_hdr h CROSS JOIN bench_k k JOIN bench_catalog c"
        f" ON c.id = (h.list_no * 1024 + (h.k0 + (k.k - 1) * h.step) % h.list_size) * 4 + {choice}"
        " WHERE k.k <= h.n_lines"
    )
    moved = " ".join(f"WHEN {_lit(s)} THEN {_lit(m)}" for s, (m, _o) in LINE_STATUSES.items())
    others = " ".join(f"WHEN {_lit(s)} THEN {_lit(o)}" for s, (_m, o) in LINE_STATUSES.items())
    line_status = (
        f"CASE WHEN x.k = 1 OR (x.k < x.n_lines AND x.r_moved = 1) THEN CASE x.status {moved} END"
        f" ELSE CASE x.status {others} END END"
    )  # in a partly delivered or invoiced order the first line has moved on, the last one has not
    confirmed_qty = (
        "CASE WHEN x.confirmed IS NULL THEN NULL"
        " WHEN x.r_short < 5 AND x.qu > x.pow10 THEN (x.qu * (50 + x.r_short_pct) / 100) / (x.pow10 * 1.0)"
        " ELSE x.qu / (x.pow10 * 1.0) END"
    )  # 5 % of the confirmed lines fall short: the warehouse confirms 50-90 %
    insert = (
        f"INSERT INTO sales_order_lines ({q.id_column}order_id, line_number, item_number, description,"
        " quantity,"
        " confirmed_quantity, unit_symbol, unit_price, line_amount, currency_code, line_status,"
        " requested_receipt_date, confirmed_receipt_date, delivery_address_description,"
        " delivery_address_country_region_id, erp_change_sequence, erp_modified_at)"
        f" SELECT {f'{int(before)} + x.line_base + x.k, ' if q.pg else ''}x.n, x.k, x.item_number, x.name,"
        f" x.qu / (x.pow10 * 1.0), {confirmed_qty}, x.unit, x.price / 100.0,"
        f" ((2 * x.qu * x.price + x.pow10) / (2 * x.pow10)) / 100.0, x.currency, {line_status},"
        " x.requested, x.confirmed, x.addr_description, x.addr_country,"
        " CASE WHEN x.modified IS NOT NULL THEN x.n * 10 + x.k END, x.modified"
        f" FROM ({level1} {q.fence}) x"
    )
    if q.pg:  # the order totals from the rows just written (the unique (order_id, line_number) index is off)
        return (
            f"WITH written AS ({insert} RETURNING order_id, line_amount) INSERT INTO bench_totals"
            " SELECT order_id, CAST(ROUND(SUM(line_amount) * 100) AS BIGINT) FROM written GROUP BY order_id"
        )
    return insert


def _orders_sql(q: _Sql, numbers: dict[str, int]) -> str:
    """The orders in bench_hdr, numbered per company, with the sum of the lines just written."""
    offset = "CASE h.entity " + " ".join(f"WHEN {_lit(e)} THEN {int(v)}" for e, v in numbers.items()) + " END"
    number = (
        f"CASE WHEN h.sync_state = 'accepted' THEN 'SO-' || "
        f"{q.zpad(f'{offset} + row_number() OVER (PARTITION BY h.entity, h.sync_state ORDER BY h.n)', 7)} END"
    )
    uuid = (
        f"{q.hexpad('h.u1', 8)} || '-' || {q.hexpad('h.u2', 4)} || '-4' || {q.hexpad('h.u3', 3)} || '-' ||"
        f" {q.hexpad('32768 + h.u4', 4)} || '-' ||"
        f" {q.hexpad('(h.n * 181060476119 + 12345) % 281474976710656', 12)}"
    )  # the last group is a bijection of n: unique
    reasons = " ".join(
        f"WHEN {i} THEN "
        + " || ".join(
            _lit(part) if j % 2 == 0 else {"account": "h.account_number", "entity": "h.entity"}[part]
            for j, part in enumerate(re.split(r"\{(\w+)\}", reason))
            if part or j % 2
        )
        for i, reason in enumerate(REJECT_REASONS)
    )
    sales = " ".join(f"WHEN {_lit(s)} THEN {_lit(v[0])}" for s, v in PROCESSING_STATUSES.items())
    document = " ".join(f"WHEN {_lit(s)} THEN {_lit(v[1])}" for s, v in PROCESSING_STATUSES.items())
    reference = (
        "CASE WHEN h.origin_code = 'EDI' THEN 'EDI-' || CAST(100000 + h.r_ref_no AS TEXT)"
        " WHEN h.r_ref < 50 THEN 'PO-' || CAST(10000 + h.r_ref_no AS TEXT) END"
    )
    if q.pg:  # summed while the lines were written
        total, join = "t.cents", " JOIN bench_totals t ON t.order_id = h.n"
    else:  # SQLite keeps the unique (order_id, line_number) index (it belongs to the table): look them up
        total = (
            "(SELECT CAST(ROUND(SUM(line_amount) * 100) AS BIGINT) FROM sales_order_lines l"
            " WHERE l.order_id = h.n)"
        )
        join = ""
    return (
        "INSERT INTO sales_orders (id, portal_order_id, sales_order_number, legal_entity_id,"
        " customer_account_id,"
        " ordering_customer_account_number, invoice_customer_account_number, sales_order_name, currency_code,"
        " language_id, price_list_code, contact_person_id, placed_by_contact_id, order_date,"
        " requested_receipt_date, confirmed_receipt_date, delivery_address_description,"
        " delivery_address_street, delivery_address_city, delivery_address_zip_code,"
        " delivery_address_country_region_id, customer_requisition_number, origin, origin_code, sales_status,"
        " document_status, processing_status, sync_state, reject_reason, total_amount, erp_change_sequence,"
        " erp_modified_at, created_at, updated_at)"
        f" SELECT h.n, CASE WHEN h.origin_code = 'Portal' THEN {uuid} END, {number}, h.entity, h.account_id,"
        " h.account_number, h.invoice_account, h.account_name, h.currency, h.language, h.price_list,"
        f" CASE WHEN h.contact_id IS NOT NULL THEN 'CP-' || {q.zpad('h.contact_id', 6)} END, h.contact_id,"
        " h.created, h.requested, h.confirmed,"
        " h.addr_description, h.addr_street, h.addr_city, h.addr_zip, h.addr_country, "
        f" {reference}, CASE WHEN h.origin_code = 'Portal' THEN 'portal' ELSE 'erp' END, h.origin_code,"
        f" CASE h.status {sales} END, CASE h.status {document} END, h.status, h.sync_state,"
        f" CASE WHEN h.sync_state = 'rejected' THEN CASE h.r_reject {reasons} END END,"
        f" {total} / 100.0, CASE WHEN h.modified IS NOT NULL THEN h.n * 10 END,"
        " h.modified, h.created, COALESCE(h.modified, h.created)"
        f" FROM bench_hdr h{join} ORDER BY h.n"
    )


def _events_sql(q: _Sql, lo: int, hi: int, before: int) -> str:
    """1-2 timeline entries per order, read back from the orders just written."""
    after = f"(30 + {q.rnd('o.id', 'event-delay')} % 570)"
    kind = (
        "CASE WHEN e.e = 1 THEN CASE WHEN o.origin = 'portal' THEN 'submitted' ELSE 'created_in_erp' END"
        " WHEN o.origin = 'erp' THEN 'status_changed' ELSE o.sync_state END"
    )
    at = (
        f"CASE WHEN e.e = 1 THEN o.order_date WHEN o.origin = 'erp' THEN o.erp_modified_at"
        f" ELSE {q.plus_seconds('o.order_date', after)} END"
    )
    detail = (
        "CASE WHEN e.e = 1 THEN CASE WHEN o.origin = 'portal' THEN 'Placed in the portal'"
        " ELSE 'Entered in the ERP (' || o.origin_code || ')' END"
        " WHEN o.sync_state = 'accepted' AND o.origin = 'portal' THEN 'Accepted by the ERP as ' ||"
        " o.sales_order_number"
        " WHEN o.sync_state = 'rejected' THEN o.reject_reason END"
    )
    second = (
        "(o.origin = 'portal' AND o.sync_state <> 'submitted')"
        " OR (o.origin = 'erp' AND o.processing_status <> 'Active')"
    )
    return (
        f"INSERT INTO order_events ({q.id_column}order_id, occurred_at, kind, from_status, to_status, detail)"
        f" SELECT {q.id_value(before, 'o.id, e.e')}o.id, {at}, {kind},"
        " CASE WHEN e.e = 2 AND o.origin = 'erp' THEN 'Active' END,"
        " CASE WHEN e.e = 1 OR o.sync_state = 'accepted' THEN CASE WHEN o.origin = 'erp' AND e.e = 2"
        " THEN o.processing_status ELSE 'Active' END END,"
        f" {detail}"
        f" FROM sales_orders o CROSS JOIN (SELECT 1 AS e UNION ALL SELECT 2) e"
        f" WHERE o.id BETWEEN {int(lo)} AND {int(hi)} AND (e.e = 1 OR {second}){q.ordered('o.id, e.e')}"
    )


def _outbox_sql(q: _Sql) -> str:
    """Outbox entries of the portal orders the ERP has not accepted: pending ones and failed ones."""
    payload = q.json("'{\"portal_order_id\": \"' || portal_order_id || '\"}'")
    return (
        "INSERT INTO sync_outbox (entity, entity_id, operation, idempotency_key, payload, state, attempts,"
        " next_attempt_at, last_error, created_at, updated_at)"
        f" SELECT 'sales_order', id, 'create', portal_order_id, {payload},"
        " CASE sync_state WHEN 'submitted' THEN 'pending' ELSE 'failed' END,"
        " CASE sync_state WHEN 'submitted' THEN 0 ELSE 1 END,"
        " CASE sync_state WHEN 'submitted' THEN order_date END, reject_reason, order_date, updated_at"
        " FROM sales_orders WHERE sync_state <> 'accepted' ORDER BY id"
    )


# --------------------------------------------------------------------------------------------------
# Indexes and constraints around the load


@dataclass
class _Ddl:
    """Secondary indexes and constraints of the order tables, as the database itself reports them."""

    drops: list[str] = field(default_factory=list)  # indexes and unique constraints
    creates: list[str] = field(default_factory=list)
    fk_drops: list[str] = field(default_factory=list)  # PostgreSQL only: the lines are written before
    fk_creates: list[str] = field(default_factory=list)  # their orders; re-adding one checks every row


def _capture_ddl(conn: Connection) -> _Ddl:
    ddl = _Ddl()
    if conn.dialect.name == "postgresql":
        tables = ", ".join(f"'{t}'::regclass" for t in ORDER_TABLES)
        constraints = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM"
                " pg_constraint"
                f" WHERE conrelid IN ({tables}) AND contype IN ('u', 'f') ORDER BY contype DESC, conname"
            )
        ).all()
        indexes = conn.execute(
            text(
                f"SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                f" JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid IN ({tables})"
                f" AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
                f" ORDER BY c.relname"
            )
        ).all()
        for table, name, kind, definition in constraints:
            (ddl.fk_drops if kind == "f" else ddl.drops).append(
                f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'
            )
            (ddl.fk_creates if kind == "f" else ddl.creates).append(
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            )
        for name, definition in indexes:
            ddl.drops.append(f'DROP INDEX "{name}"')
            ddl.creates.append(definition)
    else:
        placeholders = ", ".join(f"'{t}'" for t in ORDER_TABLES)
        for name, sql in conn.execute(
            text(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({placeholders})"
                " AND sql IS NOT NULL ORDER BY name"
            )
        ):
            ddl.drops.append(f'DROP INDEX "{name}"')
            ddl.creates.append(sql)
    return ddl


def _schema_fingerprint(conn: Connection) -> list[Any]:
    """What the inspector says about the order tables' indexes and constraints (compared after the load)."""
    insp = inspect(conn)
    out: list[Any] = []
    for table in ORDER_TABLES:
        out.append(
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table))
        )
        out.append(sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)))
        out.append(
            sorted(
                (
                    k["name"],
                    tuple(k["constrained_columns"]),
                    k["referred_table"],
                    tuple(k["referred_columns"]),
                )
                for k in insp.get_foreign_keys(table)
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# The build


@dataclass
class BuildReport:
    url: str
    orders: int
    counts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)  # inside "load orders"
    big_account_orders: int = 0

    @property
    def total(self) -> float:
        return sum(self.phases.values())


class _Timer:
    def __init__(self, report: BuildReport, progress: Progress | None) -> None:
        self.report, self.progress = report, progress

    def phase(self, name: str) -> _Phase:
        return _Phase(self, name)


class _Phase:
    def __init__(self, timer: _Timer, name: str) -> None:
        self.timer, self.name = timer, name

    def __enter__(self) -> None:
        if self.timer.progress:
            self.timer.progress(f"{self.name} ...")
        self.began = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        took = time.perf_counter() - self.began
        self.timer.report.phases[self.name] = self.timer.report.phases.get(self.name, 0.0) + took


def _run(conn: Connection, sql: str) -> int:
    """Run generated SQL on the DBAPI cursor, without parameters (so psycopg leaves its "%" alone), inside
    the connection's transaction; return the row count."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def step(report: BuildReport, name: str, conn: Connection, sql: str) -> int:
    """Run one statement of the load, add its time to the report; return the rows it wrote."""
    began = time.perf_counter()
    rows = _run(conn, sql)
    report.steps[name] = report.steps.get(name, 0.0) + time.perf_counter() - began
    return rows


PG_LOAD_SETTINGS = (
    "work_mem = '256MB'",
    "maintenance_work_mem = '1GB'",
    "synchronous_commit = off",
    "max_parallel_workers_per_gather = 0",
)
# A failed load leaves a useless file anyway: no rollback journal, no fsync, a 1 GiB cache.
SQLITE_LOAD_PRAGMAS = (
    "journal_mode = OFF",
    "synchronous = OFF",
    "cache_size = -1048576",
    "temp_store = MEMORY",
    "foreign_keys = OFF",
)


def _tune(conn: Connection, loading: bool) -> None:
    """Session settings for the bulk load, and back."""
    if conn.dialect.name == "postgresql":
        if loading:
            for setting in PG_LOAD_SETTINGS:
                conn.exec_driver_sql(f"SET {setting}")
        else:
            conn.exec_driver_sql("RESET ALL")
        conn.commit()
        return
    conn.commit()
    if loading:
        for pragma in SQLITE_LOAD_PRAGMAS:
            conn.exec_driver_sql(f"PRAGMA {pragma}").close()
    else:
        for pragma in (
            "journal_mode = WAL",
            "synchronous = NORMAL",
            "cache_size = -2000",
            "foreign_keys = ON",
        ):
            conn.exec_driver_sql(f"PRAGMA {pragma}").close()
    conn.commit()


def _sync_sequences(conn: Connection) -> None:
    """PostgreSQL: move every id sequence past the explicit ids written here."""
    if conn.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if sequence:
            conn.execute(
                text(f"SELECT setval(:s, COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"),
                {"s": sequence},
            )


def build_portal_store(
    engine: Engine,
    *,
    orders: int = 1_000_000,
    seed: int = 7,
    anchor_date: date = ANCHOR,
    accounts: int = ACCOUNTS,
    chunk_orders: int = CHUNK_ORDERS,
    keep_indexes: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Migrate the store behind ``engine`` and fill it (it must hold no accounts or orders yet).

    Deterministic: the same seed, order count, account count and anchor give the same rows on SQLite and
    PostgreSQL, whatever ``chunk_orders`` is; only the demo sign-ins' password hashes (salted) and the
    administrator's and notices' timestamps (made by ``data.demo.seed_demo``) differ between runs. A load
    that fails leaves the store without its indexes: delete it and start again.

    ``keep_indexes`` maintains the order tables' secondary indexes row by row instead of dropping them
    for the load and building them afterwards (to measure the difference).
    """
    if orders < 1 or accounts < 300:
        raise ValueError("need at least 1 order and 300 accounts")
    report = BuildReport(url=engine.url.render_as_string(hide_password=True), orders=orders)
    timer = _Timer(report, progress)
    anchor = datetime(anchor_date.year, anchor_date.month, anchor_date.day)
    frame = _Frame(orders, int(anchor.replace(tzinfo=UTC).timestamp()), HISTORY_DAYS * 86400)
    with timer.phase("migrate"):
        migrate(engine)
    with engine.connect() as conn:
        q = _Sql(conn.dialect.name, seed)
        busy = conn.execute(
            text("SELECT (SELECT count(*) FROM customer_accounts) + (SELECT count(*) FROM sales_orders)")
        )
        if busy.scalar_one():
            raise SystemExit(f"{report.url} already holds accounts or orders: use an empty database")
        conn.rollback()
        _tune(conn, True)
        with timer.phase("master data"):
            master = _master_data(seed, accounts, anchor)
            with conn.begin():
                report.counts["master rows"] = _load_master(conn, master)
                _sync_sequences(conn)
            with Session(bind=conn) as session:  # the demo sign-ins' passwords, the administrator, notices
                seed_demo(session)
                session.commit()
            with conn.begin():
                _load_helpers(conn, master)
        before = _schema_fingerprint(conn)
        ddl = _capture_ddl(conn)
        conn.commit()
        if keep_indexes:  # only to measure what dropping them gains
            ddl.drops, ddl.creates = [], []
        with timer.phase("drop indexes"), conn.begin():
            for statement in ddl.fk_drops + ddl.drops:
                conn.exec_driver_sql(statement)
        numbers = {entity: 0 for entity, *_ in LEGAL_ENTITIES}
        lines = events = 0
        began = time.perf_counter()
        with timer.phase("load orders"):
            for lo in range(1, orders + 1, chunk_orders):
                hi = min(orders, lo + chunk_orders - 1)
                with conn.begin():
                    _run(conn, "DROP TABLE IF EXISTS bench_hdr")
                    step(
                        report,
                        "headers",
                        conn,
                        f"CREATE TEMPORARY TABLE bench_hdr AS {_header_sql(q, frame, lo, hi)}",
                    )
                    if q.pg:
                        _run(conn, "ANALYZE bench_hdr")
                        _run(conn, "DROP TABLE IF EXISTS bench_totals")
                        _run(conn, "CREATE TEMPORARY TABLE bench_totals (order_id BIGINT, cents BIGINT)")
                    step(report, "lines", conn, _lines_sql(q, lines))  # first: a total is the sum of lines
                    lines = int(
                        conn.execute(text("SELECT COALESCE(max(id), 0) FROM sales_order_lines")).scalar_one()
                    )
                    step(report, "orders", conn, _orders_sql(q, numbers))
                    events += step(report, "events", conn, _events_sql(q, lo, hi, events))
                    for entity, count in conn.execute(
                        text(
                            "SELECT legal_entity_id, count(sales_order_number) FROM sales_orders"
                            " WHERE id BETWEEN :lo AND :hi GROUP BY legal_entity_id"
                        ),
                        {"lo": lo, "hi": hi},
                    ):
                        numbers[entity] += count
                if progress:
                    rate = hi / (time.perf_counter() - began)
                    progress(f"  {hi:,}/{orders:,} orders, {lines:,} lines ({rate:,.0f} orders/s)")
            with conn.begin():
                report.counts["sync_outbox"] = _run(conn, _outbox_sql(q))
                _sync_sequences(conn)
                for table in ("bench_hdr", "bench_totals", "bench_pick", "bench_catalog", "bench_k"):
                    _run(conn, f"DROP TABLE IF EXISTS {table}")
        with timer.phase("build indexes"), conn.begin():
            for statement in ddl.creates:
                conn.exec_driver_sql(statement)
        with timer.phase("validate foreign keys"), conn.begin():
            if conn.dialect.name == "postgresql":
                for statement in ddl.fk_creates:  # adding a foreign key checks every row
                    conn.exec_driver_sql(statement)
            else:
                for table in ORDER_TABLES:
                    bad = conn.exec_driver_sql(f"PRAGMA foreign_key_check({table})").all()
                    if bad:
                        raise RuntimeError(f"{len(bad)} rows of {table} break a foreign key, e.g. {bad[:3]}")
        if _schema_fingerprint(conn) != before:
            raise RuntimeError("the indexes or constraints after the load differ from the migrated schema")
        conn.commit()
        with timer.phase("analyze"):
            _tune(conn, False)
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        report.counts.update(
            accounts=len(master.accounts),
            contacts=len(master.rows["contacts"]),
            products=len(master.rows["products"]),
            sales_orders=orders,
            sales_order_lines=lines,
            order_events=events,
        )
        big = conn.execute(
            text(
                "SELECT count(*) FROM sales_orders o JOIN customer_accounts a ON a.id = o.customer_account_id"
                " WHERE a.legal_entity_id = :e AND a.account_number = :n"
            ),
            {"e": BIG_ACCOUNT[0], "n": BIG_ACCOUNT[1]},
        ).scalar_one()
        report.big_account_orders = int(big)
    return report


# --------------------------------------------------------------------------------------------------
# Checks, sizes, the executemany comparison and the CLI


def database_size(conn: Connection) -> int:
    """Bytes on disk: the SQLite file with its WAL, or the PostgreSQL database."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    database = conn.engine.url.database or ""
    return sum(
        os.path.getsize(p) for p in (database, database + "-wal", database + "-shm") if os.path.exists(p)
    )


def _one(conn: Connection, sql: str) -> Any:
    return conn.execute(text(sql)).scalar_one()


# (label, SQL giving a count that must be zero)
CONSISTENCY_CHECKS = (
    (
        "lines without their order",
        "SELECT count(*) FROM sales_order_lines l WHERE NOT EXISTS (SELECT 1 FROM sales_orders o WHERE o.id ="
        " l.order_id)",
    ),
    (
        "events without their order",
        "SELECT count(*) FROM order_events e WHERE NOT EXISTS (SELECT 1 FROM sales_orders o WHERE o.id ="
        " e.order_id)",
    ),
    (
        "orders without their account",
        "SELECT count(*) FROM sales_orders o WHERE NOT EXISTS"
        " (SELECT 1 FROM customer_accounts a WHERE a.id = o.customer_account_id)",
    ),
    (
        "orders placed by a contact of another account (or none)",
        "SELECT count(*) FROM sales_orders o LEFT JOIN contacts c ON c.id = o.placed_by_contact_id"
        " WHERE o.placed_by_contact_id IS NOT NULL AND (c.id IS NULL OR c.customer_account_id <>"
        " o.customer_account_id)",
    ),
    (
        "orders whose contact person is not the placing contact",
        "SELECT count(*) FROM sales_orders o JOIN contacts c ON c.id = o.placed_by_contact_id"
        " WHERE o.contact_person_id <> c.erp_contact_id",
    ),
    (
        "orders in another company or currency than their account",
        "SELECT count(*) FROM sales_orders o JOIN customer_accounts a ON a.id = o.customer_account_id"
        " WHERE o.legal_entity_id <> a.legal_entity_id OR o.currency_code <> a.currency_code"
        " OR o.ordering_customer_account_number <> a.account_number",
    ),
    (
        "orders without lines",
        "SELECT count(*) FROM sales_orders o WHERE NOT EXISTS (SELECT 1 FROM sales_order_lines l WHERE"
        " l.order_id = o.id)",
    ),
    (
        "orders whose total is not the sum of their lines",
        "SELECT count(*) FROM sales_orders o JOIN (SELECT order_id, SUM(line_amount) AS s FROM"
        " sales_order_lines"
        " GROUP BY order_id) t ON t.order_id = o.id WHERE ABS(o.total_amount - t.s) > 0.001",
    ),
    (
        "orders whose line numbers are not 1..n",
        "SELECT count(*) FROM (SELECT order_id FROM sales_order_lines GROUP BY order_id"
        " HAVING MIN(line_number) <> 1 OR MAX(line_number) <> COUNT(*)) x",
    ),
    (
        "duplicate sales order numbers within a company",
        "SELECT count(*) FROM (SELECT legal_entity_id, sales_order_number FROM sales_orders"
        " WHERE sales_order_number IS NOT NULL GROUP BY legal_entity_id, sales_order_number HAVING count(*) >"
        " 1) x",
    ),
    (
        "gaps in the sales order numbers of a company",
        "SELECT count(*) FROM (SELECT legal_entity_id FROM sales_orders WHERE sales_order_number IS NOT NULL"
        " GROUP BY legal_entity_id HAVING MAX(sales_order_number) <> 'SO-' || "
        "substr('0000000' || CAST(count(*) AS TEXT), length(CAST(count(*) AS TEXT)) + 1)) x",
    ),
    (
        "accepted orders without a number, or others with one",
        "SELECT count(*) FROM sales_orders WHERE (sync_state = 'accepted') <> (sales_order_number IS NOT"
        " NULL)",
    ),
    (
        "portal orders without a portal order id, or ERP orders with one",
        "SELECT count(*) FROM sales_orders WHERE (origin = 'portal') <> (portal_order_id IS NOT NULL)",
    ),
    (
        "rejected orders without a reason",
        "SELECT count(*) FROM sales_orders WHERE sync_state = 'rejected' AND reject_reason IS NULL",
    ),
    (
        "receipt dates before the order date",
        "SELECT count(*) FROM sales_orders WHERE requested_receipt_date < CAST(order_date AS DATE)"
        " OR confirmed_receipt_date < requested_receipt_date",
    ),
    (
        "ERP changes before the order was placed",
        "SELECT count(*) FROM sales_orders WHERE erp_modified_at < order_date",
    ),
    (
        "line ids out of (order, line number) order",
        "SELECT count(*) FROM sales_order_lines a JOIN sales_order_lines b ON b.id = a.id + 1"
        " WHERE b.order_id < a.order_id OR (b.order_id = a.order_id AND b.line_number <= a.line_number)",
    ),
    (
        "lines in another currency than their order",
        "SELECT count(*) FROM sales_order_lines l JOIN sales_orders o ON o.id = l.order_id"
        " WHERE l.currency_code <> o.currency_code",
    ),
    (
        "contacts without exactly one web role",
        "SELECT count(*) FROM contacts c WHERE c.customer_account_id IS NOT NULL AND"
        " (SELECT count(*) FROM contact_roles r WHERE r.contact_id = c.id) <> 1",
    ),
    (
        "accounts without exactly one customer representative",
        "SELECT count(*) FROM customer_accounts a WHERE (SELECT count(*) FROM contacts c JOIN contact_roles r"
        " ON r.contact_id = c.id WHERE c.customer_account_id = a.id AND r.role = 'customer_representative')"
        " <> 1",
    ),
)


def check_store(conn: Connection, out: Callable[[str], None] = print) -> int:
    """Print the distribution of the order columns and the consistency checks; return the failures."""
    orders = int(_one(conn, "SELECT count(*) FROM sales_orders"))
    if not orders:
        out("no orders")
        return 1

    def share(label: str, sql: str) -> None:
        rows = conn.execute(text(sql)).all()
        out(f"  {label}: " + ", ".join(f"{k} {100 * int(n) / orders:.1f} %" for k, n in rows))

    out("\nDistribution")
    share(
        "processing_status", "SELECT processing_status, count(*) FROM sales_orders GROUP BY 1 ORDER BY 2 DESC"
    )
    share("sync_state", "SELECT sync_state, count(*) FROM sales_orders GROUP BY 1 ORDER BY 2 DESC")
    share("origin_code", "SELECT origin_code, count(*) FROM sales_orders GROUP BY 1 ORDER BY 2 DESC")
    share(
        "legal entity",
        "SELECT legal_entity_id || '/' || currency_code, count(*) FROM sales_orders GROUP BY 1 ORDER BY 1",
    )
    share(
        "placed_by_contact_id set",
        "SELECT 'yes', count(placed_by_contact_id) FROM sales_orders",
    )
    share(
        "customer_requisition_number null",
        "SELECT 'yes', count(*) - count(customer_requisition_number) FROM sales_orders",
    )
    share(
        "confirmed_receipt_date null",
        "SELECT 'yes', count(*) - count(confirmed_receipt_date) FROM sales_orders",
    )
    share(
        "order year",
        "SELECT substr(CAST(order_date AS TEXT), 1, 4), count(*) FROM sales_orders GROUP BY 1 ORDER BY 1",
    )
    lines = int(_one(conn, "SELECT count(*) FROM sales_order_lines"))
    events = int(_one(conn, "SELECT count(*) FROM order_events"))
    out(f"  lines per order {lines / orders:.2f}, events per order {events / orders:.2f}")
    out(
        f"  order dates {_one(conn, 'SELECT min(order_date) FROM sales_orders')} .. "
        f"{_one(conn, 'SELECT max(order_date) FROM sales_orders')}"
    )
    top = conn.execute(
        text(
            "SELECT a.legal_entity_id || ' ' || a.account_number, count(*) FROM sales_orders o"
            " JOIN customer_accounts a ON a.id = o.customer_account_id GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
        )
    ).all()
    out("  largest accounts: " + ", ".join(f"{k} {int(n):,}" for k, n in top))
    per_account = conn.execute(
        text(
            "SELECT count(*), min(n), max(n) FROM (SELECT customer_account_id, count(*) AS n FROM"
            " sales_orders"
            " GROUP BY customer_account_id) x"
        )
    ).one()
    out(f"  accounts with orders {per_account[0]:,} (orders each: {per_account[1]:,} .. {per_account[2]:,})")
    out(
        "  contacts by role: "
        + ", ".join(
            f"{role} {int(n):,}"
            for role, n in conn.execute(
                text("SELECT role, count(*) FROM contact_roles GROUP BY role ORDER BY role")
            )
        )
    )
    money = conn.execute(
        text("SELECT min(total_amount), avg(total_amount), max(total_amount) FROM sales_orders")
    ).one()
    out(f"  total_amount min {float(money[0]):,.2f}, mean {float(money[1]):,.2f}, max {float(money[2]):,.2f}")
    out("\nConsistency (each must be 0)")
    failures = 0
    for label, sql in CONSISTENCY_CHECKS:
        bad = int(_one(conn, sql))
        failures += bad > 0
        out(f"  {'ok  ' if bad == 0 else 'FAIL'} {label}: {bad:,}")
    return failures


def table_digest(conn: Connection, table: str) -> str:
    """A digest of a table's rows in id order, normalised so SQLite and PostgreSQL give the same value."""
    import hashlib

    digest = hashlib.sha256()
    result = conn.execution_options(stream_results=True, yield_per=20_000).exec_driver_sql(
        f"SELECT * FROM {table} ORDER BY 1"
    )
    for row in result:
        for value in row:
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, int | float | Decimal):  # SQLite keeps 3.0000 as 3, 1.50 as 1.5
                value = f"{Decimal(str(value)):.4f}"
            elif isinstance(value, datetime):
                value = value.strftime("%Y-%m-%d %H:%M:%S")
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, str) and len(value) == 26 and value[10] == " " and value[19] == ".":
                value = value[:19]  # SQLite's DateTime text
            digest.update(repr(value).encode())
            digest.update(b"\x1f")
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def compare_executemany(source_url: str, load_seconds: float, out: Callable[[str], None] = print) -> None:
    """SQLite: insert the order tables' rows as plain tuples with executemany (50,000 a chunk) into an empty
    store with the same pragmas and indexes dropped: the floor of a generator that builds rows in Python."""
    import sqlite3

    workdir = tempfile.mkdtemp(prefix="portal-store-executemany-")
    target_url = f"sqlite:///{workdir}/portal.sqlite"
    engine = make_engine(target_url)
    migrate(engine)
    with engine.connect() as conn:
        ddl = _capture_ddl(conn)
        conn.rollback()
    engine.dispose()
    source = sqlite3.connect(make_url(source_url).database or "")
    target = sqlite3.connect(f"{workdir}/portal.sqlite", isolation_level=None)
    for pragma in SQLITE_LOAD_PRAGMAS:
        target.execute(f"PRAGMA {pragma}").fetchall()
    for statement in ddl.drops:
        target.execute(statement)
    inserted, took = 0, 0.0
    for table in ORDER_TABLES:
        cursor = source.execute(f"SELECT * FROM {table} ORDER BY id")
        marks = ", ".join("?" * len(cursor.description))
        while rows := cursor.fetchmany(50_000):
            began = time.perf_counter()
            target.execute("BEGIN")
            target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            target.execute("COMMIT")
            took += time.perf_counter() - began
            inserted += len(rows)
    source.close()
    target.close()
    for path in Path(workdir).iterdir():
        path.unlink()
    Path(workdir).rmdir()
    out(f"\nexecutemany of the same {inserted:,} order rows (tuples ready, 50k a chunk): {took:.1f} s")
    out(
        f"set-based SQL load (generating them too):                {load_seconds:.1f} s"
        f"  ({load_seconds / took:.2f}x the executemany insert alone)"
    )


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db", help="SQLAlchemy URL of an empty store (default: a SQLite file in a temp dir)"
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--anchor-date", type=date.fromisoformat, default=ANCHOR, help="end of the history")
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--chunk-orders", type=int, default=CHUNK_ORDERS)
    parser.add_argument("--check", action="store_true", help="print distributions and consistency checks")
    parser.add_argument("--digest", action="store_true", help="print a content digest of the order tables")
    parser.add_argument("--compare-executemany", action="store_true", help="SQLite: time executemany too")
    parser.add_argument("--keep-indexes", action="store_true", help="maintain the indexes during the load")
    parser.add_argument("--check-only", action="store_true", help="no build: check (and digest) --db")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.check_only:
        if not args.db:
            parser.error("--check-only needs --db")
        engine = make_engine(args.db)
        with engine.connect() as conn:
            print(f"database size     {database_size(conn) / 1024**2:>14,.0f} MiB")
            failures = check_store(conn)
            if args.digest:
                print("\nDigests: " + ", ".join(f"{t} {table_digest(conn, t)}" for t in ORDER_TABLES))
        engine.dispose()
        return 1 if failures else 0
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='portal-store-')}/portal.sqlite"
    if url.startswith("sqlite"):
        Path(make_url(url).database or ".").parent.mkdir(parents=True, exist_ok=True)
    print(f"portal store      {url}", flush=True)
    engine = make_engine(url)
    try:
        report = build_portal_store(
            engine,
            orders=args.orders,
            seed=args.seed,
            anchor_date=args.anchor_date,
            accounts=args.accounts,
            chunk_orders=args.chunk_orders,
            keep_indexes=args.keep_indexes,
            progress=None if args.quiet else _stderr,
        )
        rows = sum(v for k, v in report.counts.items() if k in ORDER_TABLES)
        for key, value in report.counts.items():
            print(f"{key:18}{value:>14,}")
        print(f"{'orders of ' + ' '.join(BIG_ACCOUNT):18}{report.big_account_orders:>14,}")
        for name, seconds in report.phases.items():
            print(f"  {name:22}{seconds:>8.1f} s")
            if name == "load orders":
                for step_name, step_seconds in report.steps.items():
                    print(f"    {step_name:20}{step_seconds:>8.1f} s")
        print(f"build time        {report.total:>14.1f} s")
        print(f"orders/s          {args.orders / report.total:>14,.0f}")
        print(
            f"order rows/s      {rows / report.phases['load orders']:>14,.0f}   (orders + lines + events,"
            " load phase)"
        )
        with engine.connect() as conn:
            print(f"database size     {database_size(conn) / 1024**2:>14,.0f} MiB")
            if conn.dialect.name == "postgresql":
                for table in ORDER_TABLES:
                    size = _one(conn, f"SELECT pg_total_relation_size('{table}')")
                    print(f"  {table:22}{size / 1024**2:>8,.0f} MiB with indexes")
        print(f"cores             {os.cpu_count():>14}")
        failures = 0
        if args.check:
            with engine.connect() as conn:
                failures = check_store(conn)
        if args.digest:
            with engine.connect() as conn:
                print("\nDigests: " + ", ".join(f"{t} {table_digest(conn, t)}" for t in ORDER_TABLES))
        if args.compare_executemany and url.startswith("sqlite"):
            compare_executemany(url, report.phases["load orders"])
    finally:
        engine.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
