"""One sync runner at a time (QUALITY R6, I5), on SQLite (lease row) and PostgreSQL (advisory lock); a
runner that dies is taken over; pause and resume hold for every worker; dual-write's automatic pause after
10 errors in 15 minutes, on a fake clock; the scheduler's jobs as configured."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from data.access import Principal
from data.db import make_engine, make_session_factory
from data.models import SyncControl, SyncRun, WebRole
from data.sync_control import AUTOMATIC, MANUAL, pause, pause_state, request_reconcile, resume
from sync.erp_client import ErpUnavailable, HttpErpClient
from sync.runner import SyncRunner, runner_lock

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 21, 9, 0, 0)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _factory(portal_db):
    """A separate engine (own connections) on the same database, as another worker process would have."""
    engine = make_engine(portal_db.url.render_as_string(hide_password=False))
    return make_session_factory(engine)


def test_two_workers_one_runner(portal_db):
    """Two workers tick the same job at once; only one ever runs it, never overlapping."""
    runs: list[tuple[str, float, float]] = []
    guard = threading.Lock()

    def job(name: str):
        def run() -> None:
            start = time.perf_counter()
            time.sleep(0.005)
            with guard:
                runs.append((name, start, time.perf_counter()))

        return run

    workers = []
    for name in ("A", "B"):
        factory = _factory(portal_db)
        workers.append(SyncRunner(factory, runner_lock(factory, holder=name), {"reconcile": job(name)}))
    barrier = threading.Barrier(2)

    def tick(runner: SyncRunner) -> None:
        barrier.wait()
        for _ in range(25):
            runner.run("reconcile")

    threads = [threading.Thread(target=tick, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len({name for name, _, _ in runs}) == 1, "both workers ran the job"
    assert len(runs) == 25
    ordered = sorted(runs, key=lambda r: r[1])
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(ordered))  # I5: never two at once
    for w in workers:
        w.lock.release()
        w.factory.kw["bind"].dispose()


HOLDER_SCRIPT = """
import sys, time
from datetime import timedelta
from data.db import make_engine, make_session_factory
from sync.runner import runner_lock
factory = make_session_factory(make_engine(sys.argv[1]))
lock = runner_lock(factory, lease=timedelta(seconds=1), holder="doomed")
assert lock.acquire()
print("holding", flush=True)
time.sleep(120)
"""


def test_a_dead_runner_is_taken_over(portal_db):
    """The runner process is killed (-9): PostgreSQL frees its lock with its connection; on SQLite its
    lease expires. The other worker then takes over."""
    url = portal_db.url.render_as_string(hide_password=False)
    script = [sys.executable, "-c", textwrap.dedent(HOLDER_SCRIPT), url]
    factory = _factory(portal_db)
    with subprocess.Popen(script, cwd=ROOT, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "holding"
            other = runner_lock(factory, lease=timedelta(seconds=1), holder="survivor")
            assert not other.acquire()
        finally:
            holder.kill()
    deadline = time.monotonic() + 10
    while not other.acquire():
        assert time.monotonic() < deadline, "the lock was never taken over"
        time.sleep(0.2)
    with factory() as session:
        assert session.get(SyncControl, "sync").holder == "survivor"
    other.release()
    factory.kw["bind"].dispose()


def test_lease_expiry_on_a_fake_clock(portal_sessions):
    if portal_sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the lease row decides only on SQLite; PostgreSQL uses the advisory lock")
    from sync.runner import LeaseLock

    clock = FakeClock()
    a = LeaseLock(portal_sessions, holder="A", ttl=timedelta(seconds=30), clock=clock)
    b = LeaseLock(portal_sessions, holder="B", ttl=timedelta(seconds=30), clock=clock)
    assert a.acquire() and not b.acquire()
    clock.advance(seconds=20)
    assert a.acquire()  # renewed: expires 30 s from now
    clock.advance(seconds=29)
    assert not b.acquire()
    clock.advance(seconds=2)  # A stopped renewing
    assert b.acquire() and not a.acquire()


def _runner(factory, clock, jobs, **kwargs) -> SyncRunner:
    from sync.runner import LeaseLock

    return SyncRunner(factory, LeaseLock(factory, holder="me", clock=clock), jobs, clock=clock, **kwargs)


def test_pause_and_resume_hold_for_every_job(portal_sessions):
    clock = FakeClock()
    calls: list[str] = []
    runner = _runner(portal_sessions, clock, {n: (lambda n=n: calls.append(n)) for n in ("push", "pull")})
    assert runner.run("push")
    with portal_sessions.begin() as session:
        assert pause(session, by=MANUAL, reason="Paused by an administrator.", now=clock())
    assert not runner.run("push") and not runner.run("pull")
    with portal_sessions.begin() as session:
        state = pause_state(session)
        assert (state.paused, state.paused_by, state.paused_at) == (True, MANUAL, T0)
        assert resume(session, now=clock())
    assert runner.run("pull")
    assert calls == ["push", "pull"]


def test_auto_pause_after_10_errors_in_15_minutes(portal_sessions):
    clock = FakeClock()
    calls = []

    def failing() -> None:
        calls.append(clock())
        raise RuntimeError("ERP answered nonsense")

    def unreachable() -> None:
        raise ErpUnavailable("connection refused")

    runner = _runner(portal_sessions, clock, {"push": failing, "down": unreachable})
    for _ in range(3):  # errors older than the window do not count
        runner.run("push")
        clock.advance(minutes=1)
    clock.advance(minutes=15)
    for _ in range(9):
        runner.run("push")
        clock.advance(minutes=1)
    for _ in range(20):  # an unreachable ERP is not an error that pauses (work just waits, R1)
        runner.run("down")
    with portal_sessions() as session:
        assert not pause_state(session).paused
    runner.run("push")  # the 10th error within 15 minutes
    with portal_sessions() as session:
        state = pause_state(session)
    assert state.paused and state.paused_by == AUTOMATIC
    assert "10 sync errors in the last 15 minutes" in state.reason
    before = len(calls)
    assert not runner.run("push") and len(calls) == before  # paused: the job is not called
    with portal_sessions.begin() as session:
        resume(session, now=clock())
    runner.run("push")  # one new error after the resume: the earlier ones no longer count
    with portal_sessions() as session:
        assert not pause_state(session).paused
        errors = session.scalars(select(SyncRun.errors).where(SyncRun.kind == "push")).all()
    assert sum(errors) == 3 + 9 + 1 + 1


def test_reconcile_now_is_taken_once_by_the_runner(portal_sessions):
    clock = FakeClock()
    calls: list[str] = []
    runner = _runner(
        portal_sessions, clock, {n: (lambda n=n: calls.append(n)) for n in ("push", "reconcile")}
    )
    admin = Principal(contact_id=1, email="admin@example.com", roles=frozenset({WebRole.ADMINISTRATOR}))
    with portal_sessions.begin() as session:
        request_reconcile(session, admin, now=clock())
    runner.run("push")
    runner.run("push")
    assert calls == ["reconcile", "push", "push"]


def test_scheduler_jobs(tmp_path, portal_sessions):
    from app import Settings
    from sync.worker import start_scheduler, stop_scheduler

    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "SYNC_PUSH_SECONDS": "3600",
            "SYNC_PULL_SECONDS": "7200",
            "SCHEDULER": "on",
        }
    )
    scheduler = start_scheduler(portal_sessions, "http://127.0.0.1:9", settings)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"push", "pull", "reconcile"}
        assert {j: jobs[j].trigger.interval.total_seconds() for j in jobs} == {
            "push": 3600,
            "pull": 7200,
            "reconcile": 900,
        }
        assert all(j.coalesce and j.max_instances == 1 for j in jobs.values())
    finally:
        stop_scheduler(scheduler)


def test_the_pull_job_carries_out_quarantine_retries_first(tmp_path, portal_sessions):
    """An administrator's retry is done by the scheduled pull, even while the ERP cannot be reached."""
    from app import Settings
    from data.models import LegalEntity, QuarantinedRecord
    from data.quarantine import request_retry
    from sync.worker import start_scheduler, stop_scheduler
    from tests.sync_factories import WHOLE_LEGAL_ENTITY, quarantined

    admin = Principal(contact_id=1, roles=frozenset({WebRole.ADMINISTRATOR}))
    with portal_sessions.begin() as session:
        entry = quarantined(session, WHOLE_LEGAL_ENTITY, reason="refers to a quarantined record")
        request_retry(session, admin, entry.id)
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "SCHEDULER": "on", "SYNC_PULL_SECONDS": "7200"})
    scheduler = start_scheduler(portal_sessions, "http://127.0.0.1:9", settings)
    try:
        with pytest.raises(ErpUnavailable):
            scheduler.runner.jobs["pull"]()
    finally:
        stop_scheduler(scheduler)
    with portal_sessions() as session:
        assert session.get(LegalEntity, "NLMF").name == "Contoso Netherlands"
        assert session.get(QuarantinedRecord, entry.id).resolution == "Applied on retry."


