"""The administration pages over HTTP: contacts (list, create, edit, invite, revoke) and invitations.

Callbacks are called as the browser calls them: JSON to /_dash-update-component with the CSRF header, the
exact outputs from /_dash-dependencies, and the triggering input in changedPropIds.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.invitations import invitation_status
from data.models import Contact, Invitation, WebRole
from tests.factories import PASSWORD, make_contact
from tests.portal_client import PortalClient

ADMIN_PAGES = ("admin-contact", "admin-invitations", "admin-outbox")


class AdminClient(PortalClient):
    """PortalClient plus calls by output id that fill every input and state from /_dash-dependencies."""

    def __init__(self, portal, address: str) -> None:
        super().__init__(portal)
        self.http.environ_base["REMOTE_ADDR"] = address  # its own sign-in throttling bucket
        self.deps = {d["output"]: d for d in self.dependencies()}

    def find(self, first_output: str) -> dict:
        for output, dep in self.deps.items():
            head = output.strip(".").split("...")[0].split("@")[0]
            if head == first_output:
                return dep
        raise KeyError(first_output)

    def call(self, first_output: str, values: dict[str, Any] | None = None, trigger: str | None = None):
        """Call the callback whose first output is `first_output` ("id.prop"); values by "id.prop"."""
        values = values or {}
        dep = self.find(first_output)
        outputs = [
            {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
            for part in dep["output"].strip(".").split("...")
        ]

        def filled(items):
            return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

        inputs = filled(dep["inputs"])
        body = {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "state": filled(dep["state"]),
            "changedPropIds": [trigger or f"{inputs[0]['id']}.{inputs[0]['property']}"],
        }
        return self.http.post("/_dash-update-component", json=body, headers={"X-CSRFToken": self.csrf_token})

    def ok(self, first_output: str, values=None, trigger=None) -> dict[str, dict[str, Any]]:
        response = self.call(first_output, values, trigger)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {
            k: {p.split("@")[0]: v for p, v in props.items()}
            for k, props in response.get_json()["response"].items()
        }


def component(tree: Any, id_: str | None = None, type_: str | None = None) -> dict:
    """The first component (as JSON) in `tree` with this id or type."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict) and "props" in node:
            if (id_ and node["props"].get("id") == id_) or (type_ and node.get("type") == type_):
                return node["props"]
            stack.append(node["props"].get("children"))
    raise LookupError(id_ or type_)


def form_values(**fields) -> dict[str, Any]:
    names = {
        "email": "admin-contact-email.value",
        "first_name": "admin-contact-first-name.value",
        "last_name": "admin-contact-last-name.value",
        "company": "admin-contact-legal-entity-id.value",
        "account": "admin-contact-account-number.value",
        "roles": "admin-contact-roles.value",
        "enabled": "admin-contact-enabled.value",
        "contact_id": "admin-contact-id.data",
    }
    defaults = {"roles": ["authorized_user"], "enabled": True, "contact_id": None}
    return {names[k]: v for k, v in {**defaults, **fields}.items()}


@pytest.fixture(scope="module")
def clients(portal):
    signed_in = {}
    for number, role in enumerate(WebRole, start=1):
        client = AdminClient(portal, f"10.20.0.{number}")
        assert client.login(make_contact(portal, role), PASSWORD).status_code == 302
        signed_in[role] = client
    return signed_in


@pytest.fixture
def admin(clients) -> AdminClient:
    return clients[WebRole.ADMINISTRATOR]


@pytest.fixture(autouse=True)
def local_outbox(monkeypatch):
    for name in ("SMTP_HOST", "MAIL_OUTBOX_DIR"):
        monkeypatch.delenv(name, raising=False)


def db(portal):
    return session_scope(portal.server.extensions["portal.sessions"])


def test_admin_lists_contacts_with_readiness_and_search(admin):
    rows = admin.ok("admin-contacts-grid.rowData", {"admin-contacts-search.value": ""})
    rows = rows["admin-contacts-grid"]["rowData"]
    by_email = {row["email"]: row for row in rows}
    assert by_email["rep1@portal.demo"]["readiness"] == "Ready"
    assert by_email["rep1@portal.demo"]["account"].startswith("US-001 · ")
    assert by_email["admin@portal.demo"]["readiness"].startswith("Missing: Company, Customer account")
    found = admin.ok("admin-contacts-grid.rowData", {"admin-contacts-search.value": "rep1@portal"})
    assert [row["email"] for row in found["admin-contacts-grid"]["rowData"]] == ["rep1@portal.demo"]


