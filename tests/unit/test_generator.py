"""The ERP simulator's demo-data generator: deterministic, realistic and internally consistent."""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from sync.erp_simulator.demo_data import (
    ACCOUNTS_WITHOUT_PRICE_GROUP,
    DEMO_ACCOUNT_A,
    DEMO_ACCOUNT_B,
    DEMO_CONTACT_EMAILS,
    DEMO_CONTACTS,
    LINE_STATUSES,
    PROCESSING_STATUSES,
)
from sync.erp_simulator.generate import generate
from sync.erp_simulator.store import (
    ENTITY_SETS,
    counter_value,
    create_store,
    next_change_sequence,
    next_sales_order_number,
)
from tests.databases import BACKENDS, PG_URL
from tests.integration.erp_fixtures import ANCHOR, GeneratedStore, dump_rows, generated_store

Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GeneratedStore]:
    with generated_store(request.param, tmp_path_factory.mktemp("gen")) as generated:
        yield generated


@pytest.fixture(scope="module")
def rows(store: GeneratedStore) -> Rows:
    """Every entity set as a list of dicts (the stores are small)."""
    with store.engine.connect() as conn:
        return {
            name: [dict(r._mapping) for r in conn.execute(select(table))]
            for name, table in ENTITY_SETS.items()
        }


def _sqlite_dump(url: str) -> list[str]:
    connection = sqlite3.connect(make_url(url).database or "")
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_same_seed_gives_identical_data_and_another_seed_does_not(tmp_path: Path) -> None:
    with (
        generated_store("sqlite", tmp_path, seed=11, orders=200) as first,
        generated_store("sqlite", tmp_path, seed=11, orders=200) as second,
        generated_store("sqlite", tmp_path, seed=12, orders=200) as other,
    ):
        assert first.counts == second.counts
        assert dump_rows(first.engine) == dump_rows(second.engine)
        first.engine.dispose()
        second.engine.dispose()
        assert _sqlite_dump(first.url) == _sqlite_dump(second.url)  # byte for byte, as SQL
        different = dump_rows(other.engine)
        same = dump_rows(first.engine)
        for name in ("CustomersV3", "ContactPersonsV2", "SalesOrderHeadersV2", "SalesOrderLines"):
            assert different[name] != same[name], name


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")
def test_postgresql_store_holds_the_same_rows_as_sqlite(tmp_path: Path) -> None:
    with (
        generated_store("sqlite", tmp_path, orders=200) as lite,
        generated_store("postgresql", tmp_path, orders=200) as pg,
    ):
        assert dump_rows(lite.engine) == dump_rows(pg.engine)


def test_every_processing_status_occurs_even_in_a_small_store(tmp_path: Path) -> None:
    with generated_store("sqlite", tmp_path, orders=200) as small:
        headers = ENTITY_SETS["SalesOrderHeadersV2"]
        with small.engine.connect() as conn:
            found = set(conn.execute(select(headers.c.SalesOrderProcessingStatus)).scalars())
    assert found == set(PROCESSING_STATUSES)


def test_generate_refuses_a_store_that_is_not_empty(store: GeneratedStore) -> None:
    with pytest.raises(ValueError, match="not empty"):
        generate(store.engine, orders=10, anchor_date=ANCHOR)


def test_volumes(store: GeneratedStore, rows: Rows) -> None:
    assert len(rows["LegalEntities"]) >= 3
    assert len(rows["CustomersV3"]) >= 60
    per_company = Counter(p["dataAreaId"] for p in rows["ReleasedProductsV2"])
    assert set(per_company) == {"USMF", "DEMF", "GBSI"}
    assert min(per_company.values()) >= 200
    assert store.counts == {name: len(found) for name, found in rows.items()}
    assert len(rows["SalesOrderHeadersV2"]) == 300
    assert 3.3 <= len(rows["SalesOrderLines"]) / 300 <= 4.6


def test_legal_entities(rows: Rows) -> None:
    by_id = {le["LegalEntityId"]: le for le in rows["LegalEntities"]}
    assert by_id["USMF"]["CurrencyCode"] == "USD"
    assert by_id["DEMF"]["AddressCountryRegionId"] == "DEU"
    assert (by_id["GBSI"]["Name"], by_id["GBSI"]["LanguageId"]) == ("Contoso Europe Ltd", "en-gb")


