"""Factories and helpers for the sync tests: a served simulator whose faults and clock the test holds,
portal orders written the way the wizard writes them (order + outbox entry in one transaction), a fake
clock, and the invariant checks of QUALITY.md (I1 to I5)."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from data.db import session_scope
from data.models import (
    CustomerAccount,
    OrderEvent,
    OrderOrigin,
    OutboxEntry,
    PriceList,
    PriceListItem,
    Product,
    ProductUnit,
    QuarantinedRecord,
    SalesOrder,
    SalesOrderLine,
    SyncControl,
    SyncRun,
    SyncState,
)
from data.order_entry import erp_payload
from sync.erp_simulator.faults import FaultInjector
from sync.erp_simulator.store import sales_order_headers, sales_order_lines
from tests.conftest import ERP_TEST_SEED

ANCHOR = date(2026, 11, 1)
CENT = Decimal("0.01")


class FakeClock:
    """Simulated time shared by the push (``now=``) and the simulator's fault clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class SimulatedErp:
    url: str
    database_url: str
    engine: Engine
    faults: FaultInjector


@contextmanager
def simulated_erp(
    directory: Path, *, faults: FaultInjector | None = None, orders: int = 80
) -> Iterator[SimulatedErp]:
    """A simulator with generated demo data, served over real HTTP, with a fault injector the test holds."""
    from sync.erp_simulator import create_erp_app
    from sync.erp_simulator.generate import generate
    from sync.erp_simulator.store import create_store

    url = f"sqlite:///{directory / f'erp-{uuid.uuid4().hex[:8]}.sqlite'}"
    engine = create_store(url)
    generate(engine, seed=ERP_TEST_SEED, orders=orders, anchor_date=ANCHOR)
    injector = faults or FaultInjector(seed=1)
    with quiet_serve(create_erp_app(url, faults=injector)) as base:
        yield SimulatedErp(base, url, engine, injector)
    engine.dispose()


class _QuietHandler(WSGIRequestHandler):
    """No request log line per call: a thousand pushes would spend their time printing."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@contextmanager
def quiet_serve(app: Flask) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread, without the request log."""
    http = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(5)


@dataclass(frozen=True)
class Orderable:
    """An item a customer may order: released, active, on the customer's price list."""

    item: str
    name: str
    unit: str
    price: Decimal


@dataclass
class Customer:
    account_id: int
    area: str
    account: str
    name: str
    currency: str
    language: str
    price_list: str | None
    country: str
    items: list[Orderable] = field(default_factory=list)


def customer(session: Session, area: str = "USMF", account: str = "US-001") -> Customer:
    """A synced customer account with the items it can order (from the portal's copy of the ERP data)."""
    acc = session.scalars(
        select(CustomerAccount).where(
            CustomerAccount.legal_entity_id == area, CustomerAccount.account_number == account
        )
    ).one()
    rows = session.execute(
        select(Product.item_number, Product.name, PriceListItem.unit_symbol, PriceListItem.price)
        .join(PriceList, PriceListItem.price_list_id == PriceList.id)
        .join(
            Product,
            (Product.legal_entity_id == PriceList.legal_entity_id)
            & (Product.item_number == PriceListItem.item_number),
        )
        .join(
            ProductUnit,
            (ProductUnit.product_id == Product.id) & (ProductUnit.unit_symbol == PriceListItem.unit_symbol),
        )
        .where(
            PriceList.legal_entity_id == area,
            PriceList.code == acc.price_list_code,
            Product.lifecycle_state == "Active",
            PriceListItem.price < 100,  # cheap items: a thousand orders stay within the credit limit
        )
        .order_by(Product.item_number, PriceListItem.unit_symbol)
    ).all()
    return Customer(
        acc.id,
        area,
        account,
        acc.name,
        acc.currency_code or "USD",
        acc.language_id or "en-us",
        acc.price_list_code,
        acc.country_region_id or "USA",
        [Orderable(*row) for row in rows],
    )


