"""Checksum reconciliation (QUALITY R11, I4): drift injected on either side is found bucket by bucket,
repaired with the ERP's values, orders only the portal has are reported, and the counts are recorded."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from data.models import OrderEvent, SalesOrder, SalesOrderLine, SyncRun
from sync.checksum import BASE, MODULUS, code_hash, key_factor
from sync.erp_client import HttpErpClient
from sync.erp_simulator.store import sales_order_headers, sales_order_lines
from sync.pull import pull_all
from sync.reconcile import (
    Plan,
    Sums,
    compare,
    plan_buckets,
    plan_orders,
    portal_buckets,
    portal_order_sums_by_key,
    reconcile,
)
from sync.reconcile_client import HttpChecksumClient


@pytest.fixture
def synced(erp, portal_sessions):
    """A portal store filled from a fresh ERP, and a checksum client for that ERP."""
    pull_all(portal_sessions, HttpErpClient(erp.url))
    return portal_sessions, HttpChecksumClient(erp.url), erp


def _orders(factory, n: int) -> list[SalesOrder]:
    with factory() as session:
        return list(
            session.scalars(
                select(SalesOrder)
                .where(
                    SalesOrder.sales_order_number.is_not(None), SalesOrder.confirmed_receipt_date.is_not(None)
                )
                .order_by(SalesOrder.id)
                .limit(n)
            )
        )


def _order(factory, order_id: int) -> SalesOrder:
    with factory() as session:
        return session.get(SalesOrder, order_id)


def test_plan_is_pure_and_counts():
    a, b = ("USMF", "US-001", "2026-01"), ("USMF", "US-002", "2026-02")
    plan = plan_buckets(
        {a: Sums(2, 10, 3, 7), b: Sums(1, 5, 1, 1)}, {a: Sums(2, 10, 3, 7), b: Sums(1, 6, 1, 1)}
    )
    assert (plan.buckets_checked, plan.orders_checked, plan.differing_buckets) == (2, 3, [b])
    moved = plan_orders(
        Plan(),
        {("USMF", "1"): Sums(1, 1, 0, 0, a)},
        {("USMF", "1"): Sums(1, 1, 0, 0, b)},
    )
    assert moved.update == [("USMF", "1")]  # the same checksums in another bucket
    plan = plan_orders(
        Plan(),
        {("USMF", "1"): Sums(1, 1, 0, 0), ("USMF", "2"): Sums(1, 2, 0, 0), ("USMF", "9"): Sums(1, 9, 0, 0)},
        {("USMF", "1"): Sums(1, 1, 0, 0), ("USMF", "2"): Sums(1, 3, 0, 0), ("USMF", "3"): Sums(1, 4, 0, 0)},
    )
    assert (plan.update, plan.create, plan.extra, plan.differing_orders) == (
        [("USMF", "2")],
        [("USMF", "3")],
        [("USMF", "9")],
        3,
    )


def _sql_mod(value: int) -> int:
    """``value % M`` as SQL computes it (the sign of the dividend)."""
    return value % MODULUS if value >= 0 else -(-value % MODULUS)


def _fields(codes: list[str | None], numbers: list[int | None]) -> int:
    acc = code_hash("|".join(c or "" for c in codes))
    for x in numbers:
        acc = _sql_mod(acc * BASE + (MODULUS if x is None else _sql_mod(x)))
    return acc


def _days(value: date | None) -> int | None:
    return None if value is None else (value - date(1970, 1, 1)).days


def _cents(value: Decimal | None, scale: int) -> int | None:
    return None if value is None else int((value * scale).to_integral_value())


def reference_sums(order: SalesOrder, lines: list[SalesOrderLine]) -> tuple[int, int]:
    """The header and lines checksums of sync/checksum.py, computed in Python from the ORM values."""
    factor = key_factor(order.sales_order_number)
    fields = _fields(
        [
            order.sales_status,
            order.processing_status,
            order.document_status,
            order.currency_code,
            order.delivery_address_country_region_id,
        ],
        [
            _cents(order.total_amount, 100),
            _days(order.requested_receipt_date),
            _days(order.confirmed_receipt_date),
        ],
    )
    line_sum = sum(
        _fields(
            [line.item_number, line.line_status],
            [
                line.line_number,
                _cents(line.quantity, 10000),
                _cents(line.confirmed_quantity, 10000),
                _cents(line.line_amount, 100),
                _days(line.confirmed_receipt_date),
            ],
        )
        for line in lines
    )
    return _sql_mod(factor * fields), _sql_mod(factor * _sql_mod(line_sum))


def test_checksum_matches_the_python_definition():
    md5 = int.from_bytes(__import__("hashlib").md5(b"Invoiced|USD||").digest()[:4], "big")
    assert code_hash("Invoiced|USD||") == md5 % MODULUS
    assert (
        key_factor("SO-0000001")
        == int.from_bytes(__import__("hashlib").md5(b"SO-0000001").digest()[:4], "big") % (MODULUS - 1) + 1
    )
    assert code_hash(None) is None and key_factor(None) is None


def test_clean_stores_agree(synced):
    factory, client, _ = synced
    summary = reconcile(factory, client)
    assert summary.buckets_checked > 10 and summary.orders_checked > 300
    assert (summary.differing_buckets, summary.differing_orders, summary.repaired) == (0, 0, 0)
    with factory() as session:
        run = session.scalars(select(SyncRun).where(SyncRun.kind == "reconcile")).one()
    assert (run.status, run.records_read, run.records_applied, run.errors) == (
        "ok",
        summary.orders_checked,
        0,
        0,
    )


def test_portal_drift_is_found_and_repaired(synced):
    factory, client, _ = synced
    status, total, confirmed, missing, line_changed, extra_source = _orders(factory, 6)
    before = {o.id: o for o in (status, total, confirmed)}
    with factory() as session, session.begin():
        session.execute(
            update(SalesOrder).where(SalesOrder.id == status.id).values(processing_status="Canceled")
        )
        session.execute(
            update(SalesOrder).where(SalesOrder.id == total.id).values(total_amount=total.total_amount + 1)
        )
        session.execute(
            update(SalesOrder)
            .where(SalesOrder.id == confirmed.id)
            .values(confirmed_receipt_date=confirmed.confirmed_receipt_date + timedelta(days=3))
        )
        for table in (OrderEvent, SalesOrderLine):
            session.execute(delete(table).where(table.order_id == missing.id))
        session.execute(delete(SalesOrder).where(SalesOrder.id == missing.id))
        line = session.scalars(
            select(SalesOrderLine).where(SalesOrderLine.order_id == line_changed.id).limit(1)
        ).one()
        line.quantity += Decimal(1)
        # an order only the portal has (as if the ERP had lost it)
        copy = {c.key: getattr(extra_source, c.key) for c in SalesOrder.__table__.columns if c.key != "id"}
        session.add(SalesOrder(**{**copy, "sales_order_number": "SO-9999999", "portal_order_id": None}))

    summary = reconcile(factory, client)

    assert summary.updated == 4  # status, total, confirmed date, a line's quantity
    assert summary.created == 1  # the order deleted in the portal
    assert summary.extra == 1 and summary.samples["extra"] == [f"{extra_source.legal_entity_id}/SO-9999999"]
    assert summary.repaired == 5 and summary.failed == 0
    assert summary.differing_orders == 6
    assert 1 <= summary.differing_buckets <= 6
    assert summary.remaining_differing_orders == 1  # only the extra order, which is reported, not deleted
    for order_id, original in before.items():
        repaired = _order(factory, order_id)
        assert (repaired.processing_status, repaired.total_amount, repaired.confirmed_receipt_date) == (
            original.processing_status,
            original.total_amount,
            original.confirmed_receipt_date,
        )
    with factory() as session:
        back = session.scalars(
            select(SalesOrder).where(
                SalesOrder.legal_entity_id == missing.legal_entity_id,
                SalesOrder.sales_order_number == missing.sales_order_number,
            )
        ).one()
        assert back.total_amount == missing.total_amount
        assert session.scalars(select(SalesOrderLine).where(SalesOrderLine.order_id == back.id)).all()
        run = session.scalars(select(SyncRun).where(SyncRun.kind == "reconcile")).one()
    assert (run.records_applied, run.errors) == (5, 0)
    detail = json.loads(run.detail)
    assert (detail["differing_orders"], detail["repaired"], detail["extra"]) == (6, 5, 1)

    # I4: without the reported extra order, both sides' checksums are equal everywhere
    with factory() as session, session.begin():
        session.execute(delete(SalesOrder).where(SalesOrder.sales_order_number == "SO-9999999"))
    assert compare(factory, client).differing_buckets == []


def test_erp_drift_is_found_and_the_erp_wins(synced):
    """Silent ERP changes (no change sequence, so the pull never sees them) reach the portal."""
    factory, client, erp = synced
    first, second = _orders(factory, 2)
    with erp.engine.begin() as conn:
        conn.execute(
            update(sales_order_headers)
            .where(sales_order_headers.c.SalesOrderNumber == first.sales_order_number)
            .where(sales_order_headers.c.dataAreaId == first.legal_entity_id)
            .values(SalesOrderProcessingStatus="Invoiced", SalesOrderStatus="Invoiced", TotalAmount=123.45)
        )
        conn.execute(
            update(sales_order_lines)
            .where(sales_order_lines.c.SalesOrderNumber == second.sales_order_number)
            .where(sales_order_lines.c.dataAreaId == second.legal_entity_id)
            .values(ConfirmedReceiptDate=date(2027, 1, 15))
        )
    summary = reconcile(factory, client)
    assert (summary.updated, summary.created, summary.extra, summary.repaired) == (2, 0, 0, 2)
    assert summary.remaining_differing_orders == 0
    repaired = _order(factory, first.id)
    assert (repaired.processing_status, repaired.total_amount) == ("Invoiced", Decimal("123.45"))
    with factory() as session:
        dates = session.scalars(
            select(SalesOrderLine.confirmed_receipt_date).where(SalesOrderLine.order_id == second.id)
        ).all()
    assert set(dates) == {date(2027, 1, 15)}
    assert compare(factory, client).differing_buckets == []  # I4


def test_a_second_run_finds_nothing(synced):
    factory, client, _ = synced
    (order,) = _orders(factory, 1)
    with factory() as session, session.begin():
        session.execute(update(SalesOrder).where(SalesOrder.id == order.id).values(document_status="Drifted"))
    assert reconcile(factory, client).repaired == 1
    again = reconcile(factory, client)
    assert (again.differing_buckets, again.repaired) == (0, 0)
    with factory() as session:
        assert session.scalars(select(SyncRun.records_applied).where(SyncRun.kind == "reconcile")).all() == [
            1,
            0,
        ]


def test_sql_checksums_match_the_reference_on_each_database(synced):
    """The portal's database (SQLite, or PostgreSQL) computes exactly the Python definition, edge cases
    included (a negative total, missing dates and quantities), and agrees with the ERP's SQLite."""
    factory, client, erp = synced
    first, second = _orders(factory, 2)
    with erp.engine.begin() as conn:
        conn.execute(
            update(sales_order_headers)
            .where(sales_order_headers.c.dataAreaId == first.legal_entity_id)
            .where(sales_order_headers.c.SalesOrderNumber == first.sales_order_number)
            .values(TotalAmount=-1234.56, ConfirmedReceiptDate=None)
        )
        conn.execute(
            update(sales_order_lines)
            .where(sales_order_lines.c.dataAreaId == second.legal_entity_id)
            .where(sales_order_lines.c.SalesOrderNumber == second.sales_order_number)
            .values(ConfirmedSalesQuantity=None, ConfirmedReceiptDate=None, LineAmount=0.07)
        )
    assert reconcile(factory, client).repaired == 2
    keys = sorted({(o.legal_entity_id, o.sales_order_number) for o in [first, second, *_orders(factory, 40)]})
    with factory() as session:
        computed = portal_order_sums_by_key(session.connection(), keys)
        for le, number in keys:
            order = session.scalars(
                select(SalesOrder).where(
                    SalesOrder.legal_entity_id == le, SalesOrder.sales_order_number == number
                )
            ).one()
            lines = list(session.scalars(select(SalesOrderLine).where(SalesOrderLine.order_id == order.id)))
            header, line_hash = reference_sums(order, lines)
            assert (computed[(le, number)].order_hash, computed[(le, number)].line_hash) == (
                header,
                line_hash,
            )
            assert computed[(le, number)].lines == len(lines)
    assert _order(factory, first.id).total_amount == Decimal("-1234.56")
    assert compare(factory, client).differing_buckets == []  # the ERP's SQLite agrees


