"""data/orders.py on SQLite and PostgreSQL: keyset pages equal a plain ORDER BY for every sort column and
direction (NULLs included), scopes per role, filters (hostile strings included), capped status counts,
exports, and query plans without a full scan on the page-load paths."""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from data.access import Principal, principal_for
from data.export import csv_chunks, neutralise, xlsx_file
from data.models import (
    Contact,
    ContactRole,
    CustomerAccount,
    LegalEntity,
    OrderEvent,
    ProcessingStatus,
    SalesOrder,
    SalesOrderLine,
    SyncState,
    WebRole,
)
from data.orders import (
    SORT_COLUMNS,
    OrderQuery,
    QueryError,
    as_params,
    fetch_page,
    get_order,
    iter_rows,
    parse_query,
    status_counts,
)

HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE sales_orders; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "1) UNION SELECT email FROM contacts --",
    "<script>alert(1)</script>",
]


def _seed(session, orders_per_account: int = 60) -> dict:
    """Two accounts of one company, a representative and two users on the first, one user on the second."""
    rng = random.Random(5)
    session.add(
        LegalEntity(id="USMF", name="USA", currency_code="USD", language_id="en-us", country_region_id="USA")
    )
    session.flush()
    accounts = []
    for number, name in (("US-001", "Adventure Works"), ("US-002", "Contoso Foreign Marker")):
        account = CustomerAccount(
            legal_entity_id="USMF", account_number=number, name=name, currency_code="USD"
        )
        session.add(account)
        accounts.append(account)
    session.flush()
    people = {}
    for key, account, role, last in (
        ("rep", accounts[0], WebRole.CUSTOMER_REPRESENTATIVE, "Rep"),
        ("user_a", accounts[0], WebRole.AUTHORIZED_USER, "Able"),
        ("user_b", accounts[0], WebRole.AUTHORIZED_USER, "Baker"),
        ("other", accounts[1], WebRole.AUTHORIZED_USER, "Other"),
        ("admin", accounts[0], WebRole.ADMINISTRATOR, "Admin"),
    ):
        contact = Contact(
            email=f"{key}@example.test",
            first_name=key,
            last_name=last,
            legal_entity_id="USMF",
            customer_account_id=account.id,
        )
        contact.roles = [ContactRole(role=role)]
        session.add(contact)
        people[key] = contact
    session.flush()
    start = datetime(2026, 1, 1, 8, 0)
    statuses = list(ProcessingStatus)
    for index, account in enumerate(accounts):
        placers = [people["user_a"], people["user_b"], None] if index == 0 else [people["other"], None]
        for n in range(orders_per_account):
            placer = placers[n % len(placers)]
            requested = date(2026, 2, 1) + timedelta(days=rng.randrange(60))
            order = SalesOrder(
                sales_order_number=None if n % 7 == 0 else f"SO-{index}{n:05d}",
                portal_order_id=f"P-{index}-{n}" if placer else None,
                legal_entity_id="USMF",
                customer_account_id=account.id,
                ordering_customer_account_number=account.account_number,
                sales_order_name=f"{account.name} order {n}",
                currency_code="USD",
                language_id="en-us",
                placed_by_contact_id=placer.id if placer else None,
                # ties on purpose: several orders share an order date, a total and a reference
                order_date=start + timedelta(hours=(n // 3) * 5),
                requested_receipt_date=requested,
                confirmed_receipt_date=None if n % 4 == 0 else requested + timedelta(days=n % 3),
                delivery_address_description="Main",
                delivery_address_country_region_id="USA",
                customer_requisition_number=None if n % 5 == 0 else f"REF-{n % 9}",
                origin="portal" if placer else "erp",
                processing_status=statuses[n % len(statuses)],
                sync_state=SyncState.SUBMITTED if n % 7 == 0 else SyncState.ACCEPTED,
                total_amount=Decimal(rng.randrange(1, 20)) * 10,
            )
            session.add(order)
    session.commit()
    return {k: principal_for(session.get(Contact, c.id)) for k, c in people.items()}


@pytest.fixture
def seeded(portal_sessions):
    with portal_sessions() as session:
        principals = _seed(session)
    return portal_sessions, principals


def _all_pages(session, principal, query, size, typed=True):
    rows, start, cursors = [], 0, {}
    while True:
        page = fetch_page(session, principal, query, start, size, cursors, typed=typed)
        rows += page.rows
        if page.last_row is not None:
            assert page.last_row == len(rows)
            return rows
        start += len(page.rows)
        cursors = page.cursors


def _python_order(rows, query, nulls_low):
    """The expected order, computed independently in Python."""
    key = "last_name" if query.sort == "placed_by" else SORT_COLUMNS[query.sort].key

    def sort_key(row):
        value = getattr(row, key)
        null_rank = (0 if nulls_low else 1) if value is None else (1 if nulls_low else 0)
        return (null_rank, value if value is not None else 0, row.id)

    return sorted(rows, key=sort_key, reverse=query.descending)


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "driver values"])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_equal_a_full_sort_for_every_column(seeded, descending, typed):
    """Scrolling by cursors, with rows typed or as the driver returns them (the grid's cursors are then
    made from SQLite's text and floats), gives every row once, in the sort's order."""
    factory, who = seeded
    with factory() as session:
        nulls_low = session.get_bind().dialect.name == "sqlite"
        for sort in SORT_COLUMNS:
            query = OrderQuery(sort=sort, descending=descending)
            paged = _all_pages(session, who["admin"], query, size=7, typed=typed)
            assert len(paged) == 120
            expected = _python_order(paged, query, nulls_low)
            assert [r.id for r in paged] == [r.id for r in expected], sort