def test_customer_setup_has_the_demo_edge_cases(rows: Rows) -> None:
    customers = rows["CustomersV3"]
    missing = {(c["dataAreaId"], c["CustomerAccount"]) for c in customers if not c["PriceCustomerGroupCode"]}
    assert missing == set(ACCOUNTS_WITHOUT_PRICE_GROUP)
    assert {c["OnHoldStatus"] for c in customers} == {"No", "Invoice", "All"}
    accounts = {(c["dataAreaId"], c["CustomerAccount"]) for c in customers}
    others = [c for c in customers if c["InvoiceAccount"] != c["CustomerAccount"]]
    assert others
    assert all((c["dataAreaId"], c["InvoiceAccount"]) in accounts for c in others)
    assert {c["CustomerAccount"][:3] for c in customers} == {"US-", "DE-", "GB-"}
    currency = {"USMF": "USD", "DEMF": "EUR", "GBSI": "GBP"}
    assert all(c["SalesCurrencyCode"] == currency[c["dataAreaId"]] for c in customers)


def test_every_customer_has_one_primary_delivery_address(rows: Rows) -> None:
    addresses = defaultdict(list)
    for a in rows["CustomerPostalAddresses"]:
        addresses[(a["dataAreaId"], a["CustomerAccountNumber"])].append(a)
    assert len(addresses) == len(rows["CustomersV3"])
    for found in addresses.values():
        assert 1 <= len(found) <= 3
        primary = [a for a in found if a["IsPrimary"]]
        assert len(primary) == 1 and primary[0]["IsRoleDelivery"]


def test_demo_contacts(rows: Rows) -> None:
    contacts = {c["PrimaryEmailAddress"]: c for c in rows["ContactPersonsV2"]}
    assert DEMO_CONTACT_EMAILS == {
        "rep1@portal.demo": "US-001",
        "user1a@portal.demo": "US-001",
        "user1b@portal.demo": "US-001",
        "rep2@portal.demo": "DE-001",
        "user2a@portal.demo": "DE-001",
    }
    company = {DEMO_ACCOUNT_A[1]: DEMO_ACCOUNT_A[0], DEMO_ACCOUNT_B[1]: DEMO_ACCOUNT_B[0]}
    for demo in DEMO_CONTACTS:
        contact = contacts[demo.email]
        assert contact["CustomerAccountNumber"] == demo.account
        assert contact["dataAreaId"] == company[demo.account] == demo.data_area_id
        assert contact["ContactPersonId"] == demo.contact_person_id
    assert len({c["PrimaryEmailAddress"] for c in rows["ContactPersonsV2"]}) == len(rows["ContactPersonsV2"])


def test_demo_users_own_portal_orders(rows: Rows) -> None:
    portal = Counter(
        h["ContactPersonId"] for h in rows["SalesOrderHeadersV2"] if h["SalesOrderOriginCode"] == "Portal"
    )
    ids = {d.email: d.contact_person_id for d in DEMO_CONTACTS}
    for email in ("user1a@portal.demo", "user1b@portal.demo", "user2a@portal.demo"):
        assert portal[ids[email]] >= 10, email
    assert portal[ids["rep1@portal.demo"]] >= 1
    assert portal[ids["rep2@portal.demo"]] >= 1


def test_orders_use_contacts_of_their_own_account(rows: Rows) -> None:
    contact_account = {
        c["ContactPersonId"]: (c["dataAreaId"], c["CustomerAccountNumber"]) for c in rows["ContactPersonsV2"]
    }
    for h in rows["SalesOrderHeadersV2"]:
        if h["ContactPersonId"] is not None:
            assert contact_account[h["ContactPersonId"]] == (
                h["dataAreaId"],
                h["OrderingCustomerAccountNumber"],
            )


