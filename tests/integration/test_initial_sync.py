"""Initial and incremental pull over the simulator's real HTTP API: every ERP record arrives exactly once,
counts and per-table checksums are equal, pages stay within 1,000 records, and a crash mid-pull
converges on the next run."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import aliased

from data.db import session_scope
from data.models import (
    Contact,
    CustomerAccount,
    DeliveryAddress,
    LegalEntity,
    OrderEvent,
    PriceList,
    PriceListItem,
    Product,
    ProductUnit,
    SalesOrder,
    SalesOrderLine,
    SyncCursor,
    SyncRun,
)
from sync.erp_client import HttpErpClient, Record
from sync.erp_simulator.store import ENTITY_SETS, next_change_sequence, sales_order_headers
from sync.pull import ENTITY_SYNCS, PAGE_SIZE, pull_all

# Entity set -> (ERP fields, portal statement giving the same values in the same order).
_account = aliased(CustomerAccount)
_order = aliased(SalesOrder)
_product = aliased(Product)
_price_list = aliased(PriceList)
CANONICAL = {
    "LegalEntities": (
        ("LegalEntityId", "Name", "CurrencyCode", "LanguageId"),
        select(LegalEntity.id, LegalEntity.name, LegalEntity.currency_code, LegalEntity.language_id),
    ),
    "CustomerPriceGroups": (
        ("dataAreaId", "PriceGroupId", "CurrencyCode"),
        select(PriceList.legal_entity_id, PriceList.code, PriceList.currency_code),
    ),
    "CustomersV3": (
        ("dataAreaId", "CustomerAccount", "OrganizationName", "SalesCurrencyCode",
         "PriceCustomerGroupCode", "InvoiceAccount", "CreditLimit", "OnHoldStatus"),
        select(
            CustomerAccount.legal_entity_id, CustomerAccount.account_number, CustomerAccount.name,
            CustomerAccount.currency_code, CustomerAccount.price_list_code,
            CustomerAccount.invoice_account_number, CustomerAccount.credit_limit,
            CustomerAccount.on_hold_status,
        ),
    ),
    "CustomerPostalAddresses": (
        ("AddressLocationId", "dataAreaId", "CustomerAccountNumber", "AddressDescription",
         "AddressCountryRegionId", "IsPrimary"),
        select(
            DeliveryAddress.erp_location_id, _account.legal_entity_id, _account.account_number,
            DeliveryAddress.description, DeliveryAddress.country_region_id, DeliveryAddress.is_primary,
        ).join(_account, DeliveryAddress.customer_account_id == _account.id),
    ),
    "ContactPersonsV2": (
        ("ContactPersonId", "PrimaryEmailAddress", "CustomerAccountNumber", "LastName"),
        select(Contact.erp_contact_id, Contact.email, _account.account_number, Contact.last_name)
        .join(_account, Contact.customer_account_id == _account.id),
    ),
    "ReleasedProductsV2": (
        ("dataAreaId", "ItemNumber", "ProductName", "SalesUnitSymbol", "ProductLifecycleStateId"),
        select(
            Product.legal_entity_id, Product.item_number, Product.name, Product.default_sales_unit,
            Product.lifecycle_state,
        ),
    ),
    "ReleasedProductSalesUnits": (
        ("dataAreaId", "ItemNumber", "SalesUnitSymbol", "UnitConversionFactor", "UnitDecimalPrecision"),
        select(
            _product.legal_entity_id, _product.item_number, ProductUnit.unit_symbol,
            ProductUnit.conversion_factor, ProductUnit.decimal_precision,
        ).join(_product, ProductUnit.product_id == _product.id),
    ),
    "SalesPriceAgreements": (
        ("PriceAgreementId", "dataAreaId", "PriceCustomerGroupCode", "ItemNumber", "QuantityUnitSymbol",
         "Price", "PriceCurrencyCode"),
        select(
            PriceListItem.erp_agreement_id, _price_list.legal_entity_id, _price_list.code,
            PriceListItem.item_number, PriceListItem.unit_symbol, PriceListItem.price,
            PriceListItem.currency_code,
        ).join(_price_list, PriceListItem.price_list_id == _price_list.id),
    ),
    "SalesOrderHeadersV2": (
        ("dataAreaId", "SalesOrderNumber", "OrderingCustomerAccountNumber", "InvoiceCustomerAccountNumber",
         "CurrencyCode", "ContactPersonId", "PortalOrderId", "RequestedReceiptDate", "ConfirmedReceiptDate",
         "DeliveryAddressDescription", "CustomerRequisitionNumber", "SalesOrderOriginCode",
         "SalesOrderStatus", "SalesOrderProcessingStatus", "DocumentStatus", "TotalAmount"),
        select(
            SalesOrder.legal_entity_id, SalesOrder.sales_order_number,
            SalesOrder.ordering_customer_account_number, SalesOrder.invoice_customer_account_number,
            SalesOrder.currency_code, SalesOrder.contact_person_id, SalesOrder.portal_order_id,
            SalesOrder.requested_receipt_date, SalesOrder.confirmed_receipt_date,
            SalesOrder.delivery_address_description, SalesOrder.customer_requisition_number,
            SalesOrder.origin_code, SalesOrder.sales_status, SalesOrder.processing_status,
            SalesOrder.document_status, SalesOrder.total_amount,
        ),
    ),
    "SalesOrderLines": (
        ("dataAreaId", "SalesOrderNumber", "LineNumber", "ItemNumber", "OrderedSalesQuantity",
         "ConfirmedSalesQuantity", "SalesUnitSymbol", "SalesPrice", "LineAmount", "SalesOrderLineStatus",
         "ConfirmedReceiptDate"),
        select(
            _order.legal_entity_id, _order.sales_order_number, SalesOrderLine.line_number,
            SalesOrderLine.item_number, SalesOrderLine.quantity, SalesOrderLine.confirmed_quantity,
            SalesOrderLine.unit_symbol, SalesOrderLine.unit_price, SalesOrderLine.line_amount,
            SalesOrderLine.line_status, SalesOrderLine.confirmed_receipt_date,
        ).join(_order, SalesOrderLine.order_id == _order.id),
    ),
}  # fmt: skip


def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (Decimal, float, int)):
        return f"{Decimal(str(value)):.4f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).lower()  # e-mail addresses are stored lower-cased


def _checksum(rows) -> tuple[int, str]:
    canonical = sorted("|".join(_norm(v) for v in row) for row in rows)
    return len(canonical), hashlib.sha256("\n".join(canonical).encode()).hexdigest()


def erp_checksums(erp_engine) -> dict[str, tuple[int, str]]:
    result = {}
    with erp_engine.connect() as conn:
        for entity_set, (fields, _) in CANONICAL.items():
            table = ENTITY_SETS[entity_set]
            result[entity_set] = _checksum(conn.execute(select(*(table.c[f] for f in fields))))
    return result


def portal_checksums(factory) -> dict[str, tuple[int, str]]:
    with factory() as session:
        return {name: _checksum(session.execute(stmt)) for name, (_, stmt) in CANONICAL.items()}


class RecordingClient(HttpErpClient):
    """The real HTTP client, recording page sizes; optionally failing after some pages (a crash)."""

    def __init__(self, url: str, fail_after_pages: int | None = None) -> None:
        super().__init__(url)
        self.page_sizes: list[int] = []
        self.fail_after_pages = fail_after_pages

    def iter_pages(self, entity_set: str, **kwargs) -> Iterator[list[Record]]:
        for page in super().iter_pages(entity_set, **kwargs):
            if self.fail_after_pages is not None and len(self.page_sizes) >= self.fail_after_pages:
                raise ConnectionError("simulated crash in the middle of the pull")
            self.page_sizes.append(len(page))
            yield page


def test_every_entity_set_is_synced():
    assert [s.entity_set for s in ENTITY_SYNCS] and {s.entity_set for s in ENTITY_SYNCS} == set(ENTITY_SETS)
    assert set(CANONICAL) == set(ENTITY_SETS)


def test_initial_sync_is_exact(erp, portal_sessions):
    client = RecordingClient(erp.url)
    summary = pull_all(portal_sessions, client, kind="initial")

    expected = erp_checksums(erp.engine)
    assert portal_checksums(portal_sessions) == expected
    assert summary.total == sum(count for count, _ in expected.values())
    assert expected["SalesOrderLines"][0] > 1000  # several pages were needed
    assert max(client.page_sizes) <= PAGE_SIZE
    assert not summary.stopped

    with portal_sessions() as session:
        run = session.scalars(select(SyncRun)).one()
        assert (run.kind, run.status, run.records_applied) == ("initial", "ok", summary.total)
        cursors = dict(session.execute(select(SyncCursor.entity_set, SyncCursor.last_sequence)).all())
        assert set(cursors) == set(ENTITY_SETS)
        # every order starts its timeline; portal-placed orders are linked to the contact who placed them
        assert session.scalar(select(func.count(OrderEvent.id))) == expected["SalesOrderHeadersV2"][0]
        unlinked = session.scalar(
            select(func.count(SalesOrder.id)).where(
                SalesOrder.origin == "portal", SalesOrder.placed_by_contact_id.is_(None)
            )
        )
        assert unlinked == 0
        contact = session.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        assert (contact.legal_entity_id, contact.currency_code) == ("USMF", "USD")
        assert contact.price_list_code and contact.ship_to_country_region_id == "USA"

    # later pulls find nothing new and change nothing; idle pulls share one run row
    for _ in range(3):
        assert pull_all(portal_sessions, HttpErpClient(erp.url)).total == 0
    assert portal_checksums(portal_sessions) == expected
    with portal_sessions() as session:
        runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        assert [(r.kind, r.records_applied) for r in runs] == [("initial", summary.total), ("pull", 0)]
        assert runs[1].finished_at >= runs[1].started_at >= runs[0].finished_at


def test_incremental_pull_applies_erp_changes(erp, portal_sessions):
    pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
    with erp.engine.begin() as conn:
        number, area = conn.execute(
            select(sales_order_headers.c.SalesOrderNumber, sales_order_headers.c.dataAreaId).where(
                sales_order_headers.c.SalesOrderProcessingStatus == "Active"
            )
        ).first()
        conn.execute(
            update(sales_order_headers)
            .where(sales_order_headers.c.SalesOrderNumber == number, sales_order_headers.c.dataAreaId == area)
            .values(
                SalesOrderProcessingStatus="Confirmed",
                DocumentStatus="Confirmation",
                ConfirmedReceiptDate=date(2026, 12, 24),
                ChangeSequence=next_change_sequence(conn),
                ModifiedDateTime=datetime(2026, 11, 20, 8, 0),
            )
        )

    summary = pull_all(portal_sessions, HttpErpClient(erp.url))
    assert summary.applied["SalesOrderHeadersV2"] == 1 and summary.total == 1
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)
    with portal_sessions() as session:
        order = session.scalars(
            select(SalesOrder).where(
                SalesOrder.sales_order_number == number, SalesOrder.legal_entity_id == area
            )
        ).one()
        assert order.confirmed_receipt_date == date(2026, 12, 24)
        change = order.events[-1]
        assert (change.kind, change.from_status, change.to_status) == (
            "status_changed",
            "Active",
            "Confirmed",
        )


def test_crash_mid_pull_converges(erp, portal_sessions):
    with pytest.raises(ConnectionError):
        pull_all(portal_sessions, RecordingClient(erp.url, fail_after_pages=6), kind="initial")
    with portal_sessions() as session:
        assert session.scalars(select(SyncRun.status)).one() == "failed"
        partial = session.scalar(select(func.count(SalesOrder.id)))
    assert partial < erp_checksums(erp.engine)["SalesOrderHeadersV2"][0]

    pull_all(portal_sessions, HttpErpClient(erp.url))
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)


def test_line_waits_for_its_order(erp, portal_sessions):
    """Lines whose header is not in the portal yet stop that entity set until the header arrives."""
    from sync.pull import ENTITY_SYNCS as specs
    from sync.pull import pull_entity_set

    by_name = {s.entity_set: s for s in specs}
    client = HttpErpClient(erp.url)
    for spec in specs:
        if spec.entity_set not in ("SalesOrderHeadersV2", "SalesOrderLines"):
            pull_entity_set(portal_sessions, client, spec)
    result = pull_entity_set(portal_sessions, client, by_name["SalesOrderLines"])
    assert result.applied == 0 and "not in the portal yet" in result.stopped
    with session_scope(portal_sessions) as session:
        cursor = session.get(SyncCursor, "SalesOrderLines")
        assert cursor is None or cursor.last_sequence == 0

    pull_all(portal_sessions, client)
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)


def test_first_start_with_the_erp_down_still_starts(erp, portal_sessions, tmp_path, caplog):
    """The portal starts on an unreachable ERP; the next pull completes the initial sync."""
    from app import Settings
    from sync.worker import prepare_store

    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    down = HttpErpClient("http://127.0.0.1:9", retries=0)
    sign_ins = prepare_store(portal_sessions, down, settings)
    assert [s.email for s in sign_ins] == ["admin@portal.demo"]  # customer contacts come from the ERP
    assert "ERP is unreachable" in caplog.text
    assert _order_indexes(portal_sessions) == _model_order_indexes()  # built again after the failed load
    with portal_sessions() as session:
        assert session.scalars(select(SyncRun.status)).all() == ["failed"]

    pull_all(portal_sessions, HttpErpClient(erp.url))
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)


def test_a_record_changed_twice_in_one_page_keeps_the_later_change(portal_sessions):
    from sync.pull import apply_page

    spec = next(s for s in ENTITY_SYNCS if s.entity_set == "LegalEntities")
    base = {
        "LegalEntityId": "USMF",
        "CurrencyCode": "USD",
        "LanguageId": "en-us",
        "AddressCountryRegionId": "USA",
    }
    page = [
        {**base, "Name": "Old name", "ChangeSequence": 5, "ModifiedDateTime": "2026-11-20T08:00:00Z"},
        {**base, "Name": "New name", "ChangeSequence": 9, "ModifiedDateTime": "2026-11-20T09:00:00Z"},
    ]
    with session_scope(portal_sessions) as session:
        result = apply_page(session, spec, page)
    assert (result.applied, result.last_sequence) == (2, 9)
    with portal_sessions() as session:
        entity = session.get(LegalEntity, "USMF")
        assert (entity.name, entity.erp_change_sequence) == ("New name", 9)
        assert entity.erp_modified_at == datetime(2026, 11, 20, 9, 0)


def test_rows_by_key_reads_exactly_the_rows_asked_for(portal_sessions):
    """The pull's keyed reads: lists of any length (padded to a few compiled lengths, chunked above the
    largest), a two-column key one company at a time, keys that are not there left out."""
    from sync.pull import rows_by_key

    with session_scope(portal_sessions) as session:
        session.add_all(
            LegalEntity(id=area, name=area, currency_code="USD", language_id="en-us", country_region_id="USA")
            for area in ("A", "B", "C")
        )
        session.flush()
        session.add_all(
            PriceList(legal_entity_id=area, code=f"P{n}", name="", currency_code="USD")
            for area, count in (("A", 1300), ("B", 5), ("C", 1))
            for n in range(count)
        )
    wanted = [("A", f"P{n}") for n in range(1100)]  # a list of 1,024 and one of 76
    wanted += [("B", "P0"), ("B", "P4"), ("B", "P9"), ("C", "P0"), ("D", "P0")]
    price_lists = PriceList.__table__.c
    with portal_sessions() as session:
        rows = rows_by_key(
            session,
            [price_lists.legal_entity_id, price_lists.code, price_lists.id],
            [price_lists.legal_entity_id, price_lists.code],
            wanted,
        )
        ids = dict(
            session.execute(select(PriceList.code + "@" + PriceList.legal_entity_id, PriceList.id)).all()
        )
        entities = rows_by_key(
            session, [LegalEntity.__table__.c.name], [LegalEntity.__table__.c.id], [("C",), ("A",), ("Z",)]
        )
    found = {(area, code): row_id for area, code, row_id in rows}
    assert len(rows) == len(found) == 1100 + 3
    assert set(found) == set(wanted) - {("B", "P9"), ("D", "P0")}
    assert all(found[area, code] == ids[f"{code}@{area}"] for area, code in found)
    assert sorted(entities) == [("A",), ("C",)]


def _change_order(erp, number: str, area: str, **values) -> None:
    with erp.engine.begin() as conn:
        conn.execute(
            update(sales_order_headers)
            .where(sales_order_headers.c.SalesOrderNumber == number, sales_order_headers.c.dataAreaId == area)
            .values(
                **values,
                ChangeSequence=next_change_sequence(conn),
                ModifiedDateTime=datetime(2026, 11, 20, 9),
            )
        )


def _two_orders(erp) -> list[tuple[str, str]]:
    with erp.engine.connect() as conn:
        rows = conn.execute(
            select(sales_order_headers.c.SalesOrderNumber, sales_order_headers.c.dataAreaId)
            .order_by(sales_order_headers.c.ChangeSequence)
            .limit(2)
        ).all()
    return [(number, area) for number, area in rows]


def test_a_text_longer_than_its_portal_column_is_quarantined_alone(erp, portal_sessions):
    """PostgreSQL refuses a value longer than its column, which failed the whole batch: the record is
    quarantined with a reason naming the ERP field, and the rest of the batch is applied."""
    from data.models import QuarantinedRecord

    pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
    (long_number, long_area), (other_number, other_area) = _two_orders(erp)
    _change_order(erp, long_number, long_area, CustomerRequisitionNumber="R" * 300)
    _change_order(erp, other_number, other_area, CustomerRequisitionNumber="PO-4711")

    summary = pull_all(portal_sessions, HttpErpClient(erp.url))
    assert summary.applied["SalesOrderHeadersV2"] == 1 and summary.quarantined == {"SalesOrderHeadersV2": 1}
    assert not summary.stopped
    with portal_sessions() as session:
        (quarantined,) = session.scalars(select(QuarantinedRecord)).all()
        assert quarantined.record_key == f"{long_area}|{long_number}"
        assert quarantined.reason == (
            "Malformed: CustomerRequisitionNumber is 300 characters; the portal keeps at most 60"
        )
        requisitions = {
            (area, number): requisition
            for area, number, requisition in session.execute(
                select(
                    SalesOrder.legal_entity_id,
                    SalesOrder.sales_order_number,
                    SalesOrder.customer_requisition_number,
                )
            )
        }
        cursor = session.get(SyncCursor, "SalesOrderHeadersV2").last_sequence
    assert requisitions[other_area, other_number] == "PO-4711"
    assert requisitions[long_area, long_number] != "R" * 300
    with erp.engine.connect() as conn:  # the cursor moved past both records
        assert cursor == conn.scalar(select(func.max(sales_order_headers.c.ChangeSequence)))

    # when the ERP shortens it, the record arrives and its quarantine is resolved
    _change_order(erp, long_number, long_area, CustomerRequisitionNumber="R" * 60)
    assert pull_all(portal_sessions, HttpErpClient(erp.url)).applied["SalesOrderHeadersV2"] == 1
    with portal_sessions() as session:
        assert session.scalars(select(QuarantinedRecord.resolved_at)).one() is not None


def test_pulled_updates_stamp_updated_at_with_the_time_of_applying(erp, portal_sessions):
    """The sync health page's lag chart reads updated_at - erp_modified_at of sales orders."""
    from datetime import UTC

    pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
    (number, area), _ = _two_orders(erp)
    with session_scope(portal_sessions) as session:  # an old stamp, so a missed update shows
        session.execute(update(SalesOrder).values(updated_at=datetime(2020, 1, 1)))
    _change_order(erp, number, area, DocumentStatus="Confirmation")

    before = datetime.now(UTC).replace(tzinfo=None)
    pull_all(portal_sessions, HttpErpClient(erp.url))
    after = datetime.now(UTC).replace(tzinfo=None)
    with portal_sessions() as session:
        rows = session.execute(
            select(
                SalesOrder.legal_entity_id,
                SalesOrder.sales_order_number,
                SalesOrder.updated_at,
                SalesOrder.erp_modified_at,
            )
        ).all()
    changed = {(a, n): (stamp, modified) for a, n, stamp, modified in rows}
    stamp, modified = changed.pop((area, number))
    assert before <= stamp <= after and modified == datetime(2026, 11, 20, 9)
    assert {stamp for stamp, _ in changed.values()} == {datetime(2020, 1, 1)}


