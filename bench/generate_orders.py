"""Time the ERP simulator's demo-data generator (and a few API reads on the result).

Usage: ``python bench/generate_orders.py [--orders 1000000] [--seed 7] [--db URL] [--keep]``

Prints the wall time, orders/s, rows/s and the database file size, then the median and p95 of
keyset-paged API reads next to the same query run directly through SQLAlchemy (the floor).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync.erp_simulator import create_erp_app
from sync.erp_simulator.generate import generate
from sync.erp_simulator.store import ENTITY_SETS, create_store

ANCHOR = date(2026, 11, 20)


def _timings(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def _file_size(url: str) -> int:
    database = make_url(url).database or ""
    return sum(
        os.path.getsize(path)
        for path in (database, database + "-wal", database + "-shm")
        if os.path.exists(path)
    )


def _api_reads(url: str, repeat: int) -> None:
    """Keyset pages through the Flask test client vs the raw SQL of the same page."""
    app = create_erp_app(url)
    client = app.test_client()
    engine = app.extensions["erp_simulator"].engine
    lines = ENTITY_SETS["SalesOrderLines"]
    with engine.connect() as conn:
        last = conn.execute(select(func.max(lines.c.ChangeSequence))).scalar_one()
    middle = last // 2
    cases = [
        ("first page of lines", "/data/SalesOrderLines", None),
        ("lines page mid-table", f"/data/SalesOrderLines?$skiptoken={middle}", middle),
        (
            "lines of DEMF mid-table",
            f"/data/SalesOrderLines?$filter=dataAreaId eq 'DEMF' and ChangeSequence gt {middle}",
            None,
        ),
        (
            "lines modified in the last 7 days",
            "/data/SalesOrderLines?$filter=ModifiedDateTime ge 2026-11-13T00:00:00Z",
            None,
        ),
        ("orders page of US-001 (USMF)", "/data/SalesOrderHeadersV2?$filter=dataAreaId eq "
         "'USMF' and OrderingCustomerAccountNumber eq 'US-001'", None),
    ]  # fmt: skip

    def raw_page(token: int) -> None:
        with engine.connect() as conn:
            conn.execute(
                select(lines)
                .where(lines.c.ChangeSequence > token)
                .order_by(lines.c.ChangeSequence)
                .limit(1001)
            ).all()

    floor_median, floor_p95 = _timings(lambda: raw_page(middle), repeat)
    print(f"\nAPI reads ({repeat} runs each, 1000-row pages, Flask test client)")
    print(f"  floor: raw SQL page of 1001 lines      median {floor_median:7.2f} ms  p95 {floor_p95:7.2f} ms")
    for label, path, _ in cases:

        def call(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.get_data(as_text=True)

        median, p95 = _timings(call, repeat)
        ratio = median / floor_median
        print(f"  {label:38} median {median:7.2f} ms  p95 {p95:7.2f} ms  ({ratio:4.1f}x floor)")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a SQLite file in a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument("--repeat", type=int, default=30, help="runs per API read")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="erp-bench-")
    url = args.db or f"sqlite:///{workdir}/erp.sqlite"
    engine = create_store(url)
    began = time.perf_counter()
    counts = generate(engine, seed=args.seed, orders=args.orders, anchor_date=ANCHOR)
    wall = time.perf_counter() - began
    engine.dispose()
    rows = sum(counts.values())
    print(f"orders            {args.orders:>14,}")
    print(f"order lines       {counts['SalesOrderLines']:>14,}")
    print(f"rows (all sets)   {rows:>14,}")
    print(f"wall time         {wall:>14.1f} s")
    print(f"orders/s          {args.orders / wall:>14,.0f}")
    print(f"rows/s            {rows / wall:>14,.0f}")
    if url.startswith("sqlite"):
        print(f"database size     {_file_size(url) / 1024**2:>14,.0f} MiB")
    print(f"cores             {os.cpu_count():>14}")
    _api_reads(url, args.repeat)
    if not args.db and not args.keep:
        for path in Path(workdir).iterdir():
            path.unlink()
        Path(workdir).rmdir()
    elif not args.db:
        print(f"\nkept {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
