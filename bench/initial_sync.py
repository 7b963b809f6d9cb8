"""Time the initial sync: a full pull of N generated orders from the ERP simulator over HTTP.

Usage: ``python bench/initial_sync.py [--orders 100000] [--erp-db PATH] [--portal-db URL] [--keep]``

The simulator runs as its own process (``python -m sync.erp_simulator --tick 0``: no ERP life during the
run) on a generated SQLite store: ``--erp-db PATH`` reuses the store at PATH, or generates it there first
when the file does not exist (generation of 1M orders takes about 2 minutes). The portal store is a
temporary SQLite file unless ``--portal-db`` names another database. Prints the wall time, records/s and
orders/s of the pull, next to the floor measured in the same run: reading every page over HTTP without
applying it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.db import make_engine, make_session_factory, migrate  # noqa: E402
from sync.erp_client import HttpErpClient  # noqa: E402
from sync.erp_simulator.generate import generate  # noqa: E402
from sync.erp_simulator.store import ENTITY_SETS, create_store  # noqa: E402
from sync.pull import ENTITY_SYNCS  # noqa: E402
from sync.worker import initial_sync  # noqa: E402

ANCHOR = date(2026, 11, 20)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def erp_store(path: Path, orders: int) -> tuple[str, dict[str, int]]:
    """The URL of a generated ERP store at ``path`` (generated now if missing) and its row counts."""
    url = f"sqlite:///{path}"
    if not path.exists():
        began = time.perf_counter()
        generate(create_store(url), orders=orders, anchor_date=ANCHOR)
        print(f"generated {orders:,} orders into {path} in {time.perf_counter() - began:.1f} s")
    engine = create_store(url)
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for name, t in ENTITY_SETS.items()
        }
    engine.dispose()
    return url, counts


@contextmanager
def served_erp(erp_url: str) -> Iterator[str]:
    """The simulator on its own process and a free port, without lifecycle ticks."""
    port = _free_port()
    erp = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sync.erp_simulator", "--db", erp_url, "--port", str(port), "--tick", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base
    finally:
        erp.terminate()
        erp.wait(10)


def http_floor(base: str) -> tuple[float, int]:
    """Seconds to read every page of every entity set over HTTP without applying it, and the records."""
    client = HttpErpClient(base)
    began = time.perf_counter()
    fetched = sum(len(page) for spec in ENTITY_SYNCS for page in client.iter_pages(spec.entity_set))
    return time.perf_counter() - began, fetched


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--erp-db", default="", help="reuse (or generate once) the ERP store at this path")
    parser.add_argument("--portal-db", default="")
    parser.add_argument("--no-floor", action="store_true", help="skip the HTTP-only floor")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    erp_path = Path(args.erp_db) if args.erp_db else workdir / "erp.sqlite"
    erp_url, counts = erp_store(erp_path, args.orders)
    records = sum(counts.values())
    orders = counts["SalesOrderHeadersV2"]
    print(f"ERP store: {orders:,} orders, {counts['SalesOrderLines']:,} lines, {records:,} records")
    print(f"load before the run: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")

    with served_erp(erp_url) as base:
        floor = 0.0
        if not args.no_floor:
            floor, fetched = http_floor(base)
            assert fetched == records, (fetched, records)
            print(
                f"HTTP read of every page (floor): {floor:.1f} s, {records / floor:,.0f} records/s",
                flush=True,
            )

        engine = make_engine(args.portal_db or f"sqlite:///{workdir / 'portal.sqlite'}")
        migrate(engine)
        began, cpu = time.perf_counter(), time.process_time()
        summary = initial_sync(make_session_factory(engine), HttpErpClient(base))
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert summary.total == records, (summary.total, records)
        engine.dispose()

    ratio = f", {took / floor:.2f}x the floor" if floor else ""
    print(
        f"initial sync (read + apply):     {took:.1f} s, {records / took:,.0f} records/s, "
        f"{orders / took:,.0f} orders/s{ratio}; {cpu:.1f} s CPU in the portal process"
    )
    print(f"load after the run: {os.getloadavg()[0]:.2f} (1 min)")
    if not args.keep:
        for path in sorted(workdir.glob("*"), reverse=True):
            path.unlink()
        workdir.rmdir()
    else:
        print(f"kept {workdir}")


if __name__ == "__main__":
    main()
