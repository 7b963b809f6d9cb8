"""QUALITY R5: the sync worker killed with SIGKILL before a push, after the ERP's answer but before the local
commit, and in the middle of a pull; a restarted worker converges, and I1-I5 hold afterwards.

Each test runs the real worker (``python -m sync.worker``, through the test-only launcher
tests/crash_worker.py, which makes the process kill itself at one chosen point of sync/push.py or
sync/pull.py) against a simulated ERP served over HTTP and a portal store on SQLite and PostgreSQL. The
kill is checked (exit status -9, the launcher's line naming the point), and so is the state it leaves,
before a second worker process is started on the same store and ERP.

The restarted worker is started "on standby" while the first one still runs (imported, not yet touching
the store or the ERP) and let go once the first is dead, so the test does not wait for a second start-up.
Leases that a dead worker leaves behind are explicit: the runner lease (SQLite; 3 s here, the restarted
worker waits for it to run out, and I5 checks that it did) and the outbox claim (two minutes,
PushPolicy.claim_lease): the restarted worker's push clock runs three minutes ahead, as if it had been
started that much later.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from data.db import session_scope
from data.models import (
    OrderEvent,
    OutboxEntry,
    QuarantinedRecord,
    SalesOrder,
    SalesOrderLine,
    SyncCursor,
    SyncState,
)
from sync.erp_client import HttpErpClient
from sync.erp_simulator.faults import FaultInjector
from sync.erp_simulator.lifecycle import LifecycleOptions, advance
from sync.erp_simulator.store import ENTITY_SETS, sales_order_lines
from sync.pull import PAGE_SIZE, pull_all
from tests.crash_worker import MARKER
from tests.sync_factories import (
    ANCHOR,
    SimulatedErp,
    assert_i1_each_order_once_in_erp,
    assert_i2_no_older_erp_values,
    assert_i3_failures_visible,
    assert_i4_checksums_equal,
    assert_i5_one_runner_at_a_time,
    assert_order_events_once,
    customer,
    erp_orders_by_key,
    quiet_serve,
    runner_lease,
    simulated_erp,
    submit_order,
    submit_orders,
)

ROOT = Path(__file__).resolve().parents[2]
RUNNER_LEASE_SECONDS = 3  # the restart is ready at once after the kill: it has to wait for the lease
CLAIM_LEASE_PASSED = 180  # seconds the restarted worker's push clock runs ahead (claim lease: 120 s)
WAIT_SECONDS = 45  # an upper bound only; each step takes a few seconds
ERP_NOW = datetime(2026, 11, 21, 10, 0)  # the simulated ERP's clock for its own changes (seeded, repeatable)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- the worker processes -----------------------------------------------------------------------------


@dataclass
class Workers:
    """Starts worker processes on one portal store and one ERP; each with its own log file."""

    database_url: str
    erp_url: str
    directory: Path
    started: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(
        self,
        *,
        crash_at: str = "",
        clock_offset: float = 0,
        pull_seconds: float = 3600,
        standby: bool = False,
    ) -> int:
        """A worker process; with ``standby`` it imports everything, then waits for :meth:`go`."""
        log = self.directory / f"worker-{len(self.started)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "ERP_URL": self.erp_url,
            "DATA_DIR": str(self.directory / "data"),
            "DEMO": "off",
            "SYNC_PUSH_SECONDS": "0.2",
            "SYNC_PULL_SECONDS": str(pull_seconds),
            "SYNC_RECONCILE_SECONDS": "3600",
            "SYNC_LEASE_SECONDS": str(RUNNER_LEASE_SECONDS),
            "CRASH_AT": crash_at,
            "CRASH_CLOCK_OFFSET_SECONDS": str(clock_offset),
            "CRASH_STANDBY": "1" if standby else "",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.crash_worker"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE if standby else subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        self.started.append((process, log))
        return len(self.started) - 1

    def go(self, index: int) -> None:
        stdin = self.started[index][0].stdin
        assert stdin is not None
        stdin.write(b"go\n")
        stdin.close()

    def log(self, index: int) -> str:
        return self.started[index][1].read_text(errors="replace")

    def wait_killed(self, index: int, point: str) -> datetime:
        """The worker died by SIGKILL at ``point`` (not by an error, not somewhere else)."""
        process = self.started[index][0]
        try:
            process.wait(WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the worker never reached {point}:\n{self.log(index)}") from None
        assert process.returncode == -signal.SIGKILL, self.log(index)
        assert f"{MARKER} {point}" in self.log(index)
        return _utcnow()

    def run_until(self, index: int, done: Callable[[], bool], what: str) -> None:
        """Let the worker run until ``done()``; then stop it the way a deployment does (SIGTERM)."""
        process = self.started[index][0]
        deadline = time.monotonic() + WAIT_SECONDS
        while not done():
            assert process.poll() is None, f"the worker exited with {process.returncode}:\n{self.log(index)}"
            assert time.monotonic() < deadline, f"no convergence ({what}):\n{self.log(index)}"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, self.log(index)
        assert MARKER not in self.log(index)

    def kill_all(self) -> None:
        for process, _log in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            if process.stdin:
                process.stdin.close()


@contextmanager
def workers(portal_db: Engine, erp_url: str, directory: Path) -> Iterator[Workers]:
    pool = Workers(portal_db.url.render_as_string(hide_password=False), erp_url, directory)
    try:
        yield pool
    finally:
        pool.kill_all()


# --- the ERP, and what the tests read from both sides ---------------------------------------------------


class RecordedOrderPosts:
    """WSGI middleware: the ERP's answer (status) to every order POST, with its idempotency key."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.posts: list[tuple[str | None, int]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/data/SalesOrderHeadersV2":
            return self.app(environ, start_response)
        key = environ.get("HTTP_IDEMPOTENCY_KEY")

        def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.posts.append((key, int(status.split()[0])))
            return start_response(status, headers, exc_info)

        return self.app(environ, recording)