def test_driver_values_are_the_typed_values(seeded):
    """A page read with typed=False (the grid's) holds the same rows and, read back, the same values as a
    typed one: ISO text for dates and times, numbers for money."""
    factory, who = seeded
    readers = {datetime: datetime.fromisoformat, date: date.fromisoformat, Decimal: lambda v: Decimal(str(v))}
    with factory() as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
        query = OrderQuery(sort="total", descending=True)
        typed = _all_pages(session, who["admin"], query, size=50)
        raw = _all_pages(session, who["admin"], query, size=50, typed=False)
    assert len(typed) == len(raw) == 120
    converted = set()
    for typed_row, raw_row in zip(typed, raw, strict=True):
        for name, value in typed_row._asdict().items():
            raw_value = getattr(raw_row, name)
            if value is None or isinstance(raw_value, type(value)):
                assert raw_value == value, name
            else:
                assert readers[type(value)](raw_value) == value, name
                converted.add(type(value))
    assert converted == ({datetime, date, Decimal} if sqlite else set())  # psycopg returns them typed


def test_a_jump_without_a_cursor_lands_on_the_same_rows(seeded):
    factory, who = seeded
    with factory() as session:
        query = OrderQuery(sort="confirmed_receipt_date", descending=False)
        everything = _all_pages(session, who["admin"], query, size=10)
        jumped = fetch_page(session, who["admin"], query, start=53, size=10, cursors={})
        assert [r.id for r in jumped.rows] == [r.id for r in everything[53:63]]
        # a tampered cursor of the wrong shape is ignored, not trusted
        tampered = fetch_page(session, who["admin"], query, 53, 10, {"53": ["not a date", "x"]})
        assert [r.id for r in tampered.rows] == [r.id for r in everything[53:63]]


def test_scopes_per_role(seeded):
    factory, who = seeded
    with factory() as session:
        account_1 = session.scalar(
            select(CustomerAccount.id).where(CustomerAccount.account_number == "US-001")
        )

        def ids(principal, **filters):
            return {r.id for r in _all_pages(session, principal, OrderQuery(**filters), 50)}

        everything = set(session.scalars(select(SalesOrder.id)))
        assert ids(who["admin"]) == everything
        account_orders = set(
            session.scalars(select(SalesOrder.id).where(SalesOrder.customer_account_id == account_1))
        )
        assert ids(who["rep"]) == account_orders
        own = set(
            session.scalars(
                select(SalesOrder.id).where(SalesOrder.placed_by_contact_id == who["user_a"].contact_id)
            )
        )
        assert ids(who["user_a"]) == own and own
        # crafted filters with another account's or another user's ids only narrow the scope
        account_2 = session.scalar(
            select(CustomerAccount.id).where(CustomerAccount.account_number == "US-002")
        )
        assert ids(who["rep"], customer_account_id=account_2) == set()
        assert ids(who["user_a"], placed_by_contact_id=who["user_b"].contact_id) == set()
        assert ids(who["rep"], placed_by_contact_id=who["other"].contact_id) == set()
        assert ids(Principal(contact_id=None)) == set()
        # a single order: out of scope looks exactly like missing
        foreign = next(iter(everything - account_orders))
        assert get_order(session, who["rep"], foreign) is None
        assert get_order(session, who["rep"], 10**9) is None
        assert get_order(session, who["rep"], "1 OR 1=1") is None
        assert get_order(session, who["admin"], foreign).id == foreign


