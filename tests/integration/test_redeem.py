"""The invitation link: set a password, be signed in; used links, weak passwords and typos refused."""

from __future__ import annotations

import re

from sqlalchemy import select

from data.db import session_scope
from data.invitations import create_invitation
from data.models import Contact, WebRole
from tests.factories import make_contact
from tests.integration.test_auth import nav_text
from tests.portal_client import PortalClient

NEW_PASSWORD = "orange tractor sings loudly"


def _invite(portal, email: str) -> str:
    with session_scope(portal.server.extensions["portal.sessions"]) as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        contact.password_hash = None
        contact.roles.clear()
        _, code = create_invitation(
            db, contact_id=contact.id, roles=[WebRole.CUSTOMER_REPRESENTATIVE], invited_by_contact_id=None
        )
    return code


def _form_token(client: PortalClient, code: str) -> str:
    page = client.http.get(f"/redeem?code={code}").get_data(as_text=True)
    assert "Set password and sign in" in page
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _redeem(client: PortalClient, code: str, password: str, confirm: str | None = None):
    token = _form_token(client, code)
    data = {"code": code, "password": password, "confirm": password if confirm is None else confirm}
    return client.http.post("/redeem", data={**data, "csrf_token": token})


def test_redeem_sets_password_signs_in_and_is_single_use(portal):
    email = make_contact(portal)
    code = _invite(portal, email)
    client = PortalClient(portal)

    typo = _redeem(client, code, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert "The two passwords are not the same." in typo.get_data(as_text=True)
    weak = _redeem(client, code, "password1234")
    assert "too common" in weak.get_data(as_text=True)

    done = _redeem(client, code, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    client.http.get("/")
    assert "Test Person" in nav_text(client) and "Customer representative" in nav_text(client)

    again = _redeem(PortalClient(portal), code, NEW_PASSWORD)
    assert "not valid any more" in again.get_data(as_text=True)
    client.logout()
    assert client.login(email, NEW_PASSWORD).status_code == 302


def test_unknown_code_gets_the_generic_refusal(portal):
    response = _redeem(PortalClient(portal), "not-a-real-code", NEW_PASSWORD)
    assert response.status_code == 200
    assert "not valid any more" in response.get_data(as_text=True)