@contextmanager
def recorded_erp(directory: Path) -> Iterator[tuple[SimulatedErp, RecordedOrderPosts]]:
    """The simulator with generated data (as sync_factories.simulated_erp), its order POSTs recorded."""
    from sync.erp_simulator import create_erp_app
    from sync.erp_simulator.generate import generate
    from sync.erp_simulator.store import create_store
    from tests.conftest import ERP_TEST_SEED

    url = f"sqlite:///{directory / f'erp-{uuid.uuid4().hex[:8]}.sqlite'}"
    engine = create_store(url)
    generate(engine, seed=ERP_TEST_SEED, orders=80, anchor_date=ANCHOR)
    injector = FaultInjector(seed=1)
    recorder = RecordedOrderPosts(create_erp_app(url, faults=injector))
    with quiet_serve(recorder) as base:  # type: ignore[arg-type]  # any WSGI app serves
        yield SimulatedErp(base, url, engine, injector), recorder
    engine.dispose()


def erp_last_sequences(erp_engine: Engine) -> dict[str, int]:
    with erp_engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.max(table.c.ChangeSequence))) or 0)
            for name, table in ENTITY_SETS.items()
        }


def cursors(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            k: int(v) for k, v in session.execute(select(SyncCursor.entity_set, SyncCursor.last_sequence))
        }


def caught_up(factory: sessionmaker[Session], erp_engine: Engine) -> bool:
    """Every cursor stands at the ERP's last change of its entity set."""
    return cursors(factory) == erp_last_sequences(erp_engine)


def outbox(factory: sessionmaker[Session]) -> list[OutboxEntry]:
    with factory() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def events(factory: sessionmaker[Session], order_id: int, kind: str) -> list[str | None]:
    with factory() as session:
        return list(
            session.scalars(
                select(OrderEvent.detail).where(OrderEvent.order_id == order_id, OrderEvent.kind == kind)
            )
        )


def orders_by_key(factory: sessionmaker[Session], keys: list[str]) -> dict[str, SalesOrder]:
    with factory() as session:
        rows = session.scalars(select(SalesOrder).where(SalesOrder.portal_order_id.in_(keys)))
        return {str(order.portal_order_id): order for order in rows}