def test_filters_match_python(seeded):
    factory, who = seeded
    with factory() as session:
        orders = session.scalars(select(SalesOrder)).all()
        query = parse_query(
            {
                "status": [ProcessingStatus.ACTIVE, ProcessingStatus.INVOICED, "Bogus"],
                "ordered_from": "2026-01-03",
                "ordered_to": "2026-01-10",
                "receipt_from": "2026-02-05",
                "text": "ref-",
            }
        )
        assert query.statuses == (ProcessingStatus.ACTIVE, ProcessingStatus.INVOICED)
        got = {r.id for r in _all_pages(session, who["admin"], query, 25)}
        expected = {
            o.id
            for o in orders
            if o.processing_status in query.statuses
            and date(2026, 1, 3) <= o.order_date.date() <= date(2026, 1, 10)
            and o.requested_receipt_date >= date(2026, 2, 5)
            and "ref-" in (o.customer_requisition_number or "").lower()
        }
        assert got == expected and expected


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_filter_values_are_data(seeded, hostile):
    factory, who = seeded
    with factory() as session:
        for raw in ({"text": hostile}, {"customer": hostile}, {"placed_by": hostile}, {"status": [hostile]}):
            query = parse_query(raw)
            rows = _all_pages(session, who["rep"], query, 50)
            assert all(r.ordering_customer_account_number == "US-001" for r in rows)
        with pytest.raises(QueryError) as error:
            parse_query({"ordered_from": hostile})
        assert set(error.value.errors) == {"ordered_from"}
        assert session.scalar(select(SalesOrder.id).limit(1)) is not None  # the table is still there


def test_reversed_range_is_named():
    with pytest.raises(QueryError) as error:
        parse_query({"receipt_from": "2026-03-02", "receipt_to": "2026-03-01"})
    assert set(error.value.errors) == {"receipt_to"}


def test_export_params_round_trip():
    query = parse_query(
        {"status": ["Active"], "text": "x", "ordered_from": "2026-01-01", "customer": "4"},
        [{"colId": "total", "sort": "asc"}],
    )
    assert parse_query(as_params(query)) == query


def test_status_counts_are_capped_and_ignore_the_status_filter(seeded, monkeypatch):
    factory, who = seeded
    with factory() as session:
        counts = status_counts(session, who["rep"], OrderQuery(statuses=(ProcessingStatus.ACTIVE,)))
        expected = {}
        for status in ProcessingStatus:
            expected[status] = session.scalar(
                select(text("count(*)"))
                .select_from(SalesOrder)
                .where(
                    SalesOrder.processing_status == status,
                    SalesOrder.customer_account_id == who["rep"].customer_account_id,
                )
            )
        assert counts == expected
        monkeypatch.setattr("data.orders.COUNT_CAP", 3)
        capped = status_counts(session, who["admin"], OrderQuery())
        assert set(capped.values()) == {4}  # cap + 1 means "more than the cap"


