"""Time the orders grid, the order detail and the account summary on a large portal store.

Usage: ``python bench/orders_grid.py --db URL [--repeat 50]`` on a store built by ``bench/portal_store.py``
(1,000,000 orders). For each role's scope (administrator: all orders; representative: the largest account;
authorized user: the contact with the most orders) and each case (first page, a deep page reached by
scrolling, sorted and filtered pages), it prints the median and p95 of

- ``sql``: the same SELECT as plain SQL text through the DB-API cursor, rows fetched (the floor), as a
  statement of its own (autocommit: on PostgreSQL no BEGIN, and no transaction left open between runs);
- ``sql in tx`` (PostgreSQL only): the same, inside one transaction left open over all the runs, as this
  benchmark measured the floor until session 5. It is cheaper than any request can be: the transaction
  already holds its snapshot and the locks of every table and index the query touches;
- ``data``: ``data.orders.fetch_page`` as the grid's callback calls it (statement, execution, named rows of
  the driver's values: ``typed=False``), in a Session as the callback opens one;
- ``http``: the grid's callback ``update_orders_rows`` through the Flask test client as that user
  (the whole server side: session, guard, CSRF, JSON),

and the ratios data/sql of the medians and of the p95s, and http/sql of the medians. Then the account summary
and the peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.access import Principal, principal_for
from data.models import Contact, ContactRole, CustomerAccount, SalesOrder, WebRole
from data.orders import (
    OrderQuery,
    _jsonable,
    _key_at,
    _ordering,
    _page_statement,
    _seek,
    _sort_column,
    fetch_page,
)
from data.passwords import hash_password

PASSWORD = "bench-password-not-secret-1"  # noqa: S105 - set on the bench store only


def _interleaved(fns: list[Callable[[], object]], repeat: int) -> list[tuple[float, float]]:
    """(median, p95) in ms of each function, run in turn within each repetition, so that a change in the
    machine's load during the run weighs on all of them alike. Each repetition starts one function further
    on: the one run right after the HTTP call finds the CPU's caches cold (the raw SQL, always run first,
    took up to 20 % longer than the same statement right after it), so each takes that place as often."""
    samples: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()  # warm the caches once, as a scrolling user does
    turns = list(zip(fns, samples, strict=True))
    for repetition in range(repeat):
        first = repetition % len(turns)
        for fn, taken in turns[first:] + turns[:first]:
            began = time.perf_counter()
            fn()
            taken.append((time.perf_counter() - began) * 1000)
    result = []
    for taken in samples:
        taken.sort()
        result.append((statistics.median(taken), taken[min(len(taken) - 1, int(len(taken) * 0.95))]))
    return result


def _timings(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    fn()  # warm the caches once, as a scrolling user does
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def _principals(session) -> dict[str, tuple[Contact, Principal]]:
    """The administrator, the representative of the largest account, its busiest authorized user."""
    big = session.execute(
        select(SalesOrder.customer_account_id, func.count())
        .group_by(SalesOrder.customer_account_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()[0]
    rep = session.scalars(
        select(Contact)
        .join(ContactRole, ContactRole.contact_id == Contact.id)
        .where(Contact.customer_account_id == big, ContactRole.role == WebRole.CUSTOMER_REPRESENTATIVE)
    ).first()
    busiest = session.execute(
        select(SalesOrder.placed_by_contact_id, func.count())
        .where(SalesOrder.customer_account_id == big, SalesOrder.placed_by_contact_id.is_not(None))
        .group_by(SalesOrder.placed_by_contact_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()[0]
    user = session.get(Contact, busiest)
    if not any(r.role == WebRole.AUTHORIZED_USER for r in user.roles):
        user.roles.append(ContactRole(role=WebRole.AUTHORIZED_USER))
    admin = session.scalars(select(Contact).where(Contact.email == "bench-admin@portal.bench")).first()
    if admin is None:
        admin = Contact(email="bench-admin@portal.bench", first_name="Bench", last_name="Admin")
        admin.roles = [ContactRole(role=WebRole.ADMINISTRATOR)]
        session.add(admin)
    for contact in (admin, rep, user):
        contact.password_hash = hash_password(PASSWORD)
    session.commit()
    return {
        "administrator": (admin, principal_for(admin)),
        "representative": (rep, principal_for(rep)),
        "authorized user": (user, principal_for(user)),
    }


def _raw_sql(session, principal: Principal, query: OrderQuery, key: Any) -> tuple[str, Any]:
    """The page's SELECT as SQL text and DB-API parameters (bound, as the app sends them)."""
    stmt = _page_statement(principal, query)
    if key is not None:
        nulls_low = session.get_bind().dialect.name == "sqlite"
        stmt = stmt.where(_seek(_sort_column(query), query, key, nulls_low))
    stmt = stmt.order_by(*_ordering(query)).limit(101)
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors = compiled._bind_processors
    params = {k: processors[k](v) if k in processors else v for k, v in params.items()}
    if dialect.paramstyle == "qmark":
        return str(compiled), tuple(params[name] for name in compiled.positiontup)
    return str(compiled), params