def test_admin_choices_follow_the_company(admin):
    choices = admin.ok("admin-contact-legal-entity-id.options")
    companies = [o["value"] for o in choices["admin-contact-legal-entity-id"]["options"]]
    assert companies == ["", "DEMF", "GBSI", "USMF"]
    accounts = admin.ok(
        "admin-contact-account-number.options", {"admin-contact-legal-entity-id.value": "DEMF"}
    )
    numbers = [o["value"] for o in accounts["admin-contact-account-number"]["options"]]
    assert "DE-001" in numbers and "US-001" not in numbers
    assert [o["value"] for o in accounts["admin-contact-price-list-code"]["options"]] == ["", "EUR-STD"]
    assert "value" not in accounts["admin-contact-account-number"]  # nothing chosen, nothing to clear

    # moving a contact of US-001 to another company clears the account that no longer fits
    moved = admin.ok(
        "admin-contact-account-number.options",
        {
            "admin-contact-legal-entity-id.value": "DEMF",
            "admin-contact-account-number.value": "US-001",
            "admin-contact-price-list-code.value": "EUR-STD",
        },
    )
    assert moved["admin-contact-account-number"]["value"] == ""
    assert "value" not in moved["admin-contact-price-list-code"]  # a DEMF price list stays chosen


def test_errors_appear_next_to_their_fields_and_nothing_typed_is_lost(portal, admin):
    values = form_values(email="not an address", first_name="Kim", last_name="Lee", company="", account="")
    response = admin.ok("admin-contact-email.invalid", values, trigger="admin-contact-save.n_clicks")
    assert response["admin-contact-email"] == {"invalid": True}
    assert response["admin-contact-email-feedback"]["children"].startswith("Enter a valid e-mail address")
    assert response["admin-contact-legal-entity-id-feedback"]["children"] == "Choose the company."
    assert response["admin-contact-first-name"] == {"invalid": False}
    assert not any("value" in props for props in response.values())  # the typed values stay as they are
    with db(portal) as s:
        assert s.scalar(select(func.count()).where(Contact.first_name == "Kim")) == 0


def test_admin_creates_invites_resends_and_revokes(portal, admin):
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    values = form_values(email=email, first_name="Nia", last_name="Okafor", company="USMF", account="US-001")
    saved = admin.ok("admin-contact-email.invalid", values, trigger="admin-contact-save.n_clicks")
    contact_id = saved["admin-contact-id"]["data"]
    assert "Saved Nia Okafor" in str(saved["admin-contact-status"])
    with db(portal) as s:
        contact = s.get(Contact, contact_id)
        assert (contact.email, contact.origin, contact.web_roles) == (
            email,
            "portal",
            {WebRole.AUTHORIZED_USER},
        )
        assert (
            contact.price_list_code and contact.currency_code == "USD" and contact.ship_to_country_region_id
        )

    opened = admin.ok(
        "admin-contact-panel.is_open",
        {"admin-contacts-grid.selectedRows": [{"id": contact_id}], "admin-contact-panel.is_open": False},
        trigger="admin-contacts-grid.selectedRows",
    )
    assert opened["admin-contact-panel"]["is_open"] and opened["admin-contact-email"]["value"] == email
    assert opened["admin-contact-roles"]["value"] == ["authorized_user"]

    invite = {"admin-contact-id.data": contact_id, "admin-contact-roles.value": ["authorized_user"]}
    result = admin.ok("admin-contact-invite-result.children", invite, trigger="admin-contact-invite.n_clicks")
    alert = result["admin-contact-invite-result"]["children"]
    link = component(alert, "admin-contact-invite-link")["value"]
    assert link.startswith("http://localhost/redeem?code=") and "demo outbox" in str(alert)
    outbox = portal.server.config["PORTAL_SETTINGS"].data_dir / "outbox"
    assert any(link in eml.read_text() for eml in outbox.glob("*.eml"))
    controls = admin.ok("admin-contact-invitation.children", {"admin-contact-id.data": contact_id})
    assert controls["admin-contact-invite"]["children"] == "Resend invitation"
    assert controls["admin-contact-revoke"]["disabled"] is False

    admin.ok(
        "admin-contact-invite-result.children", invite, trigger="admin-contact-invite.n_clicks"
    )  # resend
    with db(portal) as s:
        statuses = sorted(
            invitation_status(i) for i in s.scalars(select(Invitation).filter_by(contact_id=contact_id))
        )
    assert statuses == ["revoked", "sent"]

    revoke = {"admin-contact-id.data": contact_id}
    asked = admin.ok("admin-contact-revoke-modal.is_open", revoke, trigger="admin-contact-revoke.n_clicks")
    assert asked["admin-contact-revoke-modal"]["is_open"] is True  # only asks; nothing revoked yet
    done = admin.ok(
        "admin-contact-revoke-modal.is_open", revoke, trigger="admin-contact-revoke-modal-confirm.n_clicks"
    )
    assert "revoked" in str(done["admin-contact-invite-result"])
    with db(portal) as s:
        statuses = [
            invitation_status(i) for i in s.scalars(select(Invitation).filter_by(contact_id=contact_id))
        ]
    assert statuses == ["revoked", "revoked"]

    listing = admin.ok("admin-invitations-table.children", {"admin-invitations-status.value": "revoked"})
    rows = component(listing["admin-invitations-table"]["children"], type_="Tbody")["children"]
    assert {row["props"]["children"][2]["props"]["children"] for row in rows} == {"Revoked"}
    assert email in str(rows)
    sent = admin.ok("admin-invitations-table.children", {"admin-invitations-status.value": "sent"})
    assert email not in str(sent)
    assert link in str(admin.ok("admin-invitations-outbox.children"))