def test_export_is_scoped_and_formula_safe(seeded, tmp_path):
    factory, who = seeded
    with factory() as session:
        order = session.scalars(
            select(SalesOrder).where(SalesOrder.placed_by_contact_id == who["user_a"].contact_id)
        ).first()
        order.sales_order_name = '=HYPERLINK("http://evil")'
        order.customer_requisition_number = "@SUM(A1)"
        session.add(OrderEvent(order_id=order.id, occurred_at=datetime(2026, 1, 1), kind="accepted"))
        session.add(
            SalesOrderLine(
                order_id=order.id,
                line_number=1,
                item_number="A",
                quantity=Decimal(1),
                unit_symbol="ea",
                unit_price=Decimal(1),
                line_amount=Decimal(1),
                currency_code="USD",
                requested_receipt_date=date(2026, 2, 1),
                delivery_address_description="Main",
                delivery_address_country_region_id="USA",
            )
        )
        session.commit()
        text_out = "".join(csv_chunks(session, who["user_a"], OrderQuery(), rows_per_chunk=3))
        rows = list(csv.reader(io.StringIO(text_out.lstrip("\ufeff"))))
        own = len(list(iter_rows(session, who["user_a"], OrderQuery())))
        assert len(rows) == own + 1 and "Placed by" not in rows[0]
        assert "Contoso Foreign Marker" not in text_out and "other@example.test" not in text_out
        cells = {cell for row in rows for cell in row}
        assert {'\'=HYPERLINK("http://evil")', "'@SUM(A1)"} <= cells
        path = xlsx_file(session, who["user_a"], OrderQuery())
        workbook = load_workbook(path, read_only=True)
        values = list(workbook.active.iter_rows(values_only=True))
        workbook.close()
        os.unlink(path)
        assert len(values) == own + 1
        assert any('\'=HYPERLINK("http://evil")' in row for row in values)
        assert not any(isinstance(v, str) and v.startswith("=") for row in values for v in row)
    assert neutralise("-1+2") == "'-1+2" and neutralise("plain") == "plain" and neutralise(5) == 5


def _plan(session, stmt) -> str:
    dialect = session.get_bind().dialect.name
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = session.execute(text(prefix + str(compiled))).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_page_load_queries_use_indexes(seeded):
    """The first page, the next page and the status chips of every role: no full scan of sales_orders."""
    from data.orders import _filters, _ordering, _page_statement, _seek

    factory, who = seeded
    with factory() as session:
        session.execute(text("ANALYZE"))
        is_sqlite = session.get_bind().dialect.name == "sqlite"
        if not is_sqlite:
            session.execute(text("SET enable_seqscan = off"))  # tiny tables: ask what the planner can use
        sorts = [
            OrderQuery(),
            OrderQuery(sort="total"),
            OrderQuery(sort="requested_receipt_date", descending=False),
        ]
        for role, query in itertools.product(("admin", "rep", "user_a"), sorts):
            principal = who[role]
            first = _page_statement(principal, query).order_by(*_ordering(query)).limit(101)
            key = {
                "order_date": datetime(2026, 1, 5),
                "total": Decimal(50),
                "requested_receipt_date": date(2026, 3, 1),
            }
            nxt = first.where(_seek(SORT_COLUMNS[query.sort], query, (key[query.sort], 10), is_sqlite))
            chip = (
                select(SalesOrder.id)
                .where(
                    *_filters(principal, query, with_status=False), SalesOrder.processing_status == "Active"
                )
                .limit(10001)
            )
            for stmt in (first, nxt, chip):
                plan = _plan(session, stmt)
                if is_sqlite:
                    # "SCAN ... USING INDEX" walks an index in order and stops at the LIMIT
                    scans = [line for line in plan.splitlines() if line.startswith("SCAN sales_orders")]
                    assert all("USING" in line for line in scans), (role, plan)
                    assert "TEMP B-TREE" not in plan, (role, plan)
                else:
                    assert "Seq Scan on sales_orders" not in plan, (role, plan)


def test_a_kept_statement_runs_with_each_calls_own_values(seeded):
    """Page statements are kept per principal and shape; the values must still be each call's own."""
    factory, who = seeded
    with factory() as session:
        orders = session.scalars(select(SalesOrder)).all()
        for statuses, text_filter in (
            ((ProcessingStatus.ACTIVE,), "order 1"),
            ((ProcessingStatus.INVOICED,), "order 2"),
            ((ProcessingStatus.CANCELED,), "ORDER 3"),
        ):
            query = OrderQuery(statuses=statuses, text=text_filter)
            got = {r.id for r in _all_pages(session, who["admin"], query, 3)}
            expected = {
                o.id
                for o in orders
                if o.processing_status in statuses and text_filter.lower() in o.sales_order_name.lower()
            }
            assert got == expected and expected
        # the same shape for another principal never reuses the first one's scope
        rep_rows = _all_pages(session, who["rep"], OrderQuery(statuses=(ProcessingStatus.ACTIVE,)), 3)
        user_rows = _all_pages(session, who["other"], OrderQuery(statuses=(ProcessingStatus.ACTIVE,)), 3)
        assert {r.ordering_customer_account_number for r in rep_rows} == {"US-001"}
        assert {r.ordering_customer_account_number for r in user_rows} <= {"US-002"}
