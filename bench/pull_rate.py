"""Time the incremental pull of changed orders: how many changed orders per second it applies.

Usage: ``python bench/pull_rate.py [--erp-db PATH] [--orders 200000] [--changes 50000] [--portal-db URL]
[--apply-only]``

A generated ERP store (``--erp-db`` is copied, never changed; generated there first when missing) is
served by the simulator (``--tick 0``) and initial-synced into a fresh portal store. Then the ERP changes
``--changes`` existing orders the way its lifecycle does: an open order moves one step on
(``lifecycle._move_order``: status, confirmed dates and quantities when confirming, line statuses), a
finished one (most of a two-year history is invoiced) gets a revised confirmed receipt date and
confirmed quantities on its header and lines. Each change takes new ChangeSequence values and
``ModifiedDateTime``. The timed pull then applies them; an order with its changed lines counts as one
order. The floor, measured in the same run, is reading the same changed records over HTTP only.

``--apply-only`` applies the pages the floor read, from memory (no HTTP, no JSON decoding, no reader
thread): the portal process's CPU is then the apply path alone (``apply_page`` and what it calls).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, bindparam, func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from initial_sync import erp_store, served_erp  # noqa: E402

from data.db import make_engine, make_session_factory, migrate  # noqa: E402
from data.models import OrderEvent, SalesOrder, SyncCursor  # noqa: E402
from sync.erp_client import HttpErpClient, Record  # noqa: E402
from sync.erp_simulator.lifecycle import (  # noqa: E402
    FINAL_STATUSES,
    LifecycleOptions,
    _confirmed_quantity,
    _move_order,
)
from sync.erp_simulator.store import create_store, next_change_sequence  # noqa: E402
from sync.erp_simulator.store import sales_order_headers as headers  # noqa: E402
from sync.erp_simulator.store import sales_order_lines as lines  # noqa: E402
from sync.pull import ORDERS, pull_all  # noqa: E402

CHUNK = 2000  # orders changed per ERP transaction
MOVE_ALWAYS = LifecycleOptions(move_probability=1.0)


def _revise(conn: Connection, orders: list[tuple[str, str]], now: datetime, rng: random.Random) -> None:
    """Finished orders get a new confirmed receipt date and confirmed quantities, header and lines."""
    h, ln = headers.c, lines.c
    wanted = set(orders)
    numbers = [number for _, number in orders]
    requested = {
        (area, number): day
        for area, number, day in conn.execute(
            select(h.dataAreaId, h.SalesOrderNumber, h.RequestedReceiptDate).where(
                h.SalesOrderNumber.in_(numbers)
            )
        )
        if (area, number) in wanted
    }
    order_lines = [
        row
        for row in conn.execute(
            select(ln.dataAreaId, ln.SalesOrderNumber, ln.LineNumber, ln.OrderedSalesQuantity).where(
                ln.SalesOrderNumber.in_(numbers)
            )
        )
        if (row[0], row[1]) in wanted
    ]
    first = next_change_sequence(conn, len(orders) + len(order_lines))
    confirmed = {key: day + timedelta(days=rng.randint(1, 10)) for key, day in requested.items()}
    conn.execute(
        update(headers)
        .where(h.dataAreaId == bindparam("a"), h.SalesOrderNumber == bindparam("n"))
        .values(ConfirmedReceiptDate=bindparam("d"), ChangeSequence=bindparam("s"), ModifiedDateTime=now),
        [{"a": a, "n": n, "d": confirmed[a, n], "s": first + i} for i, (a, n) in enumerate(orders)],
    )
    conn.execute(
        update(lines)
        .where(
            ln.dataAreaId == bindparam("a"),
            ln.SalesOrderNumber == bindparam("n"),
            ln.LineNumber == bindparam("l"),
        )
        .values(
            ConfirmedReceiptDate=bindparam("d"),
            ConfirmedSalesQuantity=bindparam("q"),
            ChangeSequence=bindparam("s"),
            ModifiedDateTime=now,
        ),
        [
            {
                "a": a,
                "n": n,
                "l": line,
                "d": confirmed[a, n],
                "q": _confirmed_quantity(Decimal(str(ordered)), rng, MOVE_ALWAYS),
                "s": first + len(orders) + i,
            }
            for i, (a, n, line, ordered) in enumerate(order_lines)
        ],
    )


def change_orders(erp_url: str, count: int, seed: int) -> tuple[int, int]:
    """Change ``count`` random existing orders in the ERP; return (orders moved on, orders revised)."""
    rng = random.Random(seed)
    engine = create_store(erp_url)
    h = headers.c
    with engine.connect() as conn:
        everything = conn.execute(
            select(h.dataAreaId, h.SalesOrderNumber, h.SalesOrderProcessingStatus)
        ).all()
    chosen = rng.sample(everything, min(count, len(everything)))
    open_orders = [(a, n) for a, n, status in chosen if status not in FINAL_STATUSES]
    finished = [(a, n) for a, n, status in chosen if status in FINAL_STATUSES]
    now = datetime(2026, 11, 21, 9, 0)
    moved = 0
    for first in range(0, len(open_orders), CHUNK):
        with engine.begin() as conn:
            for area, number in open_orders[first : first + CHUNK]:
                moved += _move_order(conn, area, number, now, rng, MOVE_ALWAYS) is not None
    for first in range(0, len(finished), CHUNK):
        with engine.begin() as conn:
            _revise(conn, finished[first : first + CHUNK], now, rng)
    engine.dispose()
    return moved, len(finished)


class ReplayClient(HttpErpClient):
    """The pages read once over HTTP, served again from memory (every other entity set: no changes)."""

    def __init__(self, base: str, pages: dict[str, list[list[Record]]]) -> None:
        super().__init__(base)
        self.pages = pages

    def iter_pages(
        self, entity_set: str, *, after_sequence: int = 0, top: int = 1000
    ) -> Iterator[list[Record]]:
        for page in self.pages.get(entity_set, []):
            if page and int(page[-1]["ChangeSequence"]) > after_sequence:
                yield page
        yield []


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="orders of a store generated anew")
    parser.add_argument("--erp-db", default="", help="generated ERP store to copy (generated when missing)")
    parser.add_argument("--changes", type=int, default=50_000, help="existing orders the ERP changes")
    parser.add_argument("--portal-db", default="")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of change + timed pull")
    parser.add_argument(
        "--apply-only", action="store_true", help="time applying the floor's pages from memory (no HTTP)"
    )
    parser.add_argument(
        "--synced",
        default="",
        help="directory keeping the ERP and SQLite portal stores as the initial sync left them: copied "
        "from there when present (the untimed initial sync is skipped), saved there otherwise",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    source = Path(args.erp_db) if args.erp_db else workdir / "erp-source.sqlite"
    erp_store(source, args.orders)
    erp_path, portal_path = workdir / "erp.sqlite", workdir / "portal.sqlite"
    synced = Path(args.synced) if args.synced else None
    reuse = synced is not None and (synced / "portal.sqlite").exists()
    if reuse:
        shutil.copyfile(synced / "erp.sqlite", erp_path)
        shutil.copyfile(synced / "portal.sqlite", portal_path)
    else:
        shutil.copyfile(source, erp_path)  # the source store stays as generated
    erp_url, counts = erp_store(erp_path, args.orders)
    print(f"ERP store: {counts[ORDERS]:,} orders, {counts['SalesOrderLines']:,} lines ({source})")

    engine = make_engine(args.portal_db or f"sqlite:///{portal_path}")
    migrate(engine)
    factory = make_session_factory(engine)
    rates = []
    with served_erp(erp_url) as base:
        if reuse:
            print(f"initial sync: copied from {synced}")
        else:
            began = time.perf_counter()
            pull_all(factory, HttpErpClient(base), kind="initial")
            print(f"initial sync: {time.perf_counter() - began:.1f} s (not timed below)")
            if synced is not None and not args.portal_db:
                engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
                synced.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(erp_path, synced / "erp.sqlite")
                shutil.copyfile(portal_path, synced / "portal.sqlite")
        for round_number in range(args.repeat):
            began = time.perf_counter()
            moved, revised = change_orders(erp_url, args.changes, args.seed + round_number)
            print(
                f"round {round_number + 1}: ERP changed {moved + revised:,} orders ({moved:,} moved one step "
                f"on, {revised:,} finished ones revised) in {time.perf_counter() - began:.1f} s"
            )
            with factory() as session:
                after = {c.entity_set: c.last_sequence for c in session.scalars(select(SyncCursor))}
                events_before = session.scalar(select(func.count(OrderEvent.id)))
            client = HttpErpClient(base)
            began = time.perf_counter()
            pages = {
                name: list(client.iter_pages(name, after_sequence=after[name]))
                for name in (ORDERS, "SalesOrderLines")
            }
            changed = {name: sum(map(len, name_pages)) for name, name_pages in pages.items()}
            floor = time.perf_counter() - began
            load = os.getloadavg()[0]
            began, cpu = time.perf_counter(), time.process_time()
            summary = pull_all(factory, ReplayClient(base, pages) if args.apply_only else HttpErpClient(base))
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            assert summary.applied.get(ORDERS) == changed[ORDERS], (summary.applied, changed)
            with factory() as session:
                status_events = session.scalar(select(func.count(OrderEvent.id))) - events_before
                lag = session.execute(
                    select(func.count(SalesOrder.id)).where(
                        SalesOrder.erp_modified_at == datetime(2026, 11, 21, 9)
                    )
                ).scalar_one()
            orders, records = changed[ORDERS], sum(changed.values())
            rates.append(orders / took)
            print(
                f"  changed records: {orders:,} headers + {changed['SalesOrderLines']:,} lines; "
                f"load {load:.2f} (1 min) before the pull"
            )
            print(f"  HTTP read of the changes (floor): {floor:.1f} s, {orders / floor:,.0f} orders/s")
            what = "apply (from memory):" if args.apply_only else "pull (read + apply):"
            print(
                f"  {what:<34}{took:.1f} s, {orders / took:,.0f} orders/s, "
                f"{records / took:,.0f} records/s, {took / floor:.2f}x the floor; "
                f"{cpu:.1f} s CPU in the portal process ({cpu / records * 1e6:.0f} us per record); "
                f"{status_events:,} status events, {lag:,} orders carry the change"
            )
    engine.dispose()
    if len(rates) > 1:
        print(f"median {statistics.median(rates):,.0f} orders/s over {len(rates)} rounds")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