def test_origins_and_portal_ids(rows: Rows) -> None:
    headers = rows["SalesOrderHeadersV2"]
    origins = Counter(h["SalesOrderOriginCode"] for h in headers)
    assert set(origins) == {"Portal", "Phone", "EDI"}
    assert 0.2 <= origins["Portal"] / len(headers) <= 0.5
    portal_ids = [h["PortalOrderId"] for h in headers if h["SalesOrderOriginCode"] == "Portal"]
    assert all(uuid.UUID(value).version == 4 for value in portal_ids)
    assert len(set(portal_ids)) == len(portal_ids)
    assert all(h["PortalOrderId"] is None for h in headers if h["SalesOrderOriginCode"] != "Portal")
    assert all(h["ContactPersonId"] for h in headers if h["SalesOrderOriginCode"] == "Portal")


def test_account_a_is_a_large_account(rows: Rows) -> None:
    headers = rows["SalesOrderHeadersV2"]
    share = sum(
        (h["dataAreaId"], h["OrderingCustomerAccountNumber"]) == DEMO_ACCOUNT_A for h in headers
    ) / len(headers)
    assert share >= 0.02


def test_header_totals_equal_line_sums(rows: Rows) -> None:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in rows["SalesOrderLines"]:
        amount = (line["OrderedSalesQuantity"] * line["SalesPrice"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert line["LineAmount"] == amount
        sums[(line["dataAreaId"], line["SalesOrderNumber"])] += line["LineAmount"]
    for h in rows["SalesOrderHeadersV2"]:
        assert h["TotalAmount"] == sums[(h["dataAreaId"], h["SalesOrderNumber"])]


def test_line_prices_come_from_the_price_agreements(rows: Rows) -> None:
    prices = {
        (p["dataAreaId"], p["PriceCustomerGroupCode"], p["ItemNumber"], p["QuantityUnitSymbol"]): p["Price"]
        for p in rows["SalesPriceAgreements"]
    }
    header = {(h["dataAreaId"], h["SalesOrderNumber"]): h for h in rows["SalesOrderHeadersV2"]}
    for line in rows["SalesOrderLines"]:
        h = header[(line["dataAreaId"], line["SalesOrderNumber"])]
        key = (line["dataAreaId"], h["PriceCustomerGroupCode"], line["ItemNumber"], line["SalesUnitSymbol"])
        assert line["SalesPrice"] == prices[key]
        assert line["CurrencyCode"] == h["CurrencyCode"]


def test_products_units_and_prices_are_consistent(rows: Rows) -> None:
    units = defaultdict(list)
    for u in rows["ReleasedProductSalesUnits"]:
        units[(u["dataAreaId"], u["ItemNumber"])].append(u)
    states = Counter(p["ProductLifecycleStateId"] for p in rows["ReleasedProductsV2"])
    assert set(states) == {"Active", "Discontinued"} and states["Discontinued"] < states["Active"] / 5
    for p in rows["ReleasedProductsV2"]:
        found = units[(p["dataAreaId"], p["ItemNumber"])]
        assert 1 <= len(found) <= 3
        default = [u for u in found if u["SalesUnitSymbol"] == p["SalesUnitSymbol"]]
        assert len(default) == 1 and default[0]["UnitConversionFactor"] == 1
        for u in found:
            expected = 0 if u["SalesUnitSymbol"] in ("ea", "box", "pcs", "pal") else (2, 3)
            assert u["UnitDecimalPrecision"] in (expected if isinstance(expected, tuple) else (expected,))
    prices = defaultdict(dict)
    for a in rows["SalesPriceAgreements"]:
        prices[(a["dataAreaId"], a["PriceCustomerGroupCode"], a["ItemNumber"])][a["QuantityUnitSymbol"]] = a
    group_ids = {(g["dataAreaId"], g["PriceGroupId"]) for g in rows["CustomerPriceGroups"]}
    assert {"USD-RETAIL", "EUR-STD", "GBP-STD"} <= {g for _, g in group_ids}
    priced_items = {(area, item) for area, _, item in prices}
    assert len(priced_items) < len(rows["ReleasedProductsV2"])  # a few deliberately unpriced
    for (area, group, item), by_unit in prices.items():
        assert (area, group) in group_ids
        product_units = {u["SalesUnitSymbol"]: u for u in units[(area, item)]}
        assert set(by_unit) == set(product_units)
        base = next(a["Price"] for s, a in by_unit.items() if product_units[s]["UnitConversionFactor"] == 1)
        for symbol, agreement in by_unit.items():
            factor = product_units[symbol]["UnitConversionFactor"]
            assert agreement["Price"] == (base * factor).quantize(Decimal("0.01"))


def test_statuses_are_consistent(rows: Rows) -> None:
    lines = defaultdict(list)
    for line in rows["SalesOrderLines"]:
        lines[(line["dataAreaId"], line["SalesOrderNumber"])].append(line)
    for h in rows["SalesOrderHeadersV2"]:
        status = h["SalesOrderProcessingStatus"]
        assert (h["SalesOrderStatus"], h["DocumentStatus"]) == PROCESSING_STATUSES[status]
        order_lines = lines[(h["dataAreaId"], h["SalesOrderNumber"])]
        assert 1 <= len(order_lines) <= 7
        assert sorted(x["LineNumber"] for x in order_lines) == list(range(1, len(order_lines) + 1))
        line_statuses = Counter(x["SalesOrderLineStatus"] for x in order_lines)
        moved, others = LINE_STATUSES[status]
        assert set(line_statuses) <= {moved, others}
        if status in ("PartiallyDelivered", "PartiallyInvoiced"):
            assert line_statuses[moved] >= 1 and line_statuses[others] >= 1
        confirmed = status not in ("Active", "Canceled")
        assert (h["ConfirmedReceiptDate"] is not None) == confirmed
        if confirmed:
            assert h["ConfirmedReceiptDate"] >= h["RequestedReceiptDate"]
        for x in order_lines:
            assert (x["ConfirmedSalesQuantity"] is not None) == confirmed
            if confirmed:
                assert 0 < x["ConfirmedSalesQuantity"] <= x["OrderedSalesQuantity"]
            assert x["RequestedReceiptDate"] == h["RequestedReceiptDate"]
            assert x["DeliveryAddressCountryRegionId"] == h["DeliveryAddressCountryRegionId"]


def test_dates_follow_the_anchor(rows: Rows) -> None:
    anchor = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day)
    headers = sorted(rows["SalesOrderHeadersV2"], key=lambda h: h["ChangeSequence"])
    created = [h["OrderCreatedDateTime"] for h in headers]
    assert created == sorted(created)  # ChangeSequence follows the order date
    assert anchor - timedelta(days=731) <= created[0] and created[-1] < anchor
    for h in headers:
        assert h["OrderCreatedDateTime"] <= h["ModifiedDateTime"] <= anchor
        old = anchor - h["OrderCreatedDateTime"] > timedelta(days=120)
        if old:
            assert h["SalesOrderProcessingStatus"] in ("Invoiced", "Canceled")


def test_change_sequences_are_unique_and_counters_continue(store: GeneratedStore, rows: Rows) -> None:
    sequences = [r["ChangeSequence"] for found in rows.values() for r in found]
    assert len(set(sequences)) == len(sequences)
    master = max(
        r["ChangeSequence"]
        for name, found in rows.items()
        if not name.startswith("SalesOrder")
        for r in found
    )
    assert master < min(h["ChangeSequence"] for h in rows["SalesOrderHeadersV2"])  # master data first
    last_number = max(h["SalesOrderNumber"] for h in rows["SalesOrderHeadersV2"] if h["dataAreaId"] == "USMF")
    with store.engine.connect() as conn:
        assert counter_value(conn, "ChangeSequence") == max(sequences)
        assert next_change_sequence(conn, 3) == max(sequences) + 1
        assert next_sales_order_number(conn, "USMF") == f"SO-{int(last_number[3:]) + 1:07d}"
        conn.rollback()


def test_indexes_are_rebuilt_after_the_load(store: GeneratedStore) -> None:
    inspector = inspect(store.engine)
    for name in ("SalesOrderHeadersV2", "SalesOrderLines"):
        table = ENTITY_SETS[name]
        found = {index["name"] for index in inspector.get_indexes(table.name)}
        assert {str(index.name) for index in table.indexes} <= found


@pytest.mark.parametrize("orders", [1, 7, 40])
def test_tiny_stores_work_in_memory(orders: int) -> None:
    engine = create_store("sqlite://")
    try:
        counts = generate(engine, orders=orders, anchor_date=ANCHOR)
    finally:
        engine.dispose()
    assert counts["SalesOrderHeadersV2"] == orders
    assert orders <= counts["SalesOrderLines"] <= 7 * orders