def test_a_change_the_portal_holds_is_compared_in_full_when_sent_again(erp, portal_sessions):
    """A repair sends again changes the portal already holds (same ChangeSequence): a drifted field, indexed
    or not, gets the ERP's value back, and an order that did not drift is not written at all."""
    from sync.pull import ORDERS, apply_page

    pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
    records = next(HttpErpClient(erp.url).iter_pages(ORDERS, top=2))
    drifted, untouched = ((r["dataAreaId"], r["SalesOrderNumber"]) for r in records)
    with session_scope(portal_sessions) as session:
        session.execute(update(SalesOrder).values(updated_at=datetime(2020, 1, 1)))
        session.execute(
            update(SalesOrder)
            .where(SalesOrder.legal_entity_id == drifted[0], SalesOrder.sales_order_number == drifted[1])
            .values(delivery_address_city="Drifted", total_amount=Decimal("0.01"))
        )

    spec = next(s for s in ENTITY_SYNCS if s.entity_set == ORDERS)
    with session_scope(portal_sessions) as session:
        assert apply_page(session, spec, records).applied == 2
    with portal_sessions() as session:
        rows = {
            (area, number): rest
            for area, number, *rest in session.execute(
                select(
                    SalesOrder.legal_entity_id,
                    SalesOrder.sales_order_number,
                    SalesOrder.delivery_address_city,
                    SalesOrder.total_amount,
                    SalesOrder.updated_at,
                )
            )
        }
    city, total, stamp = rows[drifted]
    assert (city, total) == (records[0]["DeliveryAddressCity"], Decimal(str(records[0]["TotalAmount"])))
    assert stamp > datetime(2020, 1, 1)
    assert rows[untouched][2] == datetime(2020, 1, 1)