def test_a_long_job_keeps_its_lease(portal_sessions):
    """A job that outlasts the lease (a long pull, the initial sync) renews it while it runs: no other
    worker takes over in the middle; once it is done and the lease expires, another one may."""
    if portal_sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the lease row decides only on SQLite; PostgreSQL's advisory lock needs no renewal")
    from sync.runner import LeaseLock

    runner = LeaseLock(portal_sessions, holder="long job", ttl=timedelta(seconds=0.6))
    other = LeaseLock(portal_sessions, holder="other", ttl=timedelta(seconds=0.6))
    assert runner.acquire()
    with runner.keep_alive():
        deadline = time.monotonic() + 2.0  # more than three lease lengths
        while time.monotonic() < deadline:
            assert not other.acquire(), "another worker took over while the job ran"
            time.sleep(0.1)
    time.sleep(0.7)
    assert other.acquire()


def test_the_initial_sync_runs_only_on_the_runner(tmp_path, portal_db, caplog):
    """Of two workers starting on an empty store, only the one holding the runner lock pulls (I5); it
    releases the lock when done, so the scheduler can take it at once."""
    from app import Settings
    from sync.worker import prepare_store

    caplog.set_level("INFO", logger="sync.worker")
    factory = _factory(portal_db)
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "DEMO": "off"})
    unreachable = HttpErpClient("http://127.0.0.1:9", retries=0)
    holder = runner_lock(factory, lease=timedelta(seconds=30), holder="the other worker")
    assert holder.acquire()
    try:
        prepare_store(factory, unreachable, settings)
        assert "another worker runs the sync" in caplog.text
        with factory() as session:
            assert session.scalars(select(SyncRun)).all() == []  # it did not try to pull
    finally:
        holder.release()
    prepare_store(factory, unreachable, settings)  # now it is the runner: it tries (the ERP is down)
    with factory() as session:
        assert session.scalars(select(SyncRun.kind)).all() == ["initial"]
        assert session.get(SyncControl, "sync").holder is None  # and let the lock go again
    factory.kw["bind"].dispose()
