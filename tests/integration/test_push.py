"""Push (portal -> ERP) over the simulator's real HTTP API: acceptance, idempotent retries, rejects, the
dead-letter state with administrator retry and discard, and order per record. Portal store on SQLite and
PostgreSQL; simulated time where backoff matters."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from data.access import Principal
from data.db import session_scope
from data.models import OrderEvent, OutboxEntry, SalesOrder, SyncState, WebRole
from data.outbox import OutboxError, discard_entry, outbox_problems, retry_entry
from sync.erp_client import ErpClient, HttpErpClient, Record
from sync.erp_simulator.faults import FaultInjector
from sync.pull import pull_all
from sync.push import DEFAULT_POLICY, PushPolicy, push_due
from tests.sync_factories import (
    Customer,
    FakeClock,
    SimulatedErp,
    assert_i1_each_order_once_in_erp,
    assert_i3_failures_visible,
    customer,
    erp_orders_by_key,
    simulated_erp,
    submit_order,
    submit_orders,
)

ADMIN = Principal(contact_id=1, email="admin@example.com", roles=frozenset({WebRole.ADMINISTRATOR}))
USER = Principal(contact_id=2, email="user@example.com", roles=frozenset({WebRole.AUTHORIZED_USER}))


@dataclass
class Env:
    sessions: sessionmaker[Session]
    erp: SimulatedErp
    client: HttpErpClient
    clock: FakeClock
    customer: Customer


@pytest.fixture
def env(portal_sessions, tmp_path) -> Iterator[Env]:
    """A portal store filled by the initial pull from a served simulator that runs on the test's clock."""
    clock = FakeClock()
    with simulated_erp(tmp_path, faults=FaultInjector(seed=3, clock=clock)) as erp:
        client = HttpErpClient(erp.url, timeout=5)
        pull_all(portal_sessions, client, kind="initial")
        with portal_sessions() as session:
            cust = customer(session)
        yield Env(portal_sessions, erp, client, clock, cust)


class CountingClient:
    """The real client, counting the writes that reach it (to prove there is no retry loop)."""

    def __init__(self, inner: HttpErpClient) -> None:
        self.inner = inner
        self.posts = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def post_sales_order(self, payload: Record, idempotency_key: str) -> Record:
        self.posts += 1
        return self.inner.post_sales_order(payload, idempotency_key)


def drain(
    env: Env,
    client: ErpClient,
    *,
    policy: PushPolicy = DEFAULT_POLICY,
    step: float = 30,
    rounds: int = 200,
    workers: int = 1,
):
    """Push until nothing is pending, moving the simulated clock on between runs; the number of runs.

    One worker keeps the order of requests, and so the seeded faults each request meets, the same in
    every run; the 1,000-order test uses two (its assertions hold for any interleaving).
    """
    rng = random.Random(17)
    for run in range(1, rounds + 1):
        push_due(env.sessions, client, now=env.clock(), limit=1000, policy=policy, rng=rng, workers=workers)
        with env.sessions() as session:
            pending = session.scalar(select(func.count()).where(OutboxEntry.state == "pending"))
        if not pending:
            return run
        env.clock.advance(seconds=step)
    raise AssertionError("the outbox did not drain")


def _order(env: Env, portal_id: str) -> SalesOrder:
    with env.sessions() as session:
        return session.scalars(select(SalesOrder).where(SalesOrder.portal_order_id == portal_id)).one()


def _events(env: Env, order_id: int, kind: str) -> list[str | None]:
    with env.sessions() as session:
        return list(
            session.scalars(
                select(OrderEvent.detail).where(OrderEvent.order_id == order_id, OrderEvent.kind == kind)
            )
        )


def test_push_accepts_orders_once_and_the_pull_agrees(env):
    keys = submit_orders(env.sessions, env.customer, 3, now=env.clock())

    summary = push_due(env.sessions, env.client, now=env.clock())

    assert (summary.accepted, summary.attempted) == (3, 3)
    numbers = erp_orders_by_key(env.erp.engine, keys)
    for key in keys:
        order = _order(env, key)
        assert (order.sync_state, [order.sales_order_number]) == (SyncState.ACCEPTED, numbers[key])
        assert _events(env, order.id, "accepted") == [f"Accepted by the ERP as {order.sales_order_number}"]
    # the pull brings the same orders back: matched by PortalOrderId, no second row, no second event
    pull_all(env.sessions, env.client)
    with env.sessions() as session:
        rows = session.scalar(select(func.count()).where(SalesOrder.portal_order_id.in_(keys)))
        accepted = session.scalar(
            select(func.count()).where(
                OrderEvent.kind == "accepted",
                OrderEvent.order_id.in_(select(SalesOrder.id).where(SalesOrder.portal_order_id.in_(keys))),
            )
        )
        entries = session.scalars(select(OutboxEntry.state)).all()
    assert (rows, accepted, set(entries)) == (3, 3, {"done"})
    assert push_due(env.sessions, env.client, now=env.clock()).attempted == 0
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert_i3_failures_visible(env.sessions)