def _order_indexes(factory) -> set[str]:
    """The secondary indexes of sales_orders in the database (PostgreSQL also lists its unique keys)."""
    with factory() as session:
        return {
            ix["name"] for ix in inspect(session.connection()).get_indexes("sales_orders") if not ix["unique"]
        }


def _model_order_indexes() -> set[str]:
    return {str(ix.name) for ix in SalesOrder.__table__.indexes}


def test_the_initial_sync_builds_the_grid_indexes_once_at_the_end(erp, portal_sessions, monkeypatch):
    """The secondary indexes of sales_orders (the grid's sorts, rejected orders) are left out while the
    orders load and built afterwards; the data is exact either way, and the planner's statistics are fresh."""
    from sync import pull as pull_module
    from sync.worker import initial_sync

    seen_during: list[set[str]] = []
    original = pull_module.apply_page

    def watching(session, spec, records):
        if spec.entity_set == "SalesOrderHeadersV2" and not seen_during:
            seen_during.append(
                {ix["name"] for ix in inspect(session.connection()).get_indexes("sales_orders")}
            )
        return original(session, spec, records)

    monkeypatch.setattr(pull_module, "apply_page", watching)
    initial_sync(portal_sessions, HttpErpClient(erp.url))

    assert seen_during and not (seen_during[0] & _model_order_indexes())  # none while loading
    assert _order_indexes(portal_sessions) == _model_order_indexes()  # all of them afterwards
    assert portal_checksums(portal_sessions) == erp_checksums(erp.engine)


def test_indexes_a_killed_initial_sync_left_out_are_built_at_the_next_start(portal_db):
    """A process killed during the initial sync leaves the grid's indexes dropped: the next start's
    migration builds whatever index is missing."""
    from data.db import drop_secondary_indexes, make_engine, make_session_factory, migrate

    url = portal_db.url.render_as_string(hide_password=False)
    engine = make_engine(url)
    drop_secondary_indexes(engine)  # what the initial sync does first; then the process dies
    factory = make_session_factory(engine)
    assert not (_order_indexes(factory) & _model_order_indexes())
    engine.dispose()

    restarted = make_engine(url)
    migrate(restarted)
    assert _order_indexes(make_session_factory(restarted)) == _model_order_indexes()
    restarted.dispose()