def _grid_callback(client, csrf: str, query_params: dict, sort: list, start: int, cursors: dict) -> None:
    body = {
        "output": "..orders-grid.getRowsResponse...orders-cursors.data...orders-message.children..",
        "outputs": [
            {"id": "orders-grid", "property": "getRowsResponse"},
            {"id": "orders-cursors", "property": "data"},
            {"id": "orders-message", "property": "children"},
        ],
        "inputs": [
            {
                "id": "orders-grid",
                "property": "getRowsRequest",
                "value": {"startRow": start, "endRow": start + 100, "sortModel": sort},
            }
        ],
        "state": [
            {"id": "orders-query", "property": "data", "value": query_params},
            {"id": "orders-cursors", "property": "data", "value": cursors},
        ],
        "changedPropIds": ["orders-grid.getRowsRequest"],
    }
    response = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def _signed_in_client(dash_app, email: str):
    client = dash_app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    client.get("/")
    return client, client.get_cookie("_csrf_token").value


CASES: list[tuple[str, dict, list]] = [
    ("newest first (default)", {}, []),
    ("status Invoiced, newest first", {"status": ["Invoiced"]}, []),
    ("status Active+Confirmed, newest first", {"status": ["Active", "Confirmed"]}, []),
    ("ordered in 2025, newest first", {"ordered_from": "2025-01-01", "ordered_to": "2025-12-31"}, []),
    ("sorted by requested receipt", {}, [{"colId": "requested_receipt_date", "sort": "asc"}]),
    ("sorted by total, largest first", {}, [{"colId": "total", "sort": "desc"}]),
    ("search text 'PO-1'", {"text": "PO-1"}, []),
]