def dead_runner_lease(factory: sessionmaker[Session], died_at: datetime) -> tuple[datetime, datetime] | None:
    """SQLite: (death, end of the killed worker's runner lease), which the restart must wait out.
    PostgreSQL: None; the advisory lock went with the dead process's connection."""
    holder, expires = runner_lease(factory)
    assert holder and expires, "the killed worker was not the runner"
    if factory.kw["bind"].dialect.name != "sqlite":
        return None
    return died_at, expires


@pytest.fixture
def synced_erp(tmp_path, portal_sessions) -> Iterator[SimulatedErp]:
    """A served simulator and a portal store filled from it by the initial pull."""
    with simulated_erp(tmp_path) as erp:
        pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
        yield erp


# --- the tests ----------------------------------------------------------------------------------------


def test_killed_before_the_push_every_order_is_accepted_once(
    portal_db, portal_sessions, synced_erp, tmp_path
):
    """SIGKILL after the due entries were claimed (attempt counted, lease taken), before any was sent."""
    erp = synced_erp
    with portal_sessions() as session:
        cust = customer(session)
    keys = submit_orders(portal_sessions, cust, 5, now=_utcnow())

    with workers(portal_db, erp.url, tmp_path) as pool:
        restarted = pool.start(clock_offset=CLAIM_LEASE_PASSED, pull_seconds=0.5, standby=True)
        died_at = pool.wait_killed(pool.start(crash_at="push.send"), "push.send")

        # Claimed, not sent: nothing in the ERP, every entry held by the dead worker's claim.
        assert erp_orders_by_key(erp.engine, keys) == {key: [] for key in keys}
        entries = outbox(portal_sessions)
        assert [(e.state, e.attempts) for e in entries] == [("pending", 1)] * 5
        assert all(
            e.next_attempt_at and e.next_attempt_at > _utcnow() + timedelta(seconds=60) for e in entries
        )
        assert {o.sync_state for o in orders_by_key(portal_sessions, keys).values()} == {SyncState.SUBMITTED}
        takeover = dead_runner_lease(portal_sessions, died_at)

        pool.go(restarted)
        pool.run_until(
            restarted,
            lambda: (
                all(e.state == "done" for e in outbox(portal_sessions))
                and caught_up(portal_sessions, erp.engine)
            ),
            "outbox drained and pull caught up",
        )

    found = erp_orders_by_key(erp.engine, keys)
    orders = orders_by_key(portal_sessions, keys)
    for key in keys:
        assert len(found[key]) == 1
        assert orders[key].sync_state == SyncState.ACCEPTED
        assert orders[key].sales_order_number == found[key][0]
        assert events(portal_sessions, orders[key].id, "accepted") == [
            f"Accepted by the ERP as {found[key][0]}"
        ]
    assert [(e.state, e.attempts) for e in outbox(portal_sessions)] == [("done", 2)] * 5  # the lost claim + 1
    _assert_invariants(portal_sessions, erp, takeover=takeover)


