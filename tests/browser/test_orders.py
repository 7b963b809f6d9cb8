"""The orders pages in headless Chromium, as a customer representative: the grid loads from the server,
sorts, filters by a status chip, opens an order and shows its timeline; stored markup stays text."""

import pytest
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from components.orders import portal_reference
from data.models import Contact, SalesOrder
from tests.portal_client import DEMO_PASSWORD
from tests.ports import free_port

pytestmark = pytest.mark.browser

ROWS = "#orders-grid .ag-row"  # the order column is pinned: rows span two containers


def sign_in(dash_duo, email: str, next_url: str, password: str = DEMO_PASSWORD) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next={next_url}")
    dash_duo.find_element("#email").send_keys(email)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("button[type=submit]").click()


def _cells(dash_duo, column: str) -> list[str]:
    return [
        e.text for e in dash_duo.find_elements(f"#orders-grid .ag-center-cols-container [col-id={column}]")
    ]


def _xss_order(portal) -> SalesOrder:
    """One of rep1's account orders, renamed to a markup payload (as a hostile ERP record would be)."""
    with portal.server.extensions["portal.sessions"]() as db:
        rep = db.scalars(select(Contact).where(Contact.email == "rep1@portal.demo")).one()
        order = db.scalars(
            select(SalesOrder)
            .where(
                SalesOrder.customer_account_id == rep.customer_account_id,
                SalesOrder.sales_order_number.is_not(None),  # found below by its ERP number
            )
            .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc())
        ).first()
        order.sales_order_name = '<img src=x onerror="window.__xss=1">Payload'
        db.commit()
        return order.id, order.sales_order_number


def test_ordr001_representative_sorts_filters_and_opens_an_order(dash_duo, portal):
    order_id, number = _xss_order(portal)
    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, "rep1@portal.demo", "/orders")
    dash_duo.wait_for_text_to_equal("#orders-title", "Company orders", timeout=15)
    dash_duo.wait_for_element(f"{ROWS} [col-id=order_number] a", timeout=15)
    assert "Placed by" in dash_duo.find_element("#orders-grid .ag-header").text
    # the grid's date-times come as the store's text (SQLite: "2026-11-19 23:55:46.000000") and show as
    # the typed value's ISO text does: in the reader's zone, not as raw text
    with portal.server.extensions["portal.sessions"]() as db:
        newest = db.scalar(
            select(SalesOrder.order_date)
            .join(Contact, Contact.customer_account_id == SalesOrder.customer_account_id)
            .where(Contact.email == "rep1@portal.demo")
            .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc())
            .limit(1)
        )
    shown = dash_duo.find_element(f"{ROWS}[row-index='0'] [col-id=order_date]").text
    expected = dash_duo.driver.execute_script(
        "return window.portalFormat.moment(arguments[0])", newest.isoformat()
    )
    assert shown == expected and str(newest.year) in shown and "T" not in shown and ":" in shown
    # search by order number (on the server): the one order, its markup payload shown as text
    dash_duo.find_element("#orders-text").send_keys(number, Keys.ENTER)
    dash_duo.wait_for_text_to_equal(
        f"{ROWS}[row-index='0'] [col-id=sales_order_name]",
        '<img src=x onerror="window.__xss=1">Payload',
        timeout=10,
    )
    dash_duo.wait_for_text_to_equal("#orders-message", "1 order", timeout=10)
    dash_duo.find_element("#orders-clear").click()
    dash_duo.wait_for_element(f"{ROWS}[row-index='5']", timeout=10)
    # sort by total, ascending, on the server
    dash_duo.find_element("#orders-grid .ag-header-cell[col-id=total] .ag-header-cell-label").click()
    dash_duo.wait_for_element("#orders-grid .ag-header-cell[col-id=total][aria-sort=ascending]", timeout=10)
    dash_duo._wait_for_callbacks()
    with portal.server.extensions["portal.sessions"]() as db:
        rep = db.scalars(select(Contact).where(Contact.email == "rep1@portal.demo")).one()
        smallest_number, key, smallest_id = db.execute(
            select(SalesOrder.sales_order_number, SalesOrder.portal_order_id, SalesOrder.id)
            .where(SalesOrder.customer_account_id == rep.customer_account_id)
            .order_by(SalesOrder.total_amount, SalesOrder.id)
        ).first()
        smallest = smallest_number or f"Portal {portal_reference(key, smallest_id)}"  # as the grid shows it
    dash_duo.wait_for_text_to_equal(f"{ROWS}[row-index='0'] [col-id=order_number]", smallest, timeout=10)
    # filter with a status chip: every row then has that status
    dash_duo.wait_for_contains_text("#orders-status", "Invoiced", timeout=10)
    chip = next(e for e in dash_duo.find_elements("#orders-status label") if e.text.startswith("Invoiced"))
    chip.click()
    dash_duo.wait_for_text_to_equal(f"{ROWS}[row-index='0'] [col-id=status]", "Invoiced", timeout=10)
    statuses = set(_cells(dash_duo, "status"))
    assert statuses == {"Invoiced"}
    assert "/export/orders.csv?status=Invoiced" in dash_duo.find_element("#orders-export-csv").get_attribute(
        "href"
    )
    # keyboard: Enter on a focused cell opens that row's order
    first = dash_duo.find_element(f"{ROWS}[row-index='0'] [col-id=status]")
    first.click()
    first.send_keys(Keys.ENTER)
    dash_duo.wait_for_element("#order-detail h1", timeout=15)
    assert "/orders/" in dash_duo.driver.current_url
    # open an order: header, lines and timeline
    dash_duo.driver.get(f"{dash_duo.server_url}/orders/{order_id}")
    dash_duo.wait_for_text_to_equal("#order-detail h1", f"Order {number}", timeout=15)
    dash_duo.wait_for_element("#order-timeline li", timeout=10)
    assert "Accepted by the ERP" in dash_duo.find_element("#order-sync-state").text
    assert dash_duo.find_elements("#order-lines tbody tr")
    assert "Payload" in dash_duo.find_element("#order-detail").text
    assert dash_duo.driver.execute_script("return window.__xss === undefined")
    # an order of another company looks exactly like a missing one
    with portal.server.extensions["portal.sessions"]() as db:
        foreign = db.scalar(
            select(SalesOrder.id).where(SalesOrder.customer_account_id != rep.customer_account_id).limit(1)
        )
    dash_duo.driver.get(f"{dash_duo.server_url}/orders/{foreign}")
    dash_duo.wait_for_text_to_equal("#order-not-found h1", "Order not found", timeout=15)
    assert dash_duo.get_logs() == []
