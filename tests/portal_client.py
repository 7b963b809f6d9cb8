"""A browser-like test client for the portal: CSRF cookie and header, sign-in, callbacks."""

from __future__ import annotations

import itertools
import re
from typing import Any

from flask.testing import FlaskClient

DEMO_PASSWORD = "demo-password-1"
_addresses = itertools.count(1)


class PortalClient:
    def __init__(self, dash_app) -> None:
        self.app = dash_app
        self.http: FlaskClient = dash_app.server.test_client()
        # each client is its own browser on its own address, so sign-in throttling per address
        # counts this client's attempts only
        n = next(_addresses)
        self.http.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        self.http.get("/")  # sets the _csrf_token cookie, as a first page load does

    @property
    def csrf_token(self) -> str:
        cookie = self.http.get_cookie("_csrf_token")
        return cookie.value if cookie else ""

    def login_form_token(self) -> str:
        page = self.http.get("/login").get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, email: str, password: str = DEMO_PASSWORD, next_url: str = ""):
        token = self.login_form_token()
        url = f"/login?next={next_url}" if next_url else "/login"
        response = self.http.post(url, data={"email": email, "password": password, "csrf_token": token})
        self.http.get("/")  # a fresh CSRF cookie for the new session
        return response

    def logout(self):
        response = self.http.post("/logout", data={"csrf_token": self.csrf_token})
        self.http.get("/")
        return response

    def use_session_cookie(self, value: str) -> None:
        """Replay a session cookie (as an attacker would), then load a page for its CSRF cookie."""
        self.http.set_cookie("session", value)
        self.http.get("/")

    def callback(self, output: str, outputs: Any, inputs: list[dict], state: list[dict] | None = None):
        body = {
            "output": output,
            "outputs": outputs,
            "inputs": inputs,
            "changedPropIds": [],
            "state": state or [],
        }
        return self.http.post("/_dash-update-component", json=body, headers={"X-CSRFToken": self.csrf_token})

    def route(self, pathname: str):
        """What the page area shows for `pathname` (the Pages router callback)."""
        return self.callback(
            ".._pages_content.children..._pages_store.data..",
            [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            [
                {"id": "_pages_location", "property": "pathname", "value": pathname},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
        )

    def dependencies(self) -> list[dict]:
        return self.http.get("/_dash-dependencies").get_json()


_signed_in: dict[tuple[int, str], PortalClient] = {}


def signed_in(dash_app, email: str) -> PortalClient:
    """A client signed in as a demo person, shared by the tests of a session: signing the same person in
    for every test would trip the per-account throttle (which has its own tests). Tests that sign out,
    or change a person, use their own contacts (tests/factories.py)."""
    key = (id(dash_app), email)
    if key not in _signed_in:
        client = PortalClient(dash_app)
        response = client.login(email)
        assert response.status_code == 302, (email, response.status_code)
        _signed_in[key] = client
    return _signed_in[key]
