"""Sync process pieces: the embedded ERP, first-start preparation, the scheduler, and the worker.

`python -m sync.worker` runs the sync on its own (for deployments with several web workers): it does
the initial sync if the store is empty, seeds demo sign-ins in demo mode, then runs the scheduled jobs.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from data.db import indexes_built_after, session_scope
from data.demo import DemoSignIn, seed_demo
from sync.erp_client import ErpClient, ErpUnavailable, HttpErpClient
from sync.pull import PullSummary, needs_initial_sync, pull_all
from sync.quarantine import retry_requested
from sync.reconcile import reconcile
from sync.reconcile_client import HttpChecksumClient
from sync.runner import SyncRunner, runner_lock

if TYPE_CHECKING:
    from app import Settings

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """The embedded simulator serves the pull every few seconds; its request log would drown the portal's."""

    def log_request(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        pass


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def start_embedded_erp(settings: Settings) -> str:
    """Create (and on first start fill) the simulator's own database and serve it on a thread."""
    from sync.erp_simulator import create_erp_app
    from sync.erp_simulator.generate import generate
    from sync.erp_simulator.store import create_store, is_empty

    engine = create_store(settings.erp_database_url)
    with engine.connect() as conn:
        empty = is_empty(conn)
    if empty:
        started = time.perf_counter()
        counts = generate(engine, orders=settings.demo_orders)
        log.info("ERP simulator: demo data generated in %.1f s: %s", time.perf_counter() - started, counts)
    engine.dispose()
    http = make_server(
        "127.0.0.1",
        settings.erp_port,
        create_erp_app(settings.erp_database_url),
        request_handler=_QuietHandler,
        threaded=True,
    )
    threading.Thread(target=http.serve_forever, name="erp-simulator", daemon=True).start()
    return f"http://127.0.0.1:{http.server_port}"


def prepare_store(factory: sessionmaker[Session], client: ErpClient, settings: Settings) -> list[DemoSignIn]:
    """First start: full pull from the ERP over HTTP; then demo sign-ins in demo mode.

    An unreachable ERP does not stop the portal from starting: the scheduled pull carries on from
    wherever the initial sync got to. The initial sync holds the runner lock like every sync job (I5): of
    several workers starting at once on an empty store, one pulls and the others leave it to that one.
    """
    if needs_initial_sync(factory):
        lock = runner_lock(factory, lease=timedelta(seconds=settings.lease_seconds))
        if not lock.acquire():
            log.info("initial sync: another worker runs the sync and does it")
        else:
            started = time.perf_counter()
            try:
                with lock.keep_alive():
                    summary = initial_sync(factory, client)
                log.info("initial sync: %d records in %.1f s", summary.total, time.perf_counter() - started)
            except ErpUnavailable as exc:
                log.warning(
                    "initial sync incomplete, the ERP is unreachable (%s); the scheduled pull retries", exc
                )
            finally:
                lock.release()
    if not settings.demo:
        return []
    with session_scope(factory) as session:
        return seed_demo(session, settings.demo_password)


def initial_sync(factory: sessionmaker[Session], client: ErpClient) -> PullSummary:
    """The first full pull into an empty store, with the orders grid's indexes built once at the end."""
    with indexes_built_after(factory.kw["bind"]):
        return pull_all(factory, client, kind="initial")


def start_scheduler(factory: sessionmaker[Session], erp_url: str, settings: Settings) -> BackgroundScheduler:
    """One scheduler per process; the runner lock lets only one process in the deployment run the jobs.

    Jobs: push every second (and at once through `push_now`), pull every 2 s, reconcile every 15 minutes
    (and at once when an administrator asks), intervals from Settings. Every job id is explicit and
    replaced on restart; a job never overlaps itself and missed runs are coalesced.
    """
    client = HttpErpClient(erp_url)
    runner = SyncRunner(
        factory,
        runner_lock(factory, lease=timedelta(seconds=settings.lease_seconds)),
        {
            "push": lambda: _push(factory, client),
            "pull": lambda: _pull(factory, client),
            "reconcile": lambda: reconcile(factory, HttpChecksumClient(erp_url)),
        },
        error_threshold=settings.auto_pause_errors,
        error_window=timedelta(seconds=settings.auto_pause_window_seconds),
    )
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    intervals = {
        "push": settings.push_interval_seconds,
        "pull": settings.pull_interval_seconds,
        "reconcile": settings.reconcile_interval_seconds,
    }
    for name, seconds in intervals.items():
        scheduler.add_job(
            runner.run,
            "interval",
            seconds=seconds,
            args=(name,),
            id=name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
    runner.on_reconcile_request = lambda: run_now(scheduler, "reconcile")
    scheduler.start()
    scheduler.runner = runner  # type: ignore[attr-defined]  # for shutdown: release the lock
    return scheduler


def run_now(scheduler: BackgroundScheduler, job_id: str) -> None:
    """Run a job as soon as possible (a no-op when the scheduler has no such job)."""
    with contextlib.suppress(JobLookupError):
        scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))


def stop_scheduler(scheduler: BackgroundScheduler, *, wait: bool = True) -> None:
    scheduler.shutdown(wait=wait)
    runner = getattr(scheduler, "runner", None)
    if runner is not None:
        runner.lock.release()


def _pull(factory: sessionmaker[Session], client: ErpClient) -> object:
    """Quarantined records an administrator asked to retry, then the ERP's new changes."""
    retry_requested(factory)
    return pull_all(factory, client)


def _push(factory: sessionmaker[Session], client: ErpClient) -> tuple[int, int]:
    """Push what is due; (records sent, errors) for the run log (a dead entry is an error)."""
    from sync.push import push_due

    summary = push_due(factory, client)  # type: ignore[arg-type]
    return summary.accepted + summary.rejected, summary.dead


def main() -> None:  # pragma: no cover - a long-running process
    from app import Settings
    from data.db import make_engine, make_session_factory, migrate

    configure_logging()
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    erp_url = settings.erp_url or start_embedded_erp(settings)
    prepare_store(factory, HttpErpClient(erp_url), settings)
    scheduler = start_scheduler(factory, erp_url, settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    stop_scheduler(scheduler)


if __name__ == "__main__":
    main()
