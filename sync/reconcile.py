"""Checksum reconciliation of sales orders and lines between the portal and the ERP (QUALITY R11, I4).

Shaped like diffsync: **load** the checksums of both sides per bucket (legal entity, ordering customer,
month of the order), each computed by its own database in aggregate queries (sync/checksum.py);
**plan** (pure): the buckets whose numbers differ, then within those the orders that differ, are missing
in the portal, or exist only in the portal; **apply**: fetch the ERP's records of the differing and
missing orders and upsert them with the pull's own converters (ERP-owned fields win); orders the ERP
does not have are reported, never deleted; **record** the counts in a SyncRun(kind="reconcile").

Only the buckets that differ are drilled into, so a clean run costs one pass over the orders per side
(both at the same time; each order's lines read through their index and summed once, no sort of line
rows), and drift costs one indexed query per differing bucket, the repair, and a re-check of the
differing orders by key. Measured in bench/reconcile.py (bench/RESULTS-reconcile.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Subquery, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from data.models import CustomerAccount, SalesOrder, SalesOrderLine, SyncRun
from sync.checksum import Part, bucket_sums, install, keys_in, month_of, order_checksums
from sync.erp_client import Record
from sync.pull import ENTITY_SYNCS, apply_page
from sync.reconcile_client import Bucket, OrderKey

log = logging.getLogger(__name__)

REPAIR_BATCH = 1000  # records per transaction, as the pull
REPORT_SAMPLE = 50  # keys listed in the run's detail

# The ERP-owned fields compared (sync/erp_simulator/checksums.py lists the ERP's columns in the same order).
HEADER_PARTS: tuple[Part, ...] = (
    ("code", SalesOrder.sales_status),
    ("code", SalesOrder.processing_status),
    ("code", SalesOrder.document_status),
    ("code", SalesOrder.currency_code),
    ("code", SalesOrder.delivery_address_country_region_id),
    ("money", SalesOrder.total_amount),
    ("date", SalesOrder.requested_receipt_date),
    ("date", SalesOrder.confirmed_receipt_date),
)
LINE_PARTS: tuple[Part, ...] = (
    ("code", SalesOrderLine.item_number),
    ("code", SalesOrderLine.line_status),
    ("int", SalesOrderLine.line_number),
    ("qty", SalesOrderLine.quantity),
    ("qty", SalesOrderLine.confirmed_quantity),
    ("money", SalesOrderLine.line_amount),
    ("date", SalesOrderLine.confirmed_receipt_date),
)


class ChecksumSource(Protocol):
    """The ERP side (sync/reconcile_client.HttpChecksumClient over HTTP)."""

    def buckets(self) -> list[list[Any]]: ...

    def order_checksums(self, buckets: list[Bucket]) -> list[list[Any]]: ...

    def order_checksums_by_key(self, keys: list[OrderKey]) -> list[list[Any]]: ...

    def order_records(self, keys: list[OrderKey]) -> tuple[list[Record], list[Record]]: ...


@dataclass(frozen=True)
class Sums:
    """Counts and checksum sums of one bucket (or one order: 1 order, its lines, and its bucket)."""

    orders: int
    order_hash: int
    lines: int
    line_hash: int
    bucket: Bucket | None = None  # an order's: one in another bucket on the other side differs too


# --- plan (pure) -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What differs, and what the apply step does about it."""

    buckets_checked: int = 0
    orders_checked: int = 0
    differing_buckets: list[Bucket] = field(default_factory=list)
    update: list[OrderKey] = field(default_factory=list)  # in both, different: take the ERP's
    create: list[OrderKey] = field(default_factory=list)  # only in the ERP: fetch
    extra: list[OrderKey] = field(default_factory=list)  # only in the portal: report
    seconds: dict[str, float] = field(default_factory=dict)  # per step: buckets, orders

    @property
    def differing_orders(self) -> int:
        return len(self.update) + len(self.create) + len(self.extra)


def plan_buckets(portal: dict[Bucket, Sums], erp: dict[Bucket, Sums]) -> Plan:
    """Buckets whose counts or checksums differ (a bucket on one side only differs too)."""
    keys = portal.keys() | erp.keys()
    empty = Sums(0, 0, 0, 0)
    return Plan(
        buckets_checked=len(keys),
        orders_checked=sum(max(portal.get(k, empty).orders, erp.get(k, empty).orders) for k in keys),
        differing_buckets=sorted(k for k in keys if portal.get(k) != erp.get(k)),
    )