def test_values_swapped_between_orders_of_a_bucket_are_found(synced):
    """Sums alone would miss two orders' totals swapped: each order's key factor does not."""
    factory, client, _ = synced
    with factory() as session:
        buckets = portal_buckets(session.connection())
        orders = session.scalars(
            select(SalesOrder).where(SalesOrder.sales_order_number.is_not(None)).order_by(SalesOrder.id)
        ).all()
        by_bucket: dict[tuple[int, str], list[SalesOrder]] = {}
        for order in orders:
            by_bucket.setdefault((order.customer_account_id, str(order.order_date)[:7]), []).append(order)
        a, b = next(
            pair[:2]
            for pair in by_bucket.values()
            if len(pair) > 1 and pair[0].total_amount != pair[1].total_amount
        )
    assert len(buckets) > 10
    with factory() as session, session.begin():
        session.execute(update(SalesOrder).where(SalesOrder.id == a.id).values(total_amount=b.total_amount))
        session.execute(update(SalesOrder).where(SalesOrder.id == b.id).values(total_amount=a.total_amount))
    summary = reconcile(factory, client)
    assert (summary.differing_buckets, summary.updated, summary.remaining_differing_orders) == (1, 2, 0)
    assert (_order(factory, a.id).total_amount, _order(factory, b.id).total_amount) == (
        a.total_amount,
        b.total_amount,
    )


def test_an_order_moved_to_another_month_in_the_erp_is_repaired(synced):
    """Both its old and its new bucket differ; the order is found in both and takes the ERP's date."""
    factory, client, erp = synced
    (order,) = _orders(factory, 1)
    moved = order.order_date - timedelta(days=62)
    with erp.engine.begin() as conn:
        conn.execute(
            update(sales_order_headers)
            .where(sales_order_headers.c.dataAreaId == order.legal_entity_id)
            .where(sales_order_headers.c.SalesOrderNumber == order.sales_order_number)
            .values(OrderCreatedDateTime=moved)
        )
    plan = compare(factory, client)
    months = {m for _, _, m in plan.differing_buckets}
    assert months == {f"{order.order_date:%Y-%m}", f"{moved:%Y-%m}"}
    assert plan.update == [(order.legal_entity_id, order.sales_order_number)]
    summary = reconcile(factory, client)
    assert (summary.repaired, summary.remaining_differing_orders) == (1, 0)
    assert _order(factory, order.id).order_date == moved
    assert compare(factory, client).differing_buckets == []
