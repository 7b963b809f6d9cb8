"""The Sync health page in headless Chromium, as an administrator: state, charts and runs load, pausing
asks for confirmation and shows the banner, resuming clears it; no console errors."""

import pytest

from tests.browser.test_orders import sign_in
from tests.ports import free_port

pytestmark = pytest.mark.browser


def test_sync001_admin_pauses_and_resumes(dash_duo, portal):
    dash_duo.start_server(portal, port=free_port())
    sign_in(dash_duo, "admin@portal.demo", "/sync")
    dash_duo.wait_for_element("#sync-state-badge", timeout=15)
    dash_duo.wait_for_element("#sync-chart-outbox", timeout=10)
    dash_duo.wait_for_element("#sync-runs-table", timeout=10)
    dash_duo.find_element("#sync-pause").click()
    dash_duo.wait_for_contains_text("#sync-confirm-body", "Pause the sync", timeout=10)
    dash_duo.find_element("#sync-confirm-yes").click()
    dash_duo.wait_for_text_to_equal("#sync-state-badge", "Paused", timeout=10)
    dash_duo.wait_for_element("#sync-pause-banner", timeout=10)
    dash_duo.find_element("#sync-resume").click()
    dash_duo.wait_for_contains_text("#sync-confirm-body", "Resume the sync", timeout=10)
    dash_duo.find_element("#sync-confirm-yes").click()
    dash_duo.wait_for_contains_text("#sync-feedback", "Sync resumed", timeout=10)
    assert dash_duo.find_element("#sync-state-badge").text != "Paused"
    assert dash_duo.get_logs() == []
