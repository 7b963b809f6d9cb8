"""The assembled portal over HTTP: shell, public pages, the home callback, demo sign-ins."""

import os
import subprocess
import sys

from sqlalchemy import func, select

from data.demo import DEMO_SIGN_INS
from data.models import Contact, Notice, SalesOrder, WebRole
from data.passwords import verify_password
from tests.portal_client import PortalClient


def test_index_has_language_and_local_assets(portal):
    response = portal.server.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "bootstrap.min.css" in html
    assert "cdn." not in html and "https://" not in html.split("<body>")[0]


def test_home_notices_callback_lists_public_notices(portal):
    response = PortalClient(portal).callback(
        "home-notices.children",
        {"id": "home-notices", "property": "children"},
        [{"id": "home-notices", "property": "id", "value": "home-notices"}],
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Holiday shipping schedule" in text
    with portal.server.extensions["portal.sessions"]() as session:
        assert session.scalar(select(func.count(Notice.id))) == 2


def test_unknown_path_routes_to_not_found_page(portal):
    response = PortalClient(portal).route("/no/such/page")
    assert response.status_code == 200
    assert "Page not found" in response.get_data(as_text=True)


def test_demo_sign_ins_have_roles_passwords_and_orders(portal):
    with portal.server.extensions["portal.sessions"]() as session:
        for demo in DEMO_SIGN_INS:
            contact = session.scalars(select(Contact).where(Contact.email == demo.email)).one()
            assert contact.web_roles == {demo.role}
            assert contact.password_hash.startswith("$argon2id$")
            assert verify_password(contact.password_hash, "demo-password-1")
            assert not verify_password(contact.password_hash, "wrong-password-1")
            if demo.role is WebRole.AUTHORIZED_USER:
                own = session.scalar(
                    select(func.count(SalesOrder.id)).where(SalesOrder.placed_by_contact_id == contact.id)
                )
                assert own >= 10
            if demo.role is not WebRole.ADMINISTRATOR:
                assert f"{contact.legal_entity_id} / {contact.account.account_number}" == demo.account


def test_server_attribute_is_lazy_and_serves(tmp_path):
    """Importing app builds nothing; `app:server` (what gunicorn loads) builds and migrates the portal."""
    script = (
        "import app, flask\n"
        "assert 'server' not in vars(app)\n"
        "assert not (__import__('pathlib').Path(app.os.environ['DATA_DIR']) / 'portal.sqlite').exists()\n"
        "server = app.server\n"
        "assert isinstance(server, flask.Flask)\n"
        "print(server.test_client().get('/').status_code)\n"
    )
    env = {**os.environ, "DATA_DIR": str(tmp_path), "ERP_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"
    assert (tmp_path / "portal.sqlite").exists()


def test_behind_a_trusted_proxy_cookies_are_marked_secure(tmp_path):
    script = (
        "import app\n"
        "server = app.create_app().server\n"
        "client = server.test_client()\n"
        "r = client.get('/login', headers={'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.9'})\n"
        "print([c for c in r.headers.getlist('Set-Cookie') if c.startswith('session=')][0])\n"
    )
    env = {**os.environ, "DATA_DIR": str(tmp_path), "ERP_URL": "http://127.0.0.1:9", "TRUSTED_PROXIES": "1"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Secure" in done.stdout and "HttpOnly" in done.stdout


def test_times_are_shown_in_the_readers_time_zone(portal):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from components.admin import when
    from pages._shell import user_zone

    winter_noon = datetime(2026, 1, 15, 12, 0)  # stored as naive UTC
    for cookie, expected in [
        ("tz=Europe/Berlin", ZoneInfo("Europe/Berlin")),
        ("tz=America%2FNew_York", ZoneInfo("America/New_York")),
        ("tz=../../etc/passwd", UTC),
        ("tz=Not/AZone", UTC),
        ("", UTC),
    ]:
        with portal.server.test_request_context(headers={"Cookie": cookie} if cookie else {}):
            assert user_zone() == expected, cookie
    assert when(winter_noon, zone=ZoneInfo("Europe/Berlin")) == "2026-01-15 13:00 CET"
    assert when(winter_noon, zone=ZoneInfo("America/New_York")) == "2026-01-15 07:00 EST"
    assert when(winter_noon) == "2026-01-15 12:00 UTC"
    assert when(None, "Never") == "Never"