def test_answer_lost_then_pull_first_then_retry_makes_no_duplicate(env):
    (key,) = submit_orders(env.sessions, env.customer, 1, now=env.clock())
    env.erp.faults.configure({"lose_answer_rate": 1})

    summary = push_due(env.sessions, env.client, now=env.clock())

    assert (summary.accepted, summary.retrying) == (0, 1)
    assert len(erp_orders_by_key(env.erp.engine, [key])[key]) == 1  # the ERP did take it
    order = _order(env, key)
    assert (order.sync_state, order.sales_order_number) == (SyncState.SUBMITTED, None)

    pull_all(env.sessions, env.client)  # the pull sees the acceptance first
    order = _order(env, key)
    assert order.sync_state == SyncState.ACCEPTED and order.sales_order_number
    env.erp.faults.configure({"lose_answer_rate": 0})
    drain(env, env.client)  # the retry gets 200 with the order the first attempt made

    assert erp_orders_by_key(env.erp.engine, [key])[key] == [order.sales_order_number]
    assert len(_events(env, order.id, "accepted")) == 1
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert_i3_failures_visible(env.sessions)


def test_accepted_but_answer_lost_retry_finds_the_order(env):
    keys = submit_orders(env.sessions, env.customer, 20, now=env.clock())
    env.erp.faults.configure({"lose_answer_rate": 0.5, "seed": 5})

    drain(env, env.client, step=5)

    assert env.erp.faults.answers_lost > 0
    assert all(len(numbers) == 1 for numbers in erp_orders_by_key(env.erp.engine, keys).values())
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)


def test_reject_is_visible_with_its_reason_and_never_retried(env):
    with session_scope(env.sessions) as session:
        item = env.customer.items[0]
        order = submit_order(session, env.customer, [(item, Decimal(1))], now=env.clock())
        order_id, key = order.id, str(order.portal_order_id)
    env.erp.faults.configure({"reject_all": True, "reject_message": "Account blocked for review."})
    client = CountingClient(env.client)

    summary = push_due(env.sessions, client, now=env.clock())
    env.erp.faults.configure({"reset": True})
    for _ in range(5):  # time passes: the scheduler keeps running, the ERP is never asked again
        env.clock.advance(hours=1)
        push_due(env.sessions, client, now=env.clock())

    assert (summary.rejected, client.posts) == (1, 1)
    order = _order(env, key)
    assert (order.sync_state, order.reject_reason) == (SyncState.REJECTED, "Account blocked for review.")
    assert _events(env, order_id, "rejected") == ["Account blocked for review."]
    with env.sessions() as session:
        entry = session.scalars(select(OutboxEntry).where(OutboxEntry.idempotency_key == key)).one()
        problems = outbox_problems(session, ADMIN)
        with pytest.raises(OutboxError):
            retry_entry(session, ADMIN, entry.id)
    assert (entry.state, entry.attempts) == ("failed", 1)
    assert "Account blocked for review." in (entry.last_error or "")
    assert [p["id"] for p in problems] == [entry.id]
    assert erp_orders_by_key(env.erp.engine, [key])[key] == []
    assert_i3_failures_visible(env.sessions)


def test_erp_down_for_ten_minutes_loses_nothing(env):
    keys = submit_orders(env.sessions, env.customer, 25, now=env.clock())
    outage_start = env.clock()
    env.erp.faults.configure({"outage_until": (outage_start + timedelta(minutes=10)).isoformat()})

    while env.clock() < outage_start + timedelta(minutes=10):
        summary = push_due(env.sessions, env.client, now=env.clock(), limit=1000)
        assert summary.accepted == 0 and summary.dead == 0
        env.clock.advance(seconds=10)
    with env.sessions() as session:
        waiting = session.scalars(select(OutboxEntry)).all()
        states = {
            o.sync_state
            for o in session.scalars(select(SalesOrder).where(SalesOrder.portal_order_id.in_(keys)))
        }
    assert {e.state for e in waiting} == {"pending"} and all("503" in (e.last_error or "") for e in waiting)
    assert states == {SyncState.SUBMITTED}  # users see "waiting for the ERP"

    drain(env, env.client, step=10)  # after the outage: backoff is at most 5 minutes

    assert env.clock() - outage_start < timedelta(minutes=16)
    assert all(len(n) == 1 for n in erp_orders_by_key(env.erp.engine, keys).values())
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert_i3_failures_visible(env.sessions)


def test_dead_letter_then_administrator_retry_or_discard(env):
    keys = submit_orders(env.sessions, env.customer, 2, now=env.clock())
    env.erp.faults.configure({"error_rate": 1})
    policy = PushPolicy(max_attempts=3)

    for _ in range(6):
        push_due(env.sessions, env.client, now=env.clock(), policy=policy)
        env.clock.advance(minutes=10)

    with session_scope(env.sessions) as session:
        entries = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
        assert [(e.state, e.attempts) for e in entries] == [("dead", 3), ("dead", 3)]
        assert all(e.last_error and "Gave up after 3 attempts" in e.last_error for e in entries)
        assert {p["state"] for p in outbox_problems(session, ADMIN)} == {"dead"}
        assert outbox_problems(session, USER) == []
        with pytest.raises(LookupError):
            retry_entry(session, USER, entries[0].id)  # not an administrator: "not found"
        retry_entry(session, ADMIN, entries[0].id, now=env.clock())
        discard_entry(session, ADMIN, entries[1].id, now=env.clock())
    env.erp.faults.configure({"error_rate": 0})
    drain(env, env.client, policy=policy)

    retried, discarded = _order(env, keys[0]), _order(env, keys[1])
    assert retried.sync_state == SyncState.ACCEPTED
    assert discarded.sync_state == SyncState.REJECTED and "discarded" in (discarded.reject_reason or "")
    assert erp_orders_by_key(env.erp.engine, keys) == {keys[0]: [retried.sales_order_number], keys[1]: []}
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert_i3_failures_visible(env.sessions)


