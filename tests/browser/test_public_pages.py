"""Public pages in real headless Chromium: they render, link up, and log no browser errors."""

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.browser


def test_home001_home_shows_company_and_notices(dash_duo, portal):
    dash_duo.start_server(portal, port=free_port())
    dash_duo.wait_for_contains_text("#home-notices", "Holiday shipping schedule", timeout=10)
    assert dash_duo.find_element("h1").text.startswith("Welcome to the Contoso")
    assert dash_duo.driver.find_element("css selector", "html").get_attribute("lang") == "en"
    nav = dash_duo.find_element("#shell-navbar").text
    assert "About us" in nav and "Terms" in nav
    assert dash_duo.get_logs() == []


def test_home002_public_pages_and_not_found(dash_duo, portal):
    dash_duo.start_server(portal, port=free_port())
    dash_duo.wait_for_element("#home-notices")
    dash_duo.find_element("#shell-navbar a[href='/terms']").click()
    dash_duo.wait_for_text_to_equal("h1", "Terms and conditions", timeout=10)
    dash_duo.find_element("#shell-navbar a[href='/about']").click()
    dash_duo.wait_for_contains_text("h1", "About Contoso", timeout=10)
    dash_duo.driver.get(f"{dash_duo.server_url}/no/such/page")
    dash_duo.wait_for_text_to_equal("h1", "Page not found", timeout=10)
    assert dash_duo.get_logs() == []