def plan_orders(plan: Plan, portal: dict[OrderKey, Sums], erp: dict[OrderKey, Sums]) -> Plan:
    """Within the differing buckets: orders to update, to create, and the portal's extra ones."""
    plan.update = sorted(k for k in portal.keys() & erp.keys() if portal[k] != erp[k])
    plan.create = sorted(erp.keys() - portal.keys())
    plan.extra = sorted(portal.keys() - erp.keys())
    return plan


# --- load --------------------------------------------------------------------------------------------


def _bucket_sums(rows: Iterable[Sequence[Any]]) -> dict[Bucket, Sums]:
    return {(r[0], r[1], r[2]): Sums(int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows}


def _accounts(conn: Connection) -> dict[int, tuple[str, str]]:
    rows = conn.execute(
        select(CustomerAccount.id, CustomerAccount.legal_entity_id, CustomerAccount.account_number)
    )
    return {i: (le, number) for i, le, number in rows}


def _portal_checksums(dialect: str, keys: Sequence[Any], *where: Any, count_lines: bool = True) -> Subquery:
    return order_checksums(
        dialect,
        keys=keys,
        orders=SalesOrder.__table__,
        number=SalesOrder.sales_order_number,
        header_parts=HEADER_PARTS,
        lines=SalesOrderLine.__table__,
        lines_of_order=SalesOrderLine.order_id == SalesOrder.id,
        line_parts=LINE_PARTS,
        where=[SalesOrder.sales_order_number.is_not(None), *where],
        count_lines=count_lines,
    )


def portal_buckets(conn: Connection) -> dict[Bucket, Sums]:
    """The portal's bucket checksums: one pass over the orders, each order's lines through their index."""
    install(conn)
    dialect = conn.dialect.name
    keys = [SalesOrder.customer_account_id, month_of(dialect, SalesOrder.order_date).label("month")]
    per_order = _portal_checksums(dialect, keys, count_lines=False)  # the lines checksum covers them
    rows = conn.execute(bucket_sums(per_order, ["customer_account_id", "month"]))
    accounts = _accounts(conn)
    return {
        (*accounts[account_id], month): Sums(int(n), int(h or 0), int(nl or 0), int(hl or 0))
        for account_id, month, n, h, nl, hl in rows
    }


def _month_range(month: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(month, "%Y-%m")
    return start, start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def portal_order_sums(conn: Connection, buckets: Sequence[Bucket]) -> dict[OrderKey, Sums]:
    """Per order of the buckets: its checksum, lines and lines checksum (the account-and-date index)."""
    install(conn)
    dialect = conn.dialect.name
    ids = {v: k for k, v in _accounts(conn).items()}
    per_order = _portal_checksums(
        dialect,
        [SalesOrder.legal_entity_id, SalesOrder.sales_order_number],
        SalesOrder.customer_account_id == bindparam("account_id"),
        SalesOrder.order_date >= bindparam("start"),
        SalesOrder.order_date < bindparam("end"),
    )
    stmt = select(*per_order.c)
    found: dict[OrderKey, Sums] = {}
    for bucket in buckets:
        area, account, month = bucket
        account_id = ids.get((area, account))
        if account_id is None:
            continue
        start, end = _month_range(month)
        rows = conn.execute(stmt, {"account_id": account_id, "start": start, "end": end})
        for le, number, h, n, s in rows:
            found[(le, str(number))] = Sums(1, int(h), int(n), int(s), bucket)
    return found


def portal_order_sums_by_key(conn: Connection, keys: Sequence[OrderKey]) -> dict[OrderKey, Sums]:
    """The same as :func:`portal_order_sums` for the orders named (their unique index)."""
    install(conn)
    dialect = conn.dialect.name
    accounts = _accounts(conn)
    keys_sql = [SalesOrder.legal_entity_id, SalesOrder.sales_order_number, SalesOrder.customer_account_id]
    month = month_of(dialect, SalesOrder.order_date).label("month")
    found: dict[OrderKey, Sums] = {}
    for start in range(0, len(keys), REPAIR_BATCH):
        chunk = list(keys[start : start + REPAIR_BATCH])
        match = keys_in(SalesOrder.legal_entity_id, SalesOrder.sales_order_number, chunk)
        per_order = _portal_checksums(dialect, [*keys_sql, month], match)
        for le, number, account_id, m, h, n, s in conn.execute(select(*per_order.c)):
            found[(le, str(number))] = Sums(1, int(h), int(n), int(s), (*accounts[account_id], m))
    return found


def erp_order_sums(rows: Iterable[Sequence[Any]]) -> dict[OrderKey, Sums]:
    """``[area, number, checksum, lines, lines checksum, account, month]`` rows of the ERP's endpoint."""
    return {(r[0], r[1]): Sums(1, int(r[2]), int(r[3]), int(r[4]), (r[0], r[5], r[6])) for r in rows}


# --- apply -------------------------------------------------------------------------------------------


@dataclass
class Applied:
    repaired: int = 0  # orders whose ERP records were written
    lines_written: int = 0
    skipped_newer: int = 0  # the portal already had a newer change (a pull ran meanwhile)
    failed: list[str] = field(default_factory=list)  # why an order could not be repaired
    extra_lines: list[str] = field(default_factory=list)  # portal lines the ERP does not have


_SPECS = {spec.entity_set: spec for spec in ENTITY_SYNCS}


def _apply_all(session: Session, entity_set: str, records: list[Record], failed: list[str]) -> int:
    """Upsert records with the pull's converter; one that refers to something missing is reported."""
    spec = _SPECS[entity_set]
    applied, rest = 0, records
    while rest:
        page = apply_page(session, spec, rest)
        applied += page.applied
        if not page.stopped:
            break
        failed.append(f"{rest[page.applied].get('SalesOrderNumber')}: {page.stopped}")
        rest = rest[page.applied + 1 :]
    return applied


def repair(session: Session, source: ChecksumSource, keys: list[OrderKey], result: Applied) -> None:
    """Write the ERP's records of `keys` (at most REPAIR_BATCH) into the portal (caller's transaction)."""
    headers, lines = source.order_records(keys)
    newer = {
        (le, number): seq
        for le, number, seq in session.execute(
            select(
                SalesOrder.legal_entity_id, SalesOrder.sales_order_number, SalesOrder.erp_change_sequence
            ).where(keys_in(SalesOrder.legal_entity_id, SalesOrder.sales_order_number, keys))
        )
    }
    take = {
        (h["dataAreaId"], h["SalesOrderNumber"])
        for h in headers
        if (newer.get((h["dataAreaId"], h["SalesOrderNumber"])) or 0) <= int(h["ChangeSequence"])
    }
    result.skipped_newer += len(headers) - len(take)
    headers = [h for h in headers if (h["dataAreaId"], h["SalesOrderNumber"]) in take]
    lines = [line for line in lines if (line["dataAreaId"], line["SalesOrderNumber"]) in take]
    result.repaired += _apply_all(session, "SalesOrderHeadersV2", headers, result.failed)
    result.lines_written += _apply_all(session, "SalesOrderLines", lines, result.failed)
    erp_lines = {(line["dataAreaId"], line["SalesOrderNumber"], int(line["LineNumber"])) for line in lines}
    portal_lines = session.execute(
        select(SalesOrder.legal_entity_id, SalesOrder.sales_order_number, SalesOrderLine.line_number)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(keys_in(SalesOrder.legal_entity_id, SalesOrder.sales_order_number, sorted(take)))
    ).all()
    result.extra_lines += [
        f"{le}/{n} line {ln}" for le, n, ln in portal_lines if (le, n, ln) not in erp_lines
    ]


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class ReconcileSummary:
    buckets_checked: int = 0
    differing_buckets: int = 0
    orders_checked: int = 0
    differing_orders: int = 0
    updated: int = 0  # orders in both that differed
    created: int = 0  # orders missing in the portal
    extra: int = 0  # orders only in the portal (reported)
    repaired: int = 0
    lines_written: int = 0
    skipped_newer: int = 0
    failed: int = 0
    extra_lines: int = 0
    remaining_differing_orders: int = 0  # of the differing orders, after the repair (I4 when 0)
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)  # buckets, orders, repair, verify
    samples: dict[str, list[str]] = field(default_factory=dict)

    def as_detail(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def compare(factory: sessionmaker[Session], source: ChecksumSource) -> Plan:
    """Load both sides' checksums (the ERP's on a thread while the portal's run) and plan."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-checksums") as pool:
        erp_future = pool.submit(source.buckets)
        with factory() as session:
            portal = portal_buckets(session.connection())
        erp = _bucket_sums(erp_future.result())
    plan = plan_buckets(portal, erp)
    plan.seconds["buckets"] = round(time.perf_counter() - started, 3)
    if plan.differing_buckets:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-checksums") as pool:
            erp_future2 = pool.submit(source.order_checksums, plan.differing_buckets)
            with factory() as session:
                portal_orders = portal_order_sums(session.connection(), plan.differing_buckets)
            erp_orders = erp_order_sums(erp_future2.result())
        plan_orders(plan, portal_orders, erp_orders)
        plan.seconds["orders"] = round(time.perf_counter() - started, 3)
    return plan


def reconcile(
    factory: sessionmaker[Session],
    source: ChecksumSource,
    *,
    clock: Callable[[], datetime] = _now,
    verify: bool = True,
) -> ReconcileSummary:
    """One reconciliation run: compare, repair (ERP-owned fields win), verify, record a SyncRun."""
    started_at, started = clock(), time.perf_counter()
    summary = ReconcileSummary()
    status, error = "ok", None
    try:
        plan = compare(factory, source)
        summary.buckets_checked = plan.buckets_checked
        summary.differing_buckets = len(plan.differing_buckets)
        summary.orders_checked = plan.orders_checked
        summary.differing_orders = plan.differing_orders
        summary.updated, summary.created, summary.extra = len(plan.update), len(plan.create), len(plan.extra)
        summary.step_seconds = dict(plan.seconds)
        applied = Applied()
        step = time.perf_counter()
        to_fetch = plan.update + plan.create
        for start in range(0, len(to_fetch), REPAIR_BATCH):
            with factory() as session, session.begin():
                repair(session, source, to_fetch[start : start + REPAIR_BATCH], applied)
        if to_fetch:
            summary.step_seconds["repair"] = round(time.perf_counter() - step, 3)
        summary.repaired, summary.lines_written = applied.repaired, applied.lines_written
        summary.skipped_newer, summary.failed = applied.skipped_newer, len(applied.failed)
        summary.extra_lines = len(applied.extra_lines)
        summary.samples = {
            name: values[:REPORT_SAMPLE]
            for name, values in (
                ("updated", [f"{le}/{n}" for le, n in plan.update]),
                ("created", [f"{le}/{n}" for le, n in plan.create]),
                ("extra", [f"{le}/{n}" for le, n in plan.extra]),
                ("failed", applied.failed),
                ("extra_lines", applied.extra_lines),
            )
            if values
        }
        if verify and plan.differing_orders:
            step = time.perf_counter()
            differed = plan.update + plan.create + plan.extra
            summary.remaining_differing_orders = _still_differing(factory, source, differed)
            summary.step_seconds["verify"] = round(time.perf_counter() - step, 3)
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary.seconds = round(time.perf_counter() - started, 3)
        _record(factory, started_at, clock(), status, summary, error)
    log.info(
        "reconcile: %d orders in %d buckets checked, %d differ, %d repaired, %d only in the portal (%.1f s)",
        summary.orders_checked,
        summary.buckets_checked,
        summary.differing_orders,
        summary.repaired,
        summary.extra,
        summary.seconds,
    )
    return summary


def _still_differing(factory: sessionmaker[Session], source: ChecksumSource, keys: list[OrderKey]) -> int:
    """Of the orders that differed, those that still differ after the repair (both sides at once; the
    orders only in the portal, reported rather than deleted, count)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-checksums") as pool:
        erp_future = pool.submit(source.order_checksums_by_key, keys)
        with factory() as session:
            portal = portal_order_sums_by_key(session.connection(), keys)
        erp = erp_order_sums(erp_future.result())
    return sum(portal.get(k) != erp.get(k) for k in keys)


def _record(
    factory: sessionmaker[Session],
    started_at: datetime,
    finished_at: datetime,
    status: str,
    summary: ReconcileSummary,
    error: str | None,
) -> None:
    with factory() as session, session.begin():
        session.add(
            SyncRun(
                kind="reconcile",
                started_at=started_at,
                finished_at=finished_at,
                status=status,
                records_read=summary.orders_checked,
                records_applied=summary.repaired,
                errors=summary.failed + (status == "failed"),
                detail=error or summary.as_detail(),
            )
        )