def submit_order(
    session: Session,
    cust: Customer,
    lines: list[tuple[Orderable, Decimal]],
    *,
    now: datetime,
    payload_changes: dict[str, object] | None = None,
) -> SalesOrder:
    """A submitted portal order with its lines, "submitted" event and outbox entry (one transaction)."""
    key = str(uuid.uuid4())
    requested = now.date() + timedelta(days=10)
    amounts = [(q * item.price).quantize(CENT, ROUND_HALF_UP) for item, q in lines]
    order = SalesOrder(
        portal_order_id=key,
        sales_order_number=None,
        legal_entity_id=cust.area,
        customer_account_id=cust.account_id,
        ordering_customer_account_number=cust.account,
        invoice_customer_account_number=cust.account,
        sales_order_name=cust.name,
        currency_code=cust.currency,
        language_id=cust.language,
        price_list_code=cust.price_list,
        order_date=now,
        requested_receipt_date=requested,
        delivery_address_description="Headquarters",
        delivery_address_street="1 Main Street",
        delivery_address_city="Chicago",
        delivery_address_zip_code="60601",
        delivery_address_country_region_id=cust.country,
        origin="portal",
        origin_code="Portal",
        sync_state=SyncState.SUBMITTED,
        total_amount=sum(amounts, Decimal(0)),
    )
    session.add(order)
    session.flush()
    for number, ((item, quantity), amount) in enumerate(zip(lines, amounts, strict=True), start=1):
        session.add(
            SalesOrderLine(
                order_id=order.id,
                line_number=number,
                item_number=item.item,
                description=item.name,
                quantity=quantity,
                unit_symbol=item.unit,
                unit_price=item.price,
                line_amount=amount,
                currency_code=cust.currency,
                requested_receipt_date=requested,
                delivery_address_description="Headquarters",
                delivery_address_country_region_id=cust.country,
            )
        )
    session.add(OrderEvent(order_id=order.id, occurred_at=now, kind="submitted", detail="Submitted"))
    session.flush()
    session.refresh(order, ["lines"])
    payload = erp_payload(order)  # the wizard's own payload, so the contract lives in one place
    payload.update(payload_changes or {})
    session.add(
        OutboxEntry(
            entity="sales_order",
            entity_id=order.id,
            operation="create",
            idempotency_key=key,
            state="pending",
            next_attempt_at=now,
            payload=payload,
        )
    )
    session.flush()
    return order


#: A legal entity as the ERP serves it, whole: it applies once its quarantine is retried.
WHOLE_LEGAL_ENTITY = {
    "LegalEntityId": "NLMF",
    "Name": "Contoso Netherlands",
    "CurrencyCode": "EUR",
    "LanguageId": "nl",
    "AddressCountryRegionId": "NLD",
    "ChangeSequence": 42,
}


def quarantined(
    session: Session,
    record: dict,
    *,
    entity_set: str = "LegalEntities",
    record_key: str = "NLMF",
    reason: str = "Malformed: required field Name missing",
) -> QuarantinedRecord:
    """An ERP record the pull put in quarantine (added and flushed: it has its id)."""
    entry = QuarantinedRecord(
        entity_set=entity_set,
        record_key=record_key,
        change_sequence=record.get("ChangeSequence"),
        reason=reason,
        record=record,
        quarantined_at=datetime(2026, 11, 21, 9, 0),
    )
    session.add(entry)
    session.flush()
    return entry


def submit_orders(factory: sessionmaker[Session], cust: Customer, count: int, *, now: datetime) -> list[str]:
    """``count`` small orders of one customer; their portal order ids."""
    keys = []
    with session_scope(factory) as session:
        for index in range(count):
            first = cust.items[index % len(cust.items)]
            second = cust.items[(index * 7 + 3) % len(cust.items)]
            lines = [(first, Decimal(1 + index % 3))]
            if second.item != first.item:
                lines.append((second, Decimal(1)))
            keys.append(str(submit_order(session, cust, lines, now=now).portal_order_id))
    return keys


# --- invariants -------------------------------------------------------------------------------------


def erp_orders_by_key(engine: Engine, keys: list[str]) -> dict[str, list[str]]:
    """PortalOrderId -> the ERP SalesOrderNumbers carrying it (exactly one each when all is well)."""
    found: dict[str, list[str]] = {key: [] for key in keys}
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = conn.execute(
                select(sales_order_headers.c.PortalOrderId, sales_order_headers.c.SalesOrderNumber).where(
                    sales_order_headers.c.PortalOrderId.in_(chunk)
                )
            )
            for key, number in rows:
                found[key].append(number)
    return found


