"""One runner at a time (QUALITY R6, I5): the lock that decides which worker runs the sync jobs, and the
runner that gates every job on that lock and on the shared pause state.

Every process may start a scheduler (`python app.py`, `python -m sync.worker`, several of them); each
job tick first asks the lock. PostgreSQL: a session-level advisory lock held on a connection of its own
for as long as the runner lives; when the process dies its connection closes, the lock is free, and the
next tick of another worker takes it. SQLite (one machine): a lease row renewed on every tick; when the
holder stops renewing, another worker takes it over once it expires.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from data.models import SyncRun
from data.sync_control import (
    auto_pause_if_needed,
    note_holder,
    pause_state,
    release_lease,
    take_reconcile_request,
    try_lease,
)
from sync.erp_client import ErpUnavailable

log = logging.getLogger(__name__)

#: Any constant; the same in every process of a deployment (the migration lock uses another one).
RUNNER_LOCK_ID = 724_1006
DEFAULT_LEASE = timedelta(seconds=30)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RunnerLock(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Take or keep the lock; True while this worker is the runner."""
        ...

    def release(self) -> None: ...

    def keep_alive(self) -> contextlib.AbstractContextManager[None]:
        """Hold the lock for the length of a job, however long it runs."""
        ...


class LeaseLock:
    """A lease row (holder, expires_at) renewed on every acquire; taken over once expired."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        holder: str | None = None,
        ttl: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory, self.ttl, self.clock = factory, ttl, clock
        self.holder = holder or new_holder_id()

    def acquire(self) -> bool:
        with self.factory() as session, session.begin():
            return try_lease(session, self.holder, self.clock(), self.ttl)

    def release(self) -> None:
        with self.factory() as session, session.begin():
            release_lease(session, self.holder)

    @contextlib.contextmanager
    def keep_alive(self) -> Iterator[None]:
        """Renew the lease every third of its length while a job runs (a long pull or the initial sync
        outlasts the lease; without renewal another worker would take over while this one still runs)."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.ttl.total_seconds() / 3):
                try:
                    if not self.acquire():
                        log.error("%s lost the runner lease while a job was running", self.holder)
                except Exception:
                    log.exception("renewing the runner lease failed")

        thread = threading.Thread(target=renew, name="runner-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


class AdvisoryLock:
    """PostgreSQL's session-level advisory lock on a dedicated autocommit connection."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        *,
        holder: str | None = None,
        key: int = RUNNER_LOCK_ID,
        ttl: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine, self.factory, self.key, self.ttl, self.clock = engine, factory, key, ttl, clock
        self.holder = holder or new_holder_id()
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                except Exception:  # the connection (and with it the lock) is gone
                    log.warning("runner lock connection lost; trying to take the lock again")
                    self._drop()
            if self._conn is None:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
                if not got:
                    conn.close()
                    return False
                self._conn = conn
                log.info("this worker (%s) now runs the sync jobs", self.holder)
        with self.factory() as session, session.begin():
            note_holder(session, self.holder, self.clock(), self.ttl)
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:  # noqa: S110 - already broken
                pass
            self._conn = None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                    self._conn.close()
                finally:
                    self._conn = None
        with self.factory() as session, session.begin():
            release_lease(session, self.holder)

    def keep_alive(self) -> contextlib.AbstractContextManager[None]:
        """The advisory lock lasts as long as its connection: nothing to renew."""
        return contextlib.nullcontext()


def runner_lock(
    factory: sessionmaker[Session], *, lease: timedelta = DEFAULT_LEASE, holder: str | None = None
) -> RunnerLock:
    """The advisory lock on PostgreSQL, the lease row elsewhere."""
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, factory, ttl=lease, holder=holder)
    return LeaseLock(factory, ttl=lease, holder=holder)


class SyncRunner:
    """Runs a named job only while this worker holds the lock and the sync is not paused.

    Jobs that record their own runs (pull, reconcile) are left to do so; for the others (push) a job
    returning ``(records, errors)`` is recorded when it did something, and a failure is recorded as an
    error. After every job the automatic pause rule is checked.
    """

    SELF_RECORDING = frozenset({"pull", "reconcile"})

    def __init__(
        self,
        factory: sessionmaker[Session],
        lock: RunnerLock,
        jobs: dict[str, Callable[[], Any]],
        *,
        error_threshold: int = 10,
        error_window: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory, self.lock, self.jobs, self.clock = factory, lock, jobs, clock
        self.error_threshold, self.error_window = error_threshold, error_window
        self.on_reconcile_request: Callable[[], None] | None = None

    def run(self, name: str) -> bool:
        """One tick of job `name`; False when it did not run (not the runner, or paused)."""
        if not self.lock.acquire():
            return False
        with self.factory() as session, session.begin():
            paused = pause_state(session).paused
            requested = not paused and take_reconcile_request(session)
        if requested:
            if self.on_reconcile_request is not None and name != "reconcile":
                self.on_reconcile_request()
            elif name != "reconcile":
                self.run("reconcile")
        if paused:
            return False
        started = self.clock()
        try:
            with self.lock.keep_alive():
                result = self.jobs[name]()
        except ErpUnavailable as exc:
            log.info("%s: the ERP is unreachable (%s); it runs again at the next interval", name, exc)
            if name not in self.SELF_RECORDING:
                self._record(name, started, "failed", 0, 0, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            log.exception("%s failed; it runs again at the next interval", name)
            if name not in self.SELF_RECORDING:
                self._record(name, started, "failed", 0, 1, f"{type(exc).__name__}: {exc}")
        else:
            if name not in self.SELF_RECORDING and isinstance(result, tuple):
                records, errors = result
                if records or errors:
                    self._record(name, started, "ok" if not errors else "failed", records, errors, None)
        self.check_errors()
        return True

    def check_errors(self) -> bool:
        """Pause automatically once the error threshold is reached (True when this call paused)."""
        with self.factory() as session, session.begin():
            paused = auto_pause_if_needed(
                session, now=self.clock(), threshold=self.error_threshold, window=self.error_window
            )
        if paused:
            log.warning(
                "sync paused automatically: %d errors within %s", self.error_threshold, self.error_window
            )
        return paused

    def _record(
        self, kind: str, started: datetime, status: str, records: int, errors: int, detail: str | None
    ) -> None:
        with self.factory() as session, session.begin():
            session.add(
                SyncRun(
                    kind=kind,
                    started_at=started,
                    finished_at=self.clock(),
                    status=status,
                    records_read=records,
                    records_applied=records,
                    errors=errors,
                    detail=detail,
                )
            )
