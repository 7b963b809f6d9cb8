"""The account summary's pure components: charts with accessible names and their numbers, empty states,
who may order, the picker's results."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dash import dcc, html

import components.account as ui
from data.accounts import (
    AccountChoice,
    AccountContact,
    AccountMaster,
    AccountSummary,
    Address,
    Kpis,
    MonthTotal,
    ProductTotal,
    StatusCount,
)

XSS = "<img src=x onerror=alert(1)>"


def _walk(component):
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif node is not None and not isinstance(node, str | int | float):
            yield node
            stack.append(getattr(node, "children", None))


def _texts(component) -> list[str]:
    found = []
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif node is not None:
            stack.append(getattr(node, "children", None))
    return found


def _summary(orders: bool = True) -> AccountSummary:
    months = [MonthTotal(date(2025 + (11 + i) // 12, (11 + i) % 12 + 1, 1), 0, Decimal(0)) for i in range(12)]
    if orders:
        months[-1] = MonthTotal(date(2026, 11, 1), 3, Decimal("120.50"))
    return AccountSummary(
        master=AccountMaster(
            id=7,
            account_number="US-007",
            name=XSS,
            legal_entity_id="USMF",
            legal_entity_name="Contoso USA",
            currency_code="USD",
            language_id="en-us",
            price_list_code="RETAIL",
            price_list_name="Retail",
            credit_limit=Decimal("1000.00"),
            on_hold_status="All",
            on_hold=True,
            invoice_account_number="US-007",
            invoice_account_name=XSS,
            customer_group="10",
            country_region_id="USA",
        ),
        addresses=[Address(XSS, "1 Main St", "Springfield", "12345", "USA", True)],
        kpis=Kpis(3, Decimal("120.50"), {"EUR": Decimal("9.00")}, 1, 3, Decimal("120.50")),
        period_start=date(2025, 12, 1),
        period_end=date(2026, 12, 1),
        months=months,
        statuses=[StatusCount("Active", 2), StatusCount("PartiallyDelivered", 1)] if orders else [],
        top_products=[ProductTotal("P-1", XSS, Decimal("100.00"), ((Decimal(2), "ea"),))] if orders else [],
        other_currencies=("EUR",) if orders else (),
        contacts=[
            AccountContact(1, XSS, "a@example.com", ("customer_representative",), True, (), ()),
            AccountContact(
                2,
                "Bo",
                "b@example.com",
                ("authorized_user",),
                False,
                ("Price list", "Currency"),
                ("Sign-in is disabled", "Missing: Price list, Currency"),
            ),
        ],
    )


def test_charts_have_an_accessible_name_a_title_and_their_numbers():
    view = ui.summary_view(_summary())
    figures = [node for node in _walk(view) if isinstance(node, html.Figure)]
    assert len(figures) == 3
    for figure in figures:
        graph = next(node for node in _walk(figure) if isinstance(node, dcc.Graph))
        name = figure.to_plotly_json()["props"]["aria-label"]
        assert graph.config["displaylogo"] is False
        assert graph.figure["layout"]["title"]["text"] == name
        assert any(isinstance(node, html.Figcaption) for node in _walk(figure))
        assert any(type(node).__name__ == "Table" for node in _walk(figure))
    texts = _texts(view)
    assert "Orders per month" in {f.to_plotly_json()["props"]["aria-label"] for f in figures}
    assert ". Busiest month: November 2026 with 3 orders." in texts
    assert "Of the last 12 months' orders: Active 2; Partially delivered 1." in texts


def test_user_text_stays_text():
    texts = _texts(ui.summary_view(_summary()))
    assert texts.count(XSS) >= 4  # account name, address, contact name, in plain string children only


def test_empty_states_instead_of_charts():
    view = ui.summary_view(_summary(orders=False))
    assert not [node for node in _walk(view) if isinstance(node, dcc.Graph)]
    texts = _texts(view)
    assert texts.count(ui.NO_ORDERS) == 2 and ui.NO_PRODUCTS in texts


def test_on_hold_and_credit_and_other_currencies_are_said():
    texts = _texts(ui.summary_view(_summary()))
    assert any(t.startswith("This account is on hold (All)") for t in texts)
    assert "Open orders are 12 % of it." in texts
    assert any("orders in EUR are counted but their values are left out" in t for t in texts)


def test_who_may_order():
    contacts = _summary().contacts
    assert ui.may_order_text(contacts[0]) == "Yes"
    assert ui.may_order_text(contacts[1]) == "No — sign-in is disabled; missing: Price list, Currency"
    assert "This account has no contacts in the portal yet." in _texts(ui.contacts_table([]))


def test_picker_results():
    assert ui.account_matches([], "") == []
    assert _texts(ui.account_matches([], "zz")) == ["No account matches “zz”."]
    found = ui.account_matches([AccountChoice(5, "USMF", "US-005", "Five")], "five")
    links = [node.href for node in _walk(found) if getattr(node, "href", None)]
    assert links == ["/account?account=5"]


def test_page_skeleton_differs_only_in_the_kept_query_argument():
    first, second = ui.account_page(""), ui.account_page("12")
    assert str(first).replace("data=''", "") == str(second).replace("data='12'", "")
    picker = next(node for node in _walk(first) if getattr(node, "id", None) == ui.ACCOUNT_PICKER)
    assert picker.hidden is True
