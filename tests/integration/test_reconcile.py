"""Checksum reconciliation (QUALITY R11, I4): drift injected on either side is found bucket by bucket,
repaired with the ERP's values, orders only the portal has are reported, and the counts are recorded."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from data.models import OrderEvent, SalesOrder, SalesOrderLine, SyncRun
from sync.checksum import h40
from sync.erp_client import HttpErpClient
from sync.erp_simulator.store import sales_order_headers, sales_order_lines
from sync.pull import pull_all
from sync.reconcile import Plan, Sums, compare, plan_buckets, plan_orders, reconcile
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


def test_checksum_matches_the_python_definition():
    assert h40("SO-1|29||2026-01-02") == int.from_bytes(
        __import__("hashlib").md5(b"SO-1|29||2026-01-02").digest()[:5], "big"
    )


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
