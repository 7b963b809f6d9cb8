"""Account summary (DOMAIN §2, issue 4.3): scope per role; KPIs and chart data against figures worked out by
hand on hand-made data (SQLite and PostgreSQL); the picker's search; the query plans; the page over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from data.access import ANONYMOUS, principal_for
from data.accounts import (
    MonthTotal,
    StatusCount,
    account_choices,
    account_summary,
    chart_period,
    parse_account_id,
)
from data.db import session_scope
from data.models import (
    Contact,
    ContactRole,
    CustomerAccount,
    DeliveryAddress,
    LegalEntity,
    PriceList,
    Product,
    SalesOrder,
    SalesOrderLine,
    WebRole,
)
from tests.factories import PASSWORD, make_contact
from tests.portal_client import PortalClient

TODAY = date(2026, 11, 21)  # the charts' window: December 2025 to November 2026


# --- hand-made data ----------------------------------------------------------------------------------

ACCOUNT_FIELDS = {
    "alpha": ("US-100", "Alpha Tools", "5000.00", "No", "US-200"),
    "bravo": ("US-200", "Bravo Marker Ltd", "1000.00", "All", None),
    "cotton": ("US-300", "100% Cotton", None, "No", None),
    "ab": ("US-400", "A_B Supplies", None, "No", None),
    "axb": ("US-500", "AXB Supplies", None, "No", None),
}
# name: (account, order date, processing status, currency, total, requested, confirmed, sync state, lines)
# a line: (item, quantity, unit, amount, line status)
ORDERS: dict[str, tuple] = {
    "o1": ("alpha", datetime(2026, 11, 3, 10), "Active", "USD", "100.00", date(2026, 11, 10), None,
           "accepted", [("P-1", 2, "ea", "60.00", "Backorder"), ("P-2", 1, "ea", "40.00", "Backorder"),
                        ("P-9", 5, "ea", "500.00", "Canceled")]),
    "o2": ("alpha", datetime(2026, 11, 30, 23, 59, 59), "Confirmed", "USD", "200.50", date(2026, 12, 1),
           date(2026, 12, 5), "accepted",
           [("P-1", 3, "ea", "90.00", "Backorder"), ("P-3", 1, "box", "110.50", "Backorder")]),
    "o3": ("alpha", datetime(2026, 10, 1), "Delivered", "USD", "300.00", date(2026, 10, 5), date(2026, 10, 5),
           "accepted", [("P-3", 2, "box", "300.00", "Delivered")]),
    "o4": ("alpha", datetime(2025, 12, 1), "Invoiced", "USD", "400.00", date(2025, 12, 9), date(2025, 12, 9),
           "accepted", [("P-2", 10, "ea", "400.00", "Invoiced")]),
    "o5": ("alpha", datetime(2025, 11, 30, 23, 59, 59), "Invoiced", "USD", "1000.00", date(2025, 12, 9),
           date(2025, 12, 9), "accepted", [("P-9", 1, "ea", "1000.00", "Invoiced")]),
    "o6": ("alpha", datetime(2026, 6, 15, 12), "Canceled", "USD", "50.00", date(2026, 6, 20), None,
           "accepted", [("P-9", 1, "ea", "50.00", "Canceled")]),
    "o7": ("alpha", datetime(2026, 6, 16, 12), "PartiallyInvoiced", "USD", "70.00", date(2026, 6, 20),
           date(2026, 6, 25), "accepted",
           [("P-1", 1, "ea", "30.00", "Invoiced"), ("P-1", 1, "box", "40.00", "Delivered")]),
    "o8": ("alpha", datetime(2026, 7, 1, 8), "Active", "EUR", "80.00", date(2026, 7, 9), None, "accepted",
           [("P-4", 4, "ea", "80.00", "Backorder")]),
    "o9": ("alpha", datetime(2026, 8, 1, 8), "Active", "USD", "999.00", date(2026, 8, 9), None, "rejected",
           [("P-9", 9, "ea", "999.00", "Backorder")]),
    "o10": ("alpha", datetime(2024, 5, 1), "Picked", "USD", "25.00", date(2024, 5, 10), date(2024, 5, 9),
            "accepted", [("P-9", 1, "ea", "25.00", "Backorder")]),
    "b1": ("bravo", datetime(2026, 11, 5), "Active", "USD", "5000.00", date(2026, 11, 9), None, "accepted",
           [("P-9", 50, "ea", "5000.00", "Backorder")]),
    "b2": ("bravo", datetime(2026, 11, 6), "Confirmed", "USD", "7000.00", date(2026, 11, 9),
           date(2026, 11, 19), "accepted", [("P-9", 70, "ea", "7000.00", "Backorder")]),
}  # fmt: skip
# e-mail: (account, last name, roles, enabled, price list, currency)
CONTACTS = {
    "rep-a@example.com": ("alpha", "Adams", ["customer_representative"], True, "USD-RETAIL", "USD"),
    "ready-a@example.com": ("alpha", "Baker", ["authorized_user"], True, "USD-RETAIL", "USD"),
    "missing-a@example.com": ("alpha", "Clark", ["authorized_user"], True, None, None),
    "disabled-a@example.com": ("alpha", "Davis", ["authorized_user"], False, "USD-RETAIL", "USD"),
    "norole-a@example.com": ("alpha", "Evans", [], True, "USD-RETAIL", "USD"),
    "rep-b@example.com": ("bravo", "Foster", ["customer_representative"], True, "USD-RETAIL", "USD"),
    "admin@example.com": (None, "Admin", ["administrator"], True, None, None),
}


@pytest.fixture
def store(portal_sessions) -> dict[str, Any]:
    """The hand-made data on each test database; returns account ids and principals by name."""
    with session_scope(portal_sessions) as db:
        db.add(LegalEntity(id="USMF", name="Contoso USA", currency_code="USD", language_id="en-us",
                           country_region_id="USA"))  # fmt: skip
        db.flush()
        db.add(PriceList(legal_entity_id="USMF", code="USD-RETAIL", name="Retail USD", currency_code="USD"))
        for item, name in (("P-1", "Drill"), ("P-2", "Saw"), ("P-3", "Hammer"), ("P-4", "Widget")):
            db.add(Product(legal_entity_id="USMF", item_number=item, name=name, default_sales_unit="ea"))
        accounts = {}
        for key, (number, name, credit, hold, invoice) in ACCOUNT_FIELDS.items():
            accounts[key] = CustomerAccount(
                legal_entity_id="USMF", account_number=number, name=name, currency_code="USD",
                language_id="en-us", price_list_code="USD-RETAIL", invoice_account_number=invoice,
                credit_limit=Decimal(credit) if credit else None, on_hold_status=hold,
                country_region_id="USA", customer_group="10",
            )  # fmt: skip
            db.add(accounts[key])
        db.flush()
        for description, primary in (("Warehouse", False), ("Main office", True)):
            db.add(DeliveryAddress(customer_account_id=accounts["alpha"].id, description=description,
                                   street="1 Main St", city="Springfield", zip_code="12345",
                                   country_region_id="USA", is_primary=primary))  # fmt: skip
        db.add(DeliveryAddress(customer_account_id=accounts["bravo"].id, description="Bravo secret dock",
                               country_region_id="USA"))  # fmt: skip
        for name, (key, when, status, currency, total, requested, confirmed, sync, lines) in ORDERS.items():
            account = accounts[key]
            order = SalesOrder(
                sales_order_number=f"SO-{name}", legal_entity_id="USMF", customer_account_id=account.id,
                ordering_customer_account_number=account.account_number, sales_order_name=name,
                currency_code=currency, language_id="en-us", order_date=when,
                requested_receipt_date=requested, confirmed_receipt_date=confirmed,
                delivery_address_description="Main office", delivery_address_country_region_id="USA",
                origin="erp", processing_status=status, sync_state=sync, total_amount=Decimal(total),
            )  # fmt: skip
            db.add(order)
            db.flush()
            for number, (item, quantity, unit, amount, line_status) in enumerate(lines, start=1):
                db.add(SalesOrderLine(
                    order_id=order.id, line_number=number, item_number=item, quantity=Decimal(quantity),
                    unit_symbol=unit, unit_price=Decimal(amount) / quantity, line_amount=Decimal(amount),
                    currency_code=currency, line_status=line_status, requested_receipt_date=requested,
                    delivery_address_description="Main office", delivery_address_country_region_id="USA",
                ))  # fmt: skip
        contacts = {}
        for email, (key, last_name, roles, enabled, price_list, currency) in CONTACTS.items():
            account = accounts.get(key)
            contact = Contact(
                email=email, first_name="Pat", last_name=last_name, is_enabled=enabled, origin="portal",
                legal_entity_id="USMF" if account else None,
                customer_account_id=account.id if account else None, price_list_code=price_list,
                currency_code=currency,
                ship_to_country_region_id="USA" if account else None,
            )  # fmt: skip
            contact.roles = [ContactRole(role=role) for role in roles]
            db.add(contact)
            contacts[email] = contact
        db.flush()
        return {
            "ids": {key: account.id for key, account in accounts.items()},
            "admin": principal_for(contacts["admin@example.com"]),
            "rep_a": principal_for(contacts["rep-a@example.com"]),
            "rep_b": principal_for(contacts["rep-b@example.com"]),
            "user_a": principal_for(contacts["ready-a@example.com"]),
            "disabled_a": principal_for(contacts["disabled-a@example.com"]),
        }


def _summary(portal_sessions, principal, account_id):
    with session_scope(portal_sessions) as db:
        return account_summary(db, principal, account_id, today=TODAY)


# --- scope ---------------------------------------------------------------------------------------------


def test_scope_per_role(portal_sessions, store):
    alpha, bravo = store["ids"]["alpha"], store["ids"]["bravo"]
    own = _summary(portal_sessions, store["rep_a"], alpha)
    assert own is not None and own.master.name == "Alpha Tools"
    assert _summary(portal_sessions, store["rep_a"], None) is None  # no default inside data/: the page picks
    for outsider in (bravo, str(bravo), store["ids"]["cotton"], 987654):
        assert _summary(portal_sessions, store["rep_a"], outsider) is None, outsider
    assert _summary(portal_sessions, store["rep_b"], alpha) is None
    assert _summary(portal_sessions, store["rep_b"], bravo).master.name == "Bravo Marker Ltd"
    for key in ("alpha", "bravo", "cotton"):
        assert _summary(portal_sessions, store["admin"], store["ids"][key]) is not None
    for nobody in (store["user_a"], store["disabled_a"], ANONYMOUS):
        assert _summary(portal_sessions, nobody, alpha) is None


@pytest.mark.parametrize(
    "value",
    ["", "abc", "0", "-1", "1.5", "1 OR 1=1", "1; DROP TABLE sales_orders", "\uff12", str(2**31), 0, -3,
     2**31, True, 1.0, None, [1], {"id": 1}],
)  # fmt: skip
def test_malformed_ids_are_not_found(value):
    assert parse_account_id(value) is None


def test_ids_parse_from_numbers_and_digit_strings():
    assert parse_account_id(7) == 7 and parse_account_id("7") == 7 and parse_account_id(" 42 ") == 42


def test_another_accounts_name_shows_only_where_that_account_is_visible(portal_sessions, store):
    alpha = store["ids"]["alpha"]
    as_admin = _summary(portal_sessions, store["admin"], alpha).master
    as_rep = _summary(portal_sessions, store["rep_a"], alpha).master
    assert (as_admin.invoice_account_number, as_admin.invoice_account_name) == ("US-200", "Bravo Marker Ltd")
    assert (as_rep.invoice_account_number, as_rep.invoice_account_name) == ("US-200", "")


# --- figures -------------------------------------------------------------------------------------------


def test_master_data_and_addresses(portal_sessions, store):
    summary = _summary(portal_sessions, store["rep_a"], store["ids"]["alpha"])
    master = summary.master
    assert (master.account_number, master.legal_entity_id, master.legal_entity_name) == (
        "US-100",
        "USMF",
        "Contoso USA",
    )
    assert (master.currency_code, master.price_list_code, master.price_list_name) == (
        "USD",
        "USD-RETAIL",
        "Retail USD",
    )
    assert master.credit_limit == Decimal("5000.00") and not master.on_hold and master.language_id == "en-us"
    assert [(a.description, a.is_primary) for a in summary.addresses] == [
        ("Main office", True),
        ("Warehouse", False),
    ]
    bravo = _summary(portal_sessions, store["admin"], store["ids"]["bravo"]).master
    assert bravo.on_hold and bravo.on_hold_status == "All"


def test_kpis_against_hand_computed_figures(portal_sessions, store):
    kpis = _summary(portal_sessions, store["rep_a"], store["ids"]["alpha"]).kpis
    # open: o1, o2, o7 (partially invoiced), o8 (EUR), o10 (old, still picked); o9 was rejected by the ERP
    assert kpis.open_orders == 5
    assert kpis.open_value == Decimal("100.00") + Decimal("200.50") + Decimal("70.00") + Decimal("25.00")
    assert kpis.open_value_other == {"EUR": Decimal("80.00")}
    # late: confirmed after requested (o2, o7); o10 was confirmed early, o1 is not confirmed
    assert kpis.late_orders == 2
    # the window: o4, o7, o8, o3, o1, o2 (o5 is a second too early, o6 canceled, o9 rejected, o10 old)
    assert kpis.orders_in_period == 6
    assert kpis.value_in_period == Decimal("1070.50")  # 400 + 70 + 300 + 100 + 200.50; o8 is in EUR


def test_month_buckets_and_statuses(portal_sessions, store):
    summary = _summary(portal_sessions, store["rep_a"], store["ids"]["alpha"])
    assert (summary.period_start, summary.period_end) == (date(2025, 12, 1), date(2026, 12, 1))
    expected = {
        date(2025, 12, 1): (1, "400.00"),  # o4 at midnight on the first day
        date(2026, 6, 1): (1, "70.00"),  # o7; o6 was canceled
        date(2026, 7, 1): (1, "0.00"),  # o8 counts, its EUR value does not
        date(2026, 10, 1): (1, "300.00"),
        date(2026, 11, 1): (2, "300.50"),  # o2 at 23:59:59 on the last day
    }
    months = [date(2025 + (11 + i) // 12, (11 + i) % 12 + 1, 1) for i in range(12)]
    assert summary.months == [
        MonthTotal(m, expected.get(m, (0, "0"))[0], Decimal(expected.get(m, (0, "0.00"))[1])) for m in months
    ]
    assert summary.statuses == [
        StatusCount("Active", 2),
        StatusCount("Confirmed", 1),
        StatusCount("Delivered", 1),
        StatusCount("PartiallyInvoiced", 1),
        StatusCount("Invoiced", 1),
        StatusCount("Canceled", 1),
    ]
    assert summary.other_currencies == ("EUR",)


def test_top_products(portal_sessions, store):
    products = _summary(portal_sessions, store["rep_a"], store["ids"]["alpha"]).top_products
    # P-9 only in canceled lines, a canceled order, a rejected order, or outside the window
    assert [(p.item_number, p.description, p.amount, p.quantities) for p in products] == [
        ("P-2", "Saw", Decimal("440.00"), ((Decimal(11), "ea"),)),
        ("P-3", "Hammer", Decimal("410.50"), ((Decimal(3), "box"),)),
        ("P-1", "Drill", Decimal("220.00"), ((Decimal(6), "ea"), (Decimal(1), "box"))),
        ("P-4", "Widget", Decimal("0.00"), ((Decimal(4), "ea"),)),  # ordered in EUR only
    ]


def test_chart_period_spans_twelve_calendar_months():
    assert chart_period(date(2026, 11, 21)) == (date(2025, 12, 1), date(2026, 12, 1))
    assert chart_period(date(2026, 12, 31)) == (date(2026, 1, 1), date(2027, 1, 1))
    assert chart_period(date(2027, 1, 1)) == (date(2026, 2, 1), date(2027, 2, 1))


def test_empty_account(portal_sessions, store):
    summary = _summary(portal_sessions, store["admin"], store["ids"]["cotton"])
    assert summary.kpis.open_orders == 0 and summary.kpis.open_value == Decimal("0.00")
    assert [m.orders for m in summary.months] == [0] * 12
    assert summary.statuses == [] and summary.top_products == [] and summary.contacts == []
    assert summary.addresses == [] and summary.master.credit_limit is None


def test_contacts_and_who_may_order(portal_sessions, store):
    contacts = _summary(portal_sessions, store["rep_a"], store["ids"]["alpha"]).contacts
    assert [(c.email, c.roles, c.may_order, c.reasons) for c in contacts] == [
        ("rep-a@example.com", ("customer_representative",), True, ()),
        ("ready-a@example.com", ("authorized_user",), True, ()),
        ("missing-a@example.com", ("authorized_user",), False, ("Missing: Price list, Currency",)),
        ("disabled-a@example.com", ("authorized_user",), False, ("Sign-in is disabled",)),
        ("norole-a@example.com", (), False, ("No web role that may order",)),
    ]
    assert contacts[2].missing == ("Price list", "Currency")


# --- the picker ----------------------------------------------------------------------------------------


def _numbers(portal_sessions, principal, search, limit=20):
    with session_scope(portal_sessions) as db:
        return [c.account_number for c in account_choices(db, principal, search, limit)]


def test_picker_search_escapes_like_wildcards(portal_sessions, store):
    admin = store["admin"]
    assert _numbers(portal_sessions, admin, "%") == ["US-300"]  # "100% Cotton" only
    assert _numbers(portal_sessions, admin, "_") == ["US-400"]  # "A_B Supplies", not "AXB Supplies"
    assert _numbers(portal_sessions, admin, "a_b") == ["US-400"]
    assert _numbers(portal_sessions, admin, "\\") == []
    assert _numbers(portal_sessions, admin, "' OR 1=1--") == []
    assert _numbers(portal_sessions, admin, "COTTON") == ["US-300"]  # case-insensitive
    assert _numbers(portal_sessions, admin, "supplies") == ["US-400", "US-500"]


def test_picker_exact_number_first_limit_and_scope(portal_sessions, store):
    admin = store["admin"]
    assert _numbers(portal_sessions, admin, "") == ["US-100", "US-200", "US-300", "US-400", "US-500"]
    assert _numbers(portal_sessions, admin, "", limit=2) == ["US-100", "US-200"]
    assert _numbers(portal_sessions, admin, "us-200")[0] == "US-200"
    assert _numbers(portal_sessions, admin, {"search": "x"}) == _numbers(portal_sessions, admin, "")
    assert _numbers(portal_sessions, store["rep_a"], "") == ["US-100"]
    assert _numbers(portal_sessions, store["rep_a"], "Bravo") == []
    assert _numbers(portal_sessions, store["rep_a"], "alpha") == ["US-100"]
    assert _numbers(portal_sessions, store["user_a"], "") == []
    assert _numbers(portal_sessions, ANONYMOUS, "Alpha") == []


# --- query plans ---------------------------------------------------------------------------------------


def test_summary_queries_search_indexes_on_sqlite(portal_db, portal_sessions, store):
    """No summary query reads all orders or all order lines: each reaches them through an index."""
    engine = portal_db
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for who in ("admin", "rep_a"):
            assert _summary(portal_sessions, store[who], store["ids"]["alpha"]) is not None
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    order_queries = [(s, p) for s, p in statements if "sales_order" in s]
    assert len(order_queries) == 6  # months, open orders, top products; for each principal
    with engine.connect() as conn:
        for statement, parameters in order_queries:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            assert not [step for step in plan if step.startswith(("SCAN sales_order", "SCAN o"))], plan
            assert any("USING" in step and "INDEX ix_sales_orders_account" in step for step in plan), plan
            if "sales_order_lines" in statement:
                # top products, with an order the ERP rejected in the window (o9): the window's order ids
                # from the index alone, the rejected ones from their partial index, no order row read
                assert any("COVERING INDEX ix_sales_orders_account_date" in step for step in plan), plan
                assert any("INDEX ix_sales_orders_account_rejected" in step for step in plan), plan


# --- the page over HTTP --------------------------------------------------------------------------------

SUMMARY_OUTPUT = "..account-summary.children...account-picker.hidden.."


@pytest.fixture(scope="module")
def clients(portal) -> dict[str, PortalClient]:
    """One signed-in client per role, on fresh contacts (representative and user of demo account US-001)."""
    signed_in = {"anonymous": PortalClient(portal)}
    for role in WebRole:
        client = PortalClient(portal)
        assert client.login(make_contact(portal, role), PASSWORD).status_code == 302
        signed_in[role.value] = client
    return signed_in


@pytest.fixture(scope="module")
def demo(portal) -> dict[str, Any]:
    with portal.server.extensions["portal.sessions"]() as db:
        rep1 = db.scalars(select(Contact).where(Contact.email == "rep1@portal.demo")).one()
        rep2 = db.scalars(select(Contact).where(Contact.email == "rep2@portal.demo")).one()
        own, other = (
            db.get(CustomerAccount, rep1.customer_account_id),
            db.get(CustomerAccount, rep2.customer_account_id),
        )
        start, end = chart_period(datetime.now(UTC).date())  # the page's window: today's
        in_period = db.scalar(
            select(func.count(SalesOrder.id)).where(
                SalesOrder.customer_account_id == own.id,
                SalesOrder.order_date >= datetime(start.year, start.month, 1),
                SalesOrder.order_date < datetime(end.year, end.month, 1),
                SalesOrder.processing_status != "Canceled",
                SalesOrder.sync_state != "rejected",
            )
        )
        other_emails = db.scalars(select(Contact.email).where(Contact.customer_account_id == other.id)).all()
        return {
            "own": own.id,
            "own_name": own.name,
            "own_number": own.account_number,
            "in_period": in_period,
            "other": other.id,
            "other_number": other.account_number,
            "markers": {f'"{other.name}"', *(f'"{e}"' for e in other_emails)},
            "missing": db.scalar(select(func.max(CustomerAccount.id))) + 1000,
        }


def _summary_call(client: PortalClient, requested):
    return client.callback(
        SUMMARY_OUTPUT,
        [{"id": "account-summary", "property": "children"}, {"id": "account-picker", "property": "hidden"}],
        [{"id": "account-requested", "property": "data", "value": requested}],
    )


def _matches_call(client: PortalClient, search):
    return client.callback(
        "account-matches.children",
        {"id": "account-matches", "property": "children"},
        [{"id": "account-search", "property": "value", "value": search}],
    )


def _find(tree: Any, id_: str) -> dict | None:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("props", {}).get("id") == id_:
                return node["props"]
            stack.extend(node.values())
    return None


def test_representative_sees_own_account_without_asking(clients, demo):
    response = _summary_call(clients["customer_representative"], None)
    assert response.status_code == 200
    body = response.get_json()["response"]
    assert body["account-picker"]["hidden"] is True
    text = json.dumps(body)
    assert demo["own_name"] in text and _find(body, "account-summary-" + str(demo["own"]))
    assert demo["in_period"] > 0
    assert _find(body, "kpi-orders-period")["children"] == f"{demo['in_period']:,}"
    assert not [m for m in demo["markers"] if m in text]


def test_representative_gets_not_found_for_another_account(clients, demo):
    rep = clients["customer_representative"]
    missing = _summary_call(rep, str(demo["missing"])).get_data(as_text=True)
    assert "Account not found" in missing
    for crafted in (
        demo["other"],
        str(demo["other"]),
        demo["other_number"],
        [demo["other"]],
        {"id": demo["other"]},
    ):
        response = _summary_call(rep, crafted)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert text == missing, crafted  # the same answer as for an account that does not exist
        assert not [m for m in demo["markers"] if m in text]
    assert "Account not found" not in _summary_call(rep, str(demo["own"])).get_data(as_text=True)


def test_administrator_picks_any_account(clients, demo):
    admin = clients["administrator"]
    prompt = _summary_call(admin, "").get_json()["response"]
    assert prompt["account-picker"]["hidden"] is False and _find(prompt, "account-choose")
    for account in (demo["own"], str(demo["other"])):
        body = _summary_call(admin, account).get_json()["response"]
        assert _find(body, f"account-summary-{account}")
    assert "Account not found" in _summary_call(admin, demo["missing"]).get_data(as_text=True)


def test_users_without_the_role_are_refused(clients, demo):
    for role, status in (("authorized_user", 403), ("anonymous", 401)):
        assert _summary_call(clients[role], demo["own"]).status_code == status
        assert _summary_call(clients[role], None).status_code == status
        assert _matches_call(clients[role], demo["own_number"]).status_code == status


def _text(response) -> str:
    return json.dumps(response.get_json(), ensure_ascii=False)  # "/" unescaped


def test_picker_matches_link_to_accounts_in_scope(clients, demo):
    found = _text(_matches_call(clients["administrator"], demo["other_number"]))
    assert f"/account?account={demo['other']}" in found
    rep = clients["customer_representative"]
    foreign = _text(_matches_call(rep, demo["other_number"]))
    assert "No account matches" in foreign and not [m for m in demo["markers"] if m in foreign]
    assert f"/account?account={demo['own']}" in _text(_matches_call(rep, demo["own_number"]))
    assert _matches_call(rep, "").get_json()["response"]["account-matches"]["children"] == []


def _route(client: PortalClient, search: str = ""):
    return client.callback(
        ".._pages_content.children..._pages_store.data..",
        [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        [
            {"id": "_pages_location", "property": "pathname", "value": "/account"},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
    )


def test_page_is_one_skeleton_and_keeps_the_query_argument_as_sent(clients):
    assert "sign-in-required" in _route(clients["anonymous"]).get_data(as_text=True)
    assert '"forbidden"' in _route(clients["authorized_user"]).get_data(as_text=True)
    pages = {
        role: _route(clients[role], "?account=12").get_json()
        for role in ("customer_representative", "administrator")
    }
    assert pages["customer_representative"] == pages["administrator"]
    body = pages["administrator"]["response"]["_pages_content"]["children"]
    assert _find(body, "account-requested")["data"] == "12"
    assert _find(body, "account-picker")["hidden"] is True  # shown by the callback, for administrators only
    assert pages["administrator"]["response"]["_pages_store"]["data"]["title"] == "Account summary"
