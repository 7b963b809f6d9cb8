"""End-to-end sync lag: an order submitted in the portal until it shows "accepted" with its ERP number.

Usage: ``python bench/sync_lag.py [--orders 60] [--keep]``

Runs the portal the way ``python app.py`` does, in this process: the embedded ERP simulator on a thread
(its own SQLite file, demo data), the portal's SQLite store after the initial sync, and the scheduler with
the default intervals (push every second, pull every 2 s, reconcile every 15 minutes). Orders are placed
with the wizard's own command (`data.order_entry.place_order`, for the demo authorized user) at random
moments, and the store is polled every 5 ms until the order carries its SalesOrderNumber.

Two rounds in the same run:
- "as the wizard": after the commit the wizard asks the scheduler to push at once (``push_now``);
- "interval only": nobody asks, the order waits for the next push tick (the worst case of the design).
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from app import Settings  # noqa: E402
from data.access import principal_for  # noqa: E402
from data.catalog import search_products  # noqa: E402
from data.db import make_engine, make_session_factory, migrate  # noqa: E402
from data.models import Contact, SalesOrder  # noqa: E402
from data.order_entry import delivery_addresses, new_key, next_working_day, order_context, place_order  # noqa: E402
from sync.erp_client import HttpErpClient  # noqa: E402
from sync.worker import prepare_store, run_now, start_embedded_erp, start_scheduler, stop_scheduler  # noqa: E402

USER = "user1a@portal.demo"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60, help="orders per round")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="bench-lag-"))
    settings = Settings.from_env({"DATA_DIR": str(workdir), "ERP_PORT": str(_free_port()), "SCHEDULER": "on"})
    print(
        f"intervals: push {settings.push_interval_seconds} s, pull {settings.pull_interval_seconds} s, "
        f"reconcile {settings.reconcile_interval_seconds} s; demo ERP with {settings.demo_orders:,} orders"
    )
    erp_url = start_embedded_erp(settings)
    engine = make_engine(settings.database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    prepare_store(factory, HttpErpClient(erp_url), settings)
    scheduler = start_scheduler(factory, erp_url, settings)

    with factory() as session:
        principal = principal_for(session.scalars(select(Contact).where(Contact.email == USER)).one())
        today = datetime.now(UTC).date()
        ctx = order_context(session, principal).context
        assert ctx is not None, "the demo user must be ready to order"
        products = search_products(session, principal, ctx.prices, "", today)[:3]
        address = delivery_addresses(session, ctx)[0]

    def one_order(push_now: bool) -> float:
        placed = place_order(
            factory,
            principal,
            account_id=None,
            header={"receipt_date": next_working_day(today).isoformat(), "address": str(address.id)},
            lines=[{"item": p.item_number, "unit": p.default_unit, "quantity": "2"} for p in products],
            key=new_key(),
            now=datetime.now(UTC).replace(tzinfo=None),
            today=today,
        )
        submitted = time.perf_counter()
        if push_now:
            run_now(scheduler, "push")
        while True:
            with factory() as session:
                number = session.scalar(
                    select(SalesOrder.sales_order_number).where(SalesOrder.id == placed.order_id)
                )
            if number:
                return time.perf_counter() - submitted
            if time.perf_counter() - submitted > 60:
                raise TimeoutError(f"order {placed.order_id} not accepted within 60 s")
            time.sleep(0.005)

    try:
        for label, push_now in (("as the wizard (push_now)", True), ("interval only", False)):
            lags = []
            for _ in range(args.orders):
                time.sleep(rng.uniform(0, 1.2))  # land anywhere in the push interval
                lags.append(one_order(push_now))
            print(
                f"{label:<26} n={len(lags)}  median {statistics.median(lags) * 1000:,.0f} ms  "
                f"p95 {_p95(lags) * 1000:,.0f} ms  max {max(lags) * 1000:,.0f} ms"
            )
    finally:
        stop_scheduler(scheduler, wait=False)
        engine.dispose()


if __name__ == "__main__":
    main()
