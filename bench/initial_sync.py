"""Time the initial sync: a full pull of N generated orders from the ERP simulator over HTTP.

Usage: ``python bench/initial_sync.py [--orders 100000] [--portal-db URL] [--keep]``

The simulator runs as its own process (``python -m sync.erp_simulator``) on a generated SQLite store;
the portal store is a temporary SQLite file unless ``--portal-db`` names another database. Prints the
wall time, records/s and orders/s of the pull, next to the floor measured in the same run: reading
every page over HTTP without applying it.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.db import make_engine, make_session_factory, migrate  # noqa: E402
from sync.erp_client import HttpErpClient  # noqa: E402
from sync.erp_simulator.generate import generate  # noqa: E402
from sync.erp_simulator.store import create_store  # noqa: E402
from sync.pull import ENTITY_SYNCS, pull_all  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--portal-db", default="")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    erp_url = f"sqlite:///{workdir / 'erp.sqlite'}"
    began = time.perf_counter()
    counts = generate(create_store(erp_url), orders=args.orders, anchor_date=date(2026, 11, 20))
    records = sum(counts.values())
    print(f"generated {args.orders:,} orders, {records:,} records in {time.perf_counter() - began:.1f} s")

    port = _free_port()
    erp = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sync.erp_simulator", "--db", erp_url, "--port", str(port)],
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

        client = HttpErpClient(base)
        began = time.perf_counter()
        fetched = sum(len(page) for spec in ENTITY_SYNCS for page in client.iter_pages(spec.entity_set))
        floor = time.perf_counter() - began
        assert fetched == records, (fetched, records)

        engine = make_engine(args.portal_db or f"sqlite:///{workdir / 'portal.sqlite'}")
        migrate(engine)
        began = time.perf_counter()
        summary = pull_all(make_session_factory(engine), client, kind="initial")
        took = time.perf_counter() - began
        assert summary.total == records, (summary.total, records)
    finally:
        erp.terminate()
        erp.wait(10)

    print(f"HTTP read of every page (floor): {floor:.1f} s, {records / floor:,.0f} records/s")
    print(
        f"initial sync (read + apply):     {took:.1f} s, {records / took:,.0f} records/s, "
        f"{args.orders / took:,.0f} orders/s, {took / floor:.2f}x the floor"
    )
    if not args.keep:
        for path in sorted(workdir.glob("*"), reverse=True):
            path.unlink()
        workdir.rmdir()
    else:
        print(f"kept {workdir}")


if __name__ == "__main__":
    main()