def assert_i1_each_order_once_in_erp(factory: sessionmaker[Session], erp_engine: Engine) -> None:
    """I1: every order acknowledged to a user (accepted) exists in the ERP exactly once, with its number;
    and every order still waiting has no ERP twin either."""
    with factory() as session:
        orders = session.execute(
            select(SalesOrder.portal_order_id, SalesOrder.sales_order_number, SalesOrder.sync_state).where(
                SalesOrder.origin == "portal", SalesOrder.portal_order_id.is_not(None)
            )
        ).all()
    in_erp = erp_orders_by_key(erp_engine, [str(o.portal_order_id) for o in orders])
    for key, number, state in orders:
        if state == SyncState.ACCEPTED:
            assert in_erp[key] == [number], (key, number, in_erp[key])
        else:
            assert len(in_erp[key]) <= 1, (key, in_erp[key])
    with erp_engine.connect() as conn:
        duplicates = conn.execute(
            select(sales_order_headers.c.PortalOrderId)
            .where(sales_order_headers.c.PortalOrderId.is_not(None))
            .group_by(sales_order_headers.c.PortalOrderId)
            .having(func.count() > 1)
        ).all()
    assert duplicates == []


def assert_i3_failures_visible(factory: sessionmaker[Session]) -> None:
    """I3: every failure is visible with a reason: rejected orders carry it (and their event), failed and
    dead outbox entries keep their error; nothing is purged."""
    with factory() as session:
        rejected = session.execute(
            select(SalesOrder.id, SalesOrder.reject_reason).where(SalesOrder.sync_state == SyncState.REJECTED)
        ).all()
        for order_id, reason in rejected:
            assert reason, order_id
            events = session.scalars(
                select(OrderEvent.detail).where(
                    OrderEvent.order_id == order_id, OrderEvent.kind == "rejected"
                )
            ).all()
            assert events == [reason]
        broken = session.scalars(select(OutboxEntry).where(OutboxEntry.state.in_(("failed", "dead")))).all()
        assert all(entry.last_error for entry in broken)


def assert_i2_no_older_erp_values(factory: sessionmaker[Session], erp_engine: Engine) -> None:
    """I2: no ERP-owned field holds an older value than the ERP's: every order and order line the portal
    has with an ERP number carries exactly the ERP's latest change (its ChangeSequence), and the portal has
    no numbered order or line the ERP does not have. (I4 compares the fields themselves.)"""
    h, ln = sales_order_headers.c, sales_order_lines.c
    with factory() as session:
        orders = dict(
            ((area, number), sequence)
            for area, number, sequence in session.execute(
                select(
                    SalesOrder.legal_entity_id, SalesOrder.sales_order_number, SalesOrder.erp_change_sequence
                ).where(SalesOrder.sales_order_number.is_not(None))
            )
        )
        lines = dict(
            ((area, number, line), sequence)
            for area, number, line, sequence in session.execute(
                select(
                    SalesOrder.legal_entity_id,
                    SalesOrder.sales_order_number,
                    SalesOrderLine.line_number,
                    SalesOrderLine.erp_change_sequence,
                )
                .join(SalesOrder, SalesOrderLine.order_id == SalesOrder.id)
                .where(SalesOrder.sales_order_number.is_not(None))
            )
        )
    with erp_engine.connect() as conn:
        erp_orders = {
            (a, n): s for a, n, s in conn.execute(select(h.dataAreaId, h.SalesOrderNumber, h.ChangeSequence))
        }
        erp_lines = {
            (a, n, int(line)): s
            for a, n, line, s in conn.execute(
                select(ln.dataAreaId, ln.SalesOrderNumber, ln.LineNumber, ln.ChangeSequence)
            )
        }
    stale = {k: (v, erp_orders.get(k)) for k, v in orders.items() if v != erp_orders.get(k, "missing")}
    assert not stale, f"orders not at the ERP's latest change (portal, ERP): {sorted(stale.items())[:5]}"
    stale = {k: (v, erp_lines.get(k)) for k, v in lines.items() if v != erp_lines.get(k, "missing")}
    assert not stale, f"lines not at the ERP's latest change (portal, ERP): {sorted(stale.items())[:5]}"


