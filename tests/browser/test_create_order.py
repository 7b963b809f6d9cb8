"""The create-order wizard in headless Chromium: errors next to their fields, an item chosen with the
keyboard, CSV lines, a reload that keeps the draft, review and one submitted order."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from data.models import Contact, OutboxEntry, Product, SalesOrder, WebRole
from tests.browser.test_orders import sign_in
from tests.factories import PASSWORD, make_contact
from tests.ports import free_port

pytestmark = pytest.mark.browser


def _ready_user(portal) -> str:
    with portal.server.extensions["portal.sessions"]() as db:
        model = db.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        fields = {
            "price_list_code": model.price_list_code,
            "currency_code": model.currency_code,
            "ship_to_country_region_id": model.ship_to_country_region_id,
        }
    return make_contact(portal, WebRole.AUTHORIZED_USER, **fields)


def _items(portal) -> tuple[str, str]:
    with portal.server.extensions["portal.sessions"]() as db:
        tv, speaker = db.scalars(
            select(Product.item_number)
            .where(
                Product.legal_entity_id == "USMF",
                Product.lifecycle_state == "Active",
                Product.default_sales_unit == "ea",
            )
            .order_by(Product.item_number)
            .limit(2)
        ).all()
    return tv, speaker


def _text(dash_duo, selector: str) -> str:
    return dash_duo.find_element(selector).text


def test_wzrd001_whole_wizard_with_its_error_states(dash_duo, portal):
    email = _ready_user(portal)
    first, second = _items(portal)
    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, email, "/create-order", PASSWORD)
    dash_duo.wait_for_element("#wizard-autofill details, #wizard-autofill", timeout=15)
    dash_duo.wait_for_contains_text("#wizard-autofill", "US-001", timeout=15)
    assert dash_duo.find_element("#wizard-receipt-date").get_attribute("value")  # next working day
    # step 1: no address chosen -> the message is under the address field
    dash_duo.find_element("#wizard-next-1").click()
    dash_duo.wait_for_contains_text("#wizard-address-feedback", "Choose a delivery address", timeout=10)
    Select(dash_duo.find_element("#wizard-address")).select_by_index(1)  # 0 is the placeholder
    dash_duo.find_element("#wizard-reference").send_keys('<img src=x onerror="window.__xss=1">PO-77')
    dash_duo.find_element("#wizard-next-1").click()
    dash_duo.wait_for_element("#wizard-step-2:not([hidden])", timeout=10)
    # step 2: nothing added yet
    dash_duo.find_element("#wizard-next-2").click()
    dash_duo.wait_for_contains_text("#wizard-lines-message", "Add at least one item", timeout=10)
    # the item dialog, with the keyboard: type, Enter picks the product, a wrong quantity is named
    dash_duo.find_element("#wizard-add-item").click()
    dash_duo.find_element("#wizard-item-product").click()
    search = dash_duo.wait_for_element(".dash-dropdown-search", timeout=10)
    search.send_keys(first)
    dash_duo.wait_for_contains_text(".dash-dropdown-options", first, timeout=10)
    search.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-item-price", "per ea", timeout=10)
    quantity = dash_duo.find_element("#wizard-item-quantity")
    quantity.send_keys("1.5", Keys.TAB)
    dash_duo.wait_for_contains_text("#wizard-item-quantity-feedback", "whole numbers", timeout=10)
    quantity.clear()
    quantity.send_keys("2", Keys.TAB)
    dash_duo.wait_for_contains_text("#wizard-item-price", "line amount", timeout=10)
    dash_duo.find_element("#wizard-item-save").send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-item-lines", first, timeout=10)
    # paste CSV: one good row, one bad
    dash_duo.find_element("#wizard-step-2 details summary").click()
    dash_duo.find_element("#wizard-csv-text").send_keys(f"{second},3\nNOPE,1")
    dash_duo.find_element("#wizard-csv-add").send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-csv-results", "1 of 2 row(s) added", timeout=10)
    dash_duo.wait_for_contains_text("#wizard-item-lines", second, timeout=10)
    assert "NOPE is not a product you can order" in _text(dash_duo, "#wizard-csv-results")
    # a reload keeps everything typed: the reference and both lines
    dash_duo.driver.refresh()
    dash_duo.wait_for_contains_text("#wizard-autofill", "US-001", timeout=15)
    assert dash_duo.find_element("#wizard-reference").get_attribute("value").endswith("PO-77")
    dash_duo.find_element("#wizard-next-1").send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-item-lines", second, timeout=10)
    assert first in _text(dash_duo, "#wizard-item-lines")
    # review: every field, markup as text; then submit once (a second click changes nothing)
    dash_duo.find_element("#wizard-next-2").send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-review", "Invoice customer", timeout=10)
    review = _text(dash_duo, "#wizard-review")
    for label in (
        "Company",
        "Currency",
        "Price list",
        "Language",
        "Contact person",
        "Ship-to country/region",
    ):
        assert label in review
    assert '<img src=x onerror="window.__xss=1">PO-77' in review
    dash_duo.find_element("#wizard-submit").send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#wizard-confirmation", "waiting for ERP confirmation", timeout=15)
    reference = _text(dash_duo, "#wizard-reference-number")
    assert dash_duo.driver.execute_script("return window.__xss") is None
    with portal.server.extensions["portal.sessions"]() as db:
        contact_id = db.scalars(select(Contact.id).where(Contact.email == email)).one()
        orders = db.scalars(select(SalesOrder).where(SalesOrder.placed_by_contact_id == contact_id)).all()
        assert len(orders) == 1 and orders[0].portal_order_id.startswith(reference)
        assert [line.item_number for line in orders[0].lines] == [first, second]
        assert db.scalar(select(func.count()).where(OutboxEntry.entity_id == orders[0].id)) == 1
    # the order is in the grid at once, waiting for the ERP
    dash_duo.driver.find_element(By.LINK_TEXT, "Go to orders").click()
    dash_duo.wait_for_contains_text("#orders-grid", f"Portal {reference}", timeout=15)
    assert dash_duo.get_logs() == []


def test_wzrd002_a_contact_that_is_not_ready_is_told_why(dash_duo, portal):
    email = make_contact(portal, WebRole.AUTHORIZED_USER)
    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, email, "/create-order", PASSWORD)
    dash_duo.wait_for_contains_text("#wizard-ready", "You cannot place orders yet", timeout=15)
    assert "price list, currency and ship-to country/region" in _text(dash_duo, "#wizard-ready")
    assert not dash_duo.find_element("#wizard-form").is_displayed()
    assert dash_duo.get_logs() == []