def test_killed_after_the_erps_answer_the_retry_finds_the_same_order(portal_db, portal_sessions, tmp_path):
    """SIGKILL when the ERP has created the order and answered, before the portal recorded the answer."""
    with recorded_erp(tmp_path) as (erp, recorder):
        pull_all(portal_sessions, HttpErpClient(erp.url), kind="initial")
        with session_scope(portal_sessions) as session:
            cust = customer(session)
            order = submit_order(
                session, cust, [(cust.items[0], Decimal(2)), (cust.items[3], Decimal(1))], now=_utcnow()
            )
            key, order_id = str(order.portal_order_id), order.id

        with workers(portal_db, erp.url, tmp_path) as pool:
            # The restart pushes only (no pull), so it is the retry that must settle the order.
            restarted = pool.start(clock_offset=CLAIM_LEASE_PASSED, standby=True)
            died_at = pool.wait_killed(pool.start(crash_at="push.answer"), "push.answer")

            # The ERP made the order and said so; the portal does not know yet.
            assert recorder.posts == [(key, 201)]
            (number,) = erp_orders_by_key(erp.engine, [key])[key]
            before = orders_by_key(portal_sessions, [key])[key]
            assert (before.sync_state, before.sales_order_number) == (SyncState.SUBMITTED, None)
            assert events(portal_sessions, order_id, "accepted") == []
            (entry,) = outbox(portal_sessions)
            assert (entry.state, entry.attempts) == ("pending", 1)
            takeover = dead_runner_lease(portal_sessions, died_at)

            pool.go(restarted)
            pool.run_until(restarted, lambda: outbox(portal_sessions)[0].state == "done", "entry done")

        # The retry carried the same key and got the order the first attempt made (200, not a new 201).
        assert recorder.posts == [(key, 201), (key, 200)]
        assert erp_orders_by_key(erp.engine, [key]) == {key: [number]}
        after = orders_by_key(portal_sessions, [key])[key]
        assert (after.sync_state, after.sales_order_number) == (SyncState.ACCEPTED, number)
        assert events(portal_sessions, order_id, "accepted") == [f"Accepted by the ERP as {number}"]
        (entry,) = outbox(portal_sessions)
        assert (entry.state, entry.attempts, entry.last_error) == ("done", 2, None)

        pull_all(portal_sessions, HttpErpClient(erp.url))  # the ERP's view of the order comes back
        assert events(portal_sessions, order_id, "accepted") == [f"Accepted by the ERP as {number}"]
        _assert_invariants(portal_sessions, erp, takeover=takeover)


def test_killed_mid_pull_the_restart_converges_to_the_erp(portal_db, portal_sessions, tmp_path):
    """SIGKILL inside the transaction of the second batch of order lines of the first (initial) pull: the
    first batch committed with its cursor, the second applied but not committed. The ERP then moves on."""
    with simulated_erp(tmp_path, orders=600) as erp:
        with erp.engine.connect() as conn:
            line_sequences = sorted(int(s) for s in conn.scalars(select(sales_order_lines.c.ChangeSequence)))
        assert len(line_sequences) > 2 * PAGE_SIZE  # at least three batches of lines

        with workers(portal_db, erp.url, tmp_path) as pool:
            restarted = pool.start(pull_seconds=0.3, standby=True)
            pool.wait_killed(
                pool.start(crash_at="pull.commit:SalesOrderLines:2"), "pull.commit:SalesOrderLines:2"
            )

            # Exactly the first batch of lines is in, with its cursor; the second one left nothing behind.
            expected = erp_last_sequences(erp.engine)
            expected["SalesOrderLines"] = line_sequences[PAGE_SIZE - 1]
            assert cursors(portal_sessions) == expected
            with portal_sessions() as session:
                have = sorted(int(s) for s in session.scalars(select(SalesOrderLine.erp_change_sequence)))
            assert have == line_sequences[:PAGE_SIZE]

            # The ERP lives on meanwhile: orders move, new phone and EDI orders, master data changes.
            options = LifecycleOptions(
                orders_per_tick=20, new_order_probability=1, master_change_probability=1
            )
            rng = random.Random(5)
            for _ in range(10):
                advance(erp.engine, ERP_NOW, rng, options=options)

            pool.go(restarted)
            pool.run_until(restarted, lambda: caught_up(portal_sessions, erp.engine), "pull caught up")

        assert cursors(portal_sessions) == erp_last_sequences(erp.engine)
        with portal_sessions() as session:
            assert session.scalar(select(func.count()).select_from(QuarantinedRecord)) == 0
            assert session.scalar(select(func.count()).where(OrderEvent.kind == "status_changed"))
        _assert_invariants(portal_sessions, erp)


def _assert_invariants(
    factory: sessionmaker[Session], erp: SimulatedErp, *, takeover: tuple[datetime, datetime] | None = None
):
    """I1-I5 of QUALITY.md once the worker is gone and the queues are drained; and no event twice."""
    assert_i1_each_order_once_in_erp(factory, erp.engine)
    assert_i2_no_older_erp_values(factory, erp.engine)
    assert_i3_failures_visible(factory)
    assert_i4_checksums_equal(factory, erp)
    assert_i5_one_runner_at_a_time(factory, takeover=takeover)
    assert_order_events_once(factory)