def assert_i4_checksums_equal(factory: sessionmaker[Session], erp: SimulatedErp) -> None:
    """I4: portal and ERP checksums are equal: the reconciliation's comparison (checksums of the ERP-owned
    fields per legal entity, customer and month, each computed by its own side's database over HTTP) finds
    no differing bucket, and every entity set has the same count and content hash on both sides."""
    from sync.reconcile import compare
    from sync.reconcile_client import HttpChecksumClient
    from tests.integration.test_initial_sync import erp_checksums, portal_checksums

    plan = compare(factory, HttpChecksumClient(erp.url, timeout=30))
    assert plan.buckets_checked and plan.differing_buckets == [], plan.differing_buckets[:5]
    portal, in_erp = portal_checksums(factory), erp_checksums(erp.engine)
    assert portal == in_erp, {
        name: (portal[name], in_erp[name]) for name in portal if portal[name] != in_erp[name]
    }


def assert_order_events_once(factory: sessionmaker[Session]) -> None:
    """No duplicated timeline: every order the ERP knows has exactly one first event ("accepted" for a
    portal order, "created_in_erp" for the ERP's own), and no status change is recorded twice."""
    with factory() as session:
        numbered = set(
            session.scalars(select(SalesOrder.id).where(SalesOrder.sales_order_number.is_not(None)))
        )
        firsts = session.execute(
            select(OrderEvent.order_id, SalesOrder.origin, OrderEvent.kind)
            .join(SalesOrder, OrderEvent.order_id == SalesOrder.id)
            .where(OrderEvent.kind.in_(("accepted", "created_in_erp")))
        ).all()
        repeated = session.execute(
            select(
                OrderEvent.order_id,
                OrderEvent.kind,
                OrderEvent.from_status,
                OrderEvent.to_status,
                func.count(),
            )
            .where(OrderEvent.kind == "status_changed")
            .group_by(OrderEvent.order_id, OrderEvent.kind, OrderEvent.from_status, OrderEvent.to_status)
            .having(func.count() > 1)
        ).all()
    kinds: dict[int, list[str]] = {}
    for order_id, origin, kind in firsts:
        expected = "accepted" if origin == OrderOrigin.PORTAL else "created_in_erp"
        assert kind == expected, (order_id, origin, kind)
        kinds.setdefault(order_id, []).append(kind)
    assert set(kinds) == numbered, "an order without its first event, or an event of an order without number"
    assert {k: v for k, v in kinds.items() if len(v) != 1} == {}, "an order with two first events"
    assert repeated == [], f"status changes recorded twice: {repeated[:5]}"


def assert_i5_one_runner_at_a_time(
    factory: sessionmaker[Session], *, takeover: tuple[datetime, datetime] | None = None
) -> None:
    """I5: at most one runner at any moment: recorded runs of one job (the initial sync counts as a pull)
    never overlap; with ``takeover=(died_at, lease_end)``, no run after a runner died started before the
    dead runner's lease ran out."""
    with factory() as session:
        runs = session.execute(
            select(SyncRun.kind, SyncRun.started_at, SyncRun.finished_at).order_by(
                SyncRun.started_at, SyncRun.id
            )
        ).all()
    by_job: dict[str, list[tuple[datetime, datetime]]] = {}
    for kind, started, finished in runs:
        assert finished is not None and finished >= started, (kind, started, finished)
        by_job.setdefault("pull" if kind == "initial" else kind, []).append((started, finished))
    for job, spans in by_job.items():
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"two {job} runs overlap: one ended {end}, the next started {start}"
    if takeover is not None:
        died_at, lease_end = takeover
        early = [(kind, started) for kind, started, _ in runs if died_at <= started < lease_end]
        assert early == [], f"runs started before the dead runner's lease ran out at {lease_end}: {early}"


def runner_lease(factory: sessionmaker[Session]) -> tuple[str | None, datetime | None]:
    """Who holds the runner lease (SyncControl) and until when."""
    with factory() as session:
        row = session.get(SyncControl, "sync")
        return (row.holder, row.lease_expires_at) if row else (None, None)
