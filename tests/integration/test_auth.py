"""Sign-in, sessions, the request guard, CSRF and errors (QUALITY.md S3, S5, S6, S11, S12, S15-S17)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.models import Contact, ContactRole, WebRole
from pages._guard import PUBLIC_CALLBACKS
from tests.factories import PASSWORD, make_contact
from tests.portal_client import PortalClient


def update_contact(portal, email: str, **values) -> None:
    with session_scope(portal.server.extensions["portal.sessions"]) as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        for key, value in values.items():
            setattr(contact, key, value)


def nav_text(client: PortalClient) -> str:
    response = client.callback(
        "shell-nav.children",
        {"id": "shell-nav", "property": "children"},
        [{"id": "_pages_location", "property": "pathname", "value": "/"}],
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_sign_in_and_out(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    assert "Sign in" in nav_text(client)
    response = client.login(email, PASSWORD, next_url="/about")
    assert response.status_code == 302 and response.headers["Location"] == "/about"
    assert "Test Person" in nav_text(client) and "Authorized user" in nav_text(client)
    assert client.logout().status_code == 302
    assert "Test Person" not in nav_text(client)


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_must_be_a_local_path(portal, target):
    email = make_contact(portal)
    response = PortalClient(portal).login(email, PASSWORD, next_url=target)
    assert response.headers["Location"] == "/"


def _without_token(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_unknown_and_known_emails_get_identical_answers(portal):
    email = make_contact(portal)
    known = PortalClient(portal).login(email, "wrong password here")
    unknown = PortalClient(portal).login("nobody-" + email, "wrong password here")
    assert known.status_code == unknown.status_code == 200
    known_text = _without_token(known.get_data(as_text=True)).replace(email, "E")
    unknown_text = _without_token(unknown.get_data(as_text=True)).replace("nobody-" + email, "E")
    assert known_text == unknown_text
    assert "is not right" in known_text


def test_disabled_and_roleless_contacts_cannot_sign_in(portal):
    disabled = make_contact(portal, is_enabled=False)
    assert "is not right" in PortalClient(portal).login(disabled, PASSWORD).get_data(as_text=True)


def test_session_cookie_flags_and_new_session_on_sign_in(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    before = client.http.get_cookie("session")
    response = client.http.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": client.login_form_token()}
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert before is None or before.value != client.http.get_cookie("session").value

    https = portal.server.test_client()
    page = https.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = https.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},  # over HTTPS, CSRF also checks the referrer
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_session_fixation_refused(portal):
    """A session cookie planted before sign-in never becomes a signed-in session."""
    email = make_contact(portal)
    victim = PortalClient(portal)
    planted = victim.http.get_cookie("session").value
    victim.login(email, PASSWORD)
    assert victim.http.get_cookie("session").value != planted
    attacker = PortalClient(portal)
    attacker.use_session_cookie(planted)
    assert "Test Person" not in nav_text(attacker)


def test_cookie_replayed_after_logout_is_refused(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    client.login(email, PASSWORD)
    stolen = client.http.get_cookie("session").value
    client.logout()
    replay = PortalClient(portal)
    replay.use_session_cookie(stolen)
    assert "Test Person" not in nav_text(replay)


def test_disabling_or_changing_roles_applies_on_the_next_request(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    client.login(email, PASSWORD)
    assert "Authorized user" in nav_text(client)
    update_contact(portal, email, is_enabled=False)
    assert "Test Person" not in nav_text(client)

    email = make_contact(portal)
    client = PortalClient(portal)
    client.login(email, PASSWORD)
    with session_scope(portal.server.extensions["portal.sessions"]) as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        contact.roles = [ContactRole(role=WebRole.CUSTOMER_REPRESENTATIVE)]
        contact.session_version += 1  # what every role change does (data/contacts.set_roles)
    assert "Test Person" not in nav_text(client)  # signed out; signs in again with the new roles
    client.login(email, PASSWORD)
    assert "Customer representative" in nav_text(client)


def test_anonymous_callbacks_other_than_public_get_401(portal):
    client = PortalClient(portal)
    outputs = [d["output"] for d in client.dependencies() if not d.get("clientside_function")]
    private = [o for o in outputs if o not in PUBLIC_CALLBACKS]
    for output in private:
        response = client.callback(output, {"id": "x", "property": "children"}, [])
        assert response.status_code == 401, output


def test_csrf_and_content_type_are_enforced(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    assert client.http.post("/login", data={"email": email, "password": PASSWORD}).status_code == 400
    client.login(email, PASSWORD)
    body = {"output": "home-notices.children", "outputs": {"id": "home-notices", "property": "children"}}
    assert client.http.post("/_dash-update-component", json=body).status_code == 400  # no X-CSRFToken
    form = client.http.post("/_dash-update-component", data="a=b", headers={"X-CSRFToken": client.csrf_token})
    assert form.status_code == 415
    assert client.http.post("/logout").status_code == 400  # cross-site sign-out refused too


def test_oversized_requests_are_refused(portal):
    client = PortalClient(portal)
    huge = {"output": "home-notices.children", "pad": "x" * (6 * 1024 * 1024)}
    response = client.http.post(
        "/_dash-update-component", json=huge, headers={"X-CSRFToken": client.csrf_token}
    )
    assert response.status_code == 413


def test_errors_show_an_id_not_a_traceback(portal, caplog):
    email = make_contact(portal)
    client = PortalClient(portal)
    client.login(email, PASSWORD)
    response = client.callback("no-such-thing.children", {"id": "no-such-thing", "property": "children"}, [])
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    error_id = re.search(r"Error id: ([0-9a-f]{12})", text).group(1)
    assert "Traceback" not in text and "KeyError" not in text
    assert error_id in caplog.text


def test_pages_by_role(portal):
    anonymous = PortalClient(portal)
    assert anonymous.http.get("/about").status_code == 200
    assert "Page not found" in anonymous.route("/nowhere").get_data(as_text=True)
    for path in [p for p in _protected_paths()]:
        redirect = anonymous.http.get(path)
        assert redirect.status_code == 302 and redirect.headers["Location"] == f"/login?next={path}"
        assert "Please sign in" in anonymous.route(path).get_data(as_text=True)


def _protected_paths() -> list[str]:
    import dash

    return [p["path"] for p in dash.page_registry.values() if not p.get("public") and "<" not in p["path"]]


def _tiles(client: PortalClient) -> str:
    response = client.callback(
        "home-tiles.children",
        {"id": "home-tiles", "property": "children"},
        [{"id": "home-tiles", "property": "id", "value": "home-tiles"}],
    )
    assert response.status_code == 200
    return json.dumps(response.get_json())  # plain slashes (the response escapes them)


def test_home_tiles_only_for_roles_that_may_use_them(portal):
    anonymous = _tiles(PortalClient(portal))
    for title in ("Contacts and invitations", "Create order", "Orders", "Account", "Sync health"):
        assert title not in anonymous
    for role in (WebRole.AUTHORIZED_USER, WebRole.CUSTOMER_REPRESENTATIVE):
        client = PortalClient(portal)
        client.login(make_contact(portal, role), PASSWORD)
        tiles = _tiles(client)
        assert "Contacts and invitations" not in tiles and "Sync health" not in tiles
        assert "Create order" in tiles and "/create-order" in tiles
        assert ("/account" in tiles) == (role is WebRole.CUSTOMER_REPRESENTATIVE)
    admin = PortalClient(portal)
    admin.login(make_contact(portal, WebRole.ADMINISTRATOR), PASSWORD)
    tiles = _tiles(admin)
    assert "Contacts and invitations" in tiles and "/admin/contacts" in tiles
    assert "Sync health" in tiles and '"/sync"' in tiles and "Create order" in tiles