def test_disabling_asks_first_and_signs_the_person_out(portal, admin):
    email = make_contact(portal, WebRole.AUTHORIZED_USER)
    with db(portal) as s:
        contact = s.scalars(select(Contact).filter_by(email=email)).one()
        contact_id, version = contact.id, contact.session_version
    values = form_values(
        email=email, first_name="Test", last_name="x", company="USMF", account="US-001", enabled=False
    )
    values["admin-contact-id.data"] = contact_id
    asked = admin.ok("admin-contact-email.invalid", values, trigger="admin-contact-save.n_clicks")
    assert asked["admin-contact-disable-modal"]["is_open"] is True
    with db(portal) as s:
        assert s.get(Contact, contact_id).is_enabled
    admin.ok("admin-contact-email.invalid", values, trigger="admin-contact-disable-modal-confirm.n_clicks")
    with db(portal) as s:
        contact = s.get(Contact, contact_id)
        assert not contact.is_enabled and contact.session_version > version


def test_unknown_contact_id_is_refused_politely(admin):
    response = admin.ok(
        "admin-contact-panel.is_open",
        {"admin-contacts-grid.selectedRows": [{"id": 99_999_999}]},
        trigger="admin-contacts-grid.selectedRows",
    )
    assert "does not exist" in str(response["admin-contact-status"])


def _admin_outputs(client: AdminClient) -> list[str]:
    return [
        output.strip(".").split("...")[0].split("@")[0]
        for output in client.deps
        if output.strip(".").startswith(ADMIN_PAGES)
    ]


def _written(portal) -> tuple[int, int, int, int]:
    outbox = portal.server.config["PORTAL_SETTINGS"].data_dir / "outbox"
    with db(portal) as s:
        return (
            s.scalar(select(func.count(Contact.id))),
            s.scalar(select(func.count(Invitation.id))),
            s.scalar(select(func.sum(Contact.session_version))),
            len(list(outbox.glob("*.eml"))) if outbox.exists() else 0,
        )


@pytest.mark.parametrize("role", [WebRole.CUSTOMER_REPRESENTATIVE, WebRole.AUTHORIZED_USER])
def test_other_roles_get_403_from_every_admin_callback_and_write_nothing(portal, clients, role):
    client = clients[role]
    outputs = _admin_outputs(client)
    assert len(outputs) >= 10
    target = make_contact(portal, WebRole.AUTHORIZED_USER)
    with db(portal) as s:
        target_id = s.scalars(select(Contact.id).filter_by(email=target)).one()
    values = form_values(email=f"x-{uuid.uuid4().hex[:6]}@example.com", first_name="A", last_name="B")
    values.update(
        {"admin-contact-id.data": target_id, "admin-contacts-grid.selectedRows": [{"id": target_id}]}
    )
    before = _written(portal)
    for output in outputs:
        dep = client.find(output)
        for trigger in [f"{i['id']}.{i['property']}" for i in dep["inputs"]]:
            response = client.call(output, values, trigger)
            assert response.status_code == 403, (output, trigger)
    assert _written(portal) == before


def test_anonymous_gets_401_from_every_admin_callback(portal, clients):
    anonymous = AdminClient(portal, "10.20.0.99")
    for output in _admin_outputs(anonymous):
        assert anonymous.call(output, {}).status_code == 401, output


def test_pages_are_for_administrators_only(clients):
    for path, heading in (
        ("/admin/contacts", "Contacts and invitations"),
        ("/admin/invitations", "Invitations"),
    ):
        assert heading in clients[WebRole.ADMINISTRATOR].route(path).get_data(as_text=True)
        for role in (WebRole.CUSTOMER_REPRESENTATIVE, WebRole.AUTHORIZED_USER):
            assert "You don't have access" in clients[role].route(path).get_data(as_text=True)


def test_invitation_links_use_the_configured_public_address(portal, admin, monkeypatch):
    """With PUBLIC_URL set, a forged Host header cannot shape the link in the e-mail."""
    settings = portal.server.config["PORTAL_SETTINGS"]
    monkeypatch.setitem(
        portal.server.config,
        "PORTAL_SETTINGS",
        dataclasses.replace(settings, public_url="https://portal.example"),
    )
    email = f"pub-{uuid.uuid4().hex[:8]}@example.com"
    values = form_values(email=email, first_name="Ola", last_name="Host", company="USMF", account="US-001")
    saved = admin.ok("admin-contact-email.invalid", values, trigger="admin-contact-save.n_clicks")
    invite = {
        "admin-contact-id.data": saved["admin-contact-id"]["data"],
        "admin-contact-roles.value": ["authorized_user"],
    }
    admin.http.environ_base["HTTP_HOST"] = "evil.example"
    try:
        result = admin.ok(
            "admin-contact-invite-result.children", invite, trigger="admin-contact-invite.n_clicks"
        )
    finally:
        del admin.http.environ_base["HTTP_HOST"]
    link = component(result["admin-contact-invite-result"]["children"], "admin-contact-invite-link")["value"]
    assert link.startswith("https://portal.example/redeem?code=")