def test_random_5xx_and_timeouts_over_1000_orders_each_exactly_once(env):
    keys = submit_orders(env.sessions, env.customer, 1000, now=env.clock())
    # 20 % 503 and 10 % answers that come after the client gave up (the ERP still does the work)
    env.erp.faults.configure({"error_rate": 0.2, "timeout_rate": 0.1, "timeout_ms": 50, "seed": 11})
    client = HttpErpClient(env.erp.url, timeout=0.03)

    runs = drain(env, client, policy=PushPolicy(max_attempts=100), step=30, workers=2)

    assert runs > 1
    found = erp_orders_by_key(env.erp.engine, keys)
    assert all(len(numbers) == 1 for numbers in found.values())
    with env.sessions() as session:
        attempts = session.scalar(select(func.sum(OutboxEntry.attempts)))
        states = set(session.scalars(select(OutboxEntry.state)))
        accepted = session.scalar(select(func.count()).where(OrderEvent.kind == "accepted"))
    assert states == {"done"} and attempts is not None and attempts > 1100
    assert accepted == 1000 + _generated_portal_orders(env)
    assert_i1_each_order_once_in_erp(env.sessions, env.erp.engine)
    assert_i3_failures_visible(env.sessions)


def _generated_portal_orders(env: Env) -> int:
    """Portal-origin orders the generator made (the initial pull gave each an "accepted" event)."""
    with env.sessions() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    SalesOrder.origin == "portal",
                    ~SalesOrder.id.in_(
                        select(OutboxEntry.entity_id).where(OutboxEntry.entity == "sales_order")
                    ),
                )
            )
            or 0
        )


def test_contacts_created_and_changed_in_the_portal_reach_the_erp_in_order(env):
    from data.contacts import create_contact, update_contact
    from data.models import Contact
    from sync.erp_simulator.store import contact_persons

    with session_scope(env.sessions) as session:
        contact = create_contact(
            session, ADMIN, email="new.buyer@example.com", first_name="New", last_name="Buyer",
            legal_entity_id="USMF", account_number="US-001",
        )  # fmt: skip
        contact_id = contact.id
    with session_scope(env.sessions) as session:
        update_contact(session, ADMIN, contact_id, last_name="Renamed")
    env.erp.faults.configure({"outage": True})
    env.clock.advance(seconds=5)  # the entries were queued on the real clock

    push_due(env.sessions, env.client, now=env.clock())

    with env.sessions() as session:
        entries = session.scalars(select(OutboxEntry).where(OutboxEntry.entity == "contact")).all()
    assert [(e.operation, e.state, e.attempts) for e in entries] == [
        ("create", "pending", 1),
        ("update", "pending", 0),
    ]
    env.erp.faults.configure({"outage": False})
    drain(env, env.client)

    with env.sessions() as session:
        erp_id = session.get_one(Contact, contact_id).erp_contact_id
    with env.erp.engine.connect() as conn:
        rows = conn.execute(
            select(contact_persons.c.ContactPersonId, contact_persons.c.LastName).where(
                contact_persons.c.PrimaryEmailAddress == "new.buyer@example.com"
            )
        ).all()
    assert erp_id and [tuple(r) for r in rows] == [(erp_id, "Renamed")]
    pull_all(env.sessions, env.client)  # comes back from the ERP as the same contact
    with env.sessions() as session:
        same = session.scalars(select(Contact).where(Contact.email == "new.buyer@example.com")).all()
    assert [(c.id, c.erp_contact_id, c.last_name) for c in same] == [(contact_id, erp_id, "Renamed")]


def test_an_entry_failing_for_more_than_a_day_goes_dead_and_a_retry_starts_over(env):
    submit_orders(env.sessions, env.customer, 1, now=env.clock())
    with session_scope(env.sessions) as session:
        entry = session.scalars(select(OutboxEntry)).one()
        entry.created_at = env.clock() - timedelta(days=2)
        entry_id = entry.id
    env.erp.faults.configure({"error_rate": 1})

    assert push_due(env.sessions, env.client, now=env.clock()).dead == 1
    with session_scope(env.sessions) as session:
        retry_entry(session, ADMIN, entry_id, now=env.clock())
    summary = push_due(env.sessions, env.client, now=env.clock())

    assert (summary.dead, summary.retrying) == (0, 1)  # the day counts again from the retry
    assert_i3_failures_visible(env.sessions)