def _resident_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    status = Path("/proc/self/status").read_text().splitlines()
    values = {
        line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))
    }
    return values["VmRSS"] / 1024, values["VmHWM"] / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db", required=True, help="SQLAlchemy URL of a store built by bench/portal_store.py"
    )
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--deep", type=int, default=500_000, help="row offset of the deep page (administrator)"
    )
    args = parser.parse_args()

    from app import Settings, create_app
    from data.access import order_criteria
    from data.orders import parse_query

    settings = Settings.from_env(
        {
            "DATABASE_URL": args.db,
            "DATA_DIR": tempfile.mkdtemp(prefix="grid-bench-"),
            "SCHEDULER": "off",
            "ERP_URL": "http://127.0.0.1:9",
            "LOGIN_LIMIT_ACCOUNT": "1000 per minute",
        }
    )
    dash_app = create_app(settings)
    factory = dash_app.server.extensions["portal.sessions"]
    engine = factory.kw["bind"]
    with factory() as session:
        who = _principals(session)
        total = session.scalar(select(func.count()).select_from(SalesOrder))
    print(f"store             {engine.url.render_as_string(hide_password=True)}")
    print(f"orders            {total:>14,}")
    print(f"cores             {os.cpu_count():>14}")
    print(f"runs per figure   {args.repeat:>14}  (after one warm-up run)")
    print("\nGrid page of 100 rows: median / p95 in ms; ratios of medians (x50) and p95s (x95) to raw SQL")
    postgres = engine.dialect.name == "postgresql"
    in_tx = f" {'sql in tx':>13}" if postgres else ""
    header = (
        f"{'scope':16} {'case':40} {'start':>8} {'sql':>13}{in_tx} {'data':>13} {'x50':>5} {'x95':>5}"
        f" {'http':>13} {'x50':>5}"
    )
    print(header)
    raw = engine.raw_connection()
    if postgres:
        raw.driver_connection.autocommit = True  # each run a statement of its own
    raw_tx = engine.raw_connection()
    for role, (contact, principal) in who.items():
        client, csrf = _signed_in_client(dash_app, contact.email)
        with factory() as session:
            in_scope = session.scalar(
                select(func.count()).select_from(SalesOrder).where(order_criteria(principal))
            )
        deep = max(0, min(args.deep, in_scope // 2) // 100 * 100)
        print(f"-- {role}: {in_scope:,} orders in scope; deep page at row {deep:,}")
        cases = [(label, params, sort, 0) for label, params, sort in CASES]
        cases.insert(1, ("newest first, deep page", {}, [], deep))
        for label, params, sort, start in cases:
            query = parse_query(params, sort)
            with factory() as session:
                key = _key_at(session, principal, query, start) if start else None
                sql, parameters = _raw_sql(session, principal, query, key)
            cursors = {str(start): [_jsonable(key[0]), key[1]]} if key else {}

            def floor(sql: str = sql, parameters=parameters, connection=raw) -> None:
                cursor = connection.cursor()
                cursor.execute(sql, parameters)
                cursor.fetchall()
                cursor.close()

            def data_layer(query=query, start=start, cursors=cursors, principal=principal) -> None:
                with factory() as session:
                    fetch_page(session, principal, query, start, 100, cursors, typed=False)

            def http(
                params=params, sort=sort, start=start, cursors=cursors, client=client, csrf=csrf
            ) -> None:
                remembered = {"signature": parse_query(params, sort).signature(), "cursors": cursors}
                _grid_callback(client, csrf, params, sort, start, remembered)

            runs: list[Callable[[], object]] = [floor, data_layer, http]
            if postgres:
                runs.append(partial(floor, connection=raw_tx))
            timed = _interleaved(runs, args.repeat)
            (sql_m, sql_p), (data_m, data_p), (http_m, http_p) = timed[:3]
            tx = f" {timed[3][0]:6.2f}/{timed[3][1]:6.2f}" if postgres else ""
            print(
                f"{role:16} {label:40} {start:>8,} {sql_m:6.2f}/{sql_p:6.2f}{tx} {data_m:6.2f}/{data_p:6.2f}"
                f" {data_m / sql_m:5.2f} {data_p / sql_p:5.2f}"
                f" {http_m:6.2f}/{http_p:6.2f} {http_m / sql_m:5.2f}"
            )
    raw.close()
    raw_tx.close()
    _summary(factory, who, args.repeat)
    current, peak = _resident_mib()
    print(f"\nresident memory   {current:>10.0f} MiB now, {peak:.0f} MiB peak (this whole process)")
    return 0


def _summary(factory, who, repeat: int) -> None:
    try:
        from data.accounts import account_summary
    except ImportError:
        return
    print("\nAccount summary (whole function): median / p95 in ms")
    for role in ("representative", "administrator"):
        principal = who[role][1]
        account_id = who["representative"][1].customer_account_id

        def call(principal=principal, account_id=account_id) -> None:
            with factory() as session:
                assert account_summary(session, principal, account_id) is not None

        median, p95 = _timings(call, repeat)
        with factory() as session:
            number = session.get(CustomerAccount, account_id).account_number
            orders = session.scalar(
                select(func.count())
                .select_from(SalesOrder)
                .where(SalesOrder.customer_account_id == account_id)
            )
        print(f"  {role:16} account {number} ({orders:,} orders)   {median:7.2f} / {p95:7.2f}")


if __name__ == "__main__":
    sys.exit(main())
