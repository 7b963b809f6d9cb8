"""Administration in headless Chromium: list, edit, a new contact with a field error, then the whole
invitation path: invite, sign out, redeem as the invitee, see only what the role allows, sign out."""

import uuid

import pytest
from selenium.webdriver.support.select import Select

from tests.factories import PASSWORD, make_contact
from tests.ports import free_port

pytestmark = pytest.mark.browser


def sign_in(dash_duo, email: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next=/admin/contacts")
    dash_duo.find_element("#email").send_keys(email)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("button[type=submit]").click()


def test_admn001_create_invite_redeem_and_sign_in(dash_duo, portal):
    from data.models import WebRole

    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, make_contact(portal, WebRole.ADMINISTRATOR))
    dash_duo.wait_for_contains_text("#admin-contacts-grid", "Missing: Company, Customer account", timeout=15)
    dash_duo.find_element("#admin-contacts-search").send_keys("rep1@portal")
    dash_duo.wait_for_contains_text("#admin-contacts-grid", "Morgan Reed", timeout=10)
    assert "Ready" in dash_duo.find_element("#admin-contacts-grid").text
    dash_duo.find_element("#admin-contacts-grid .ag-row [col-id=name]").click()
    dash_duo.wait_for_text_to_equal(".offcanvas-title", "Edit Morgan Reed", timeout=10)
    assert dash_duo.find_element("#admin-contact-email").get_attribute("value") == "rep1@portal.demo"
    assert dash_duo.find_element("#admin-contact-account-number").get_attribute("value") == "US-001"
    dash_duo.find_element(".offcanvas .btn-close").click()

    dash_duo.wait_for_no_elements(".offcanvas.show", timeout=10)
    dash_duo.find_element("#admin-contacts-new").click()
    dash_duo.wait_for_text_to_equal(".offcanvas-title", "New contact", timeout=10)
    email = f"browser-{uuid.uuid4().hex[:6]}@example.com"
    dash_duo.find_element("#admin-contact-email").send_keys(email)
    dash_duo.find_element("#admin-contact-first-name").send_keys("Robin")
    dash_duo.find_element("#admin-contact-last-name").send_keys("Browser")
    dash_duo.find_element("#admin-contact-save").click()
    dash_duo.wait_for_text_to_equal(
        "#admin-contact-legal-entity-id-feedback", "Choose the company.", timeout=10
    )
    assert dash_duo.find_element("#admin-contact-email").get_attribute("value") == email  # nothing lost

    Select(dash_duo.find_element("#admin-contact-legal-entity-id")).select_by_value("USMF")
    dash_duo.wait_for_contains_text("#admin-contact-account-number", "US-001", timeout=10)
    Select(dash_duo.find_element("#admin-contact-account-number")).select_by_value("US-001")
    dash_duo.find_element("#admin-contact-save").click()
    dash_duo.wait_for_contains_text("#admin-contact-status", "Saved Robin Browser", timeout=10)
    dash_duo.wait_for_text_to_equal("#admin-contact-invite", "Invite", timeout=10)
    dash_duo.find_element("#admin-contact-invite").click()
    dash_duo.wait_for_contains_text("#admin-contact-invite-result", "outbox", timeout=10)
    link = dash_duo.find_element("#admin-contact-invite-link").get_attribute("value")
    assert "/redeem?code=" in link
    dash_duo.find_element(".offcanvas .btn-close").click()
    dash_duo.wait_for_no_elements(".offcanvas.show", timeout=10)
    dash_duo.find_element("#sign-out").click()
    dash_duo.wait_for_element("#sign-in", timeout=10)

    # the invitee follows the link, chooses a password and is signed in with the invited role
    dash_duo.driver.get(link)
    dash_duo.find_element("#password").send_keys("seven green kites over the harbour")
    dash_duo.find_element("#confirm").send_keys("seven green kites over the harbour")
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_contains_text("#signed-in-as", "Robin Browser", timeout=15)
    assert "Authorized user" in dash_duo.find_element("#signed-in-as").text
    assert "Contacts" not in dash_duo.find_element("#shell-navbar").text
    dash_duo.driver.get(f"{dash_duo.server_url}/admin/contacts")
    dash_duo.wait_for_text_to_equal("h1", "You don't have access to this page", timeout=10)
    dash_duo.find_element("#sign-out").click()
    dash_duo.wait_for_element("#sign-in", timeout=10)
    dash_duo.driver.get(f"{dash_duo.server_url}/admin/contacts")
    dash_duo.wait_for_element("#email", timeout=10)  # redirected to the sign-in form
    assert dash_duo.get_logs() == []


def test_admn002_invitations_page_filters_by_status(dash_duo, portal):
    from data.models import WebRole

    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, make_contact(portal, WebRole.ADMINISTRATOR))
    dash_duo.wait_for_element("#admin-contacts-grid", timeout=15)
    dash_duo.find_element("#shell-navbar a[href='/admin/invitations']").click()
    dash_duo.wait_for_text_to_equal("h1", "Invitations", timeout=10)
    dash_duo.wait_for_element(
        "#admin-invitations-outbox p, #admin-invitations-outbox .list-group", timeout=10
    )
    Select(dash_duo.find_element("#admin-invitations-status")).select_by_value("redeemed")
    dash_duo.wait_for_element("#admin-invitations-table p, #admin-invitations-table table", timeout=10)
    assert dash_duo.get_logs() == []
