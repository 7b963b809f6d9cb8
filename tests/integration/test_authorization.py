"""Every callback is a public endpoint (QUALITY.md S1-S4): the authorisation matrix holds for every
callback and role, and crafted requests carrying another tenant's ids never return that tenant's data."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from data.access import principal_for, visible_orders
from data.models import Contact, CustomerAccount, Invitation, SalesOrder
from tests.authorization_matrix import MATRIX, ROLES
from tests.portal_client import PortalClient, signed_in

SIGN_INS = {
    "authorized_user": "user1a@portal.demo",
    "customer_representative": "rep1@portal.demo",
    "administrator": "admin@portal.demo",
}


def _callbacks(portal) -> dict[str, dict]:
    """Qualified function name -> its /_dash-dependencies entry (server-side callbacks only)."""
    client = PortalClient(portal)
    deps = {d["output"]: d for d in client.dependencies() if not d.get("clientside_function")}
    found = {}
    for output, entry in portal.callback_map.items():
        function = entry.get("callback")
        if output in deps and function is not None:
            found[f"{function.__module__}.{function.__name__}"] = deps[output]
    return found


def _outputs(dep: dict):
    specs = [
        {"id": part.split(".")[0], "property": part.split(".")[1].split("@")[0]}
        for part in dep["output"].strip(".").split("...")
    ]
    return specs if dep["output"].startswith("..") else specs[0]


def _request(client: PortalClient, dep: dict, value=None, search: str = ""):
    def slot(item):
        if item["property"] == "pathname":
            return {**item, "value": value if isinstance(value, str) else "/"}
        if item["property"] == "search":
            return {**item, "value": search}
        return {**item, "value": value}

    inputs = [slot(i) for i in dep["inputs"]]
    state = [slot(s) for s in dep["state"]]
    return client.callback(dep["output"], _outputs(dep), inputs, state)


def _client(portal, role: str) -> PortalClient:
    return PortalClient(portal) if role == "anonymous" else signed_in(portal, SIGN_INS[role])


def test_matrix_covers_every_callback(portal):
    names = set(_callbacks(portal))
    assert names - set(MATRIX) == set(), "callbacks missing from tests/authorization_matrix.py"
    assert set(MATRIX) - names == set(), "the matrix names callbacks the app does not have"
    assert all(set(roles) == set(ROLES) for roles in MATRIX.values())


@pytest.mark.parametrize("role", ROLES)
def test_matrix_holds_for_every_role(portal, role):
    client = _client(portal, role)
    for name, dep in _callbacks(portal).items():
        expected = MATRIX[name][role]
        status = _request(client, dep).status_code
        if expected == "denied":
            assert status == (401 if role == "anonymous" else 403), (name, role, status)
        else:
            assert status in (200, 204), (name, role, status)


def _foreign(portal, email: str, whole_account: bool) -> dict:
    """Ids to send and marker strings that must not come back: another company's (whole_account) or
    another user's of the same company (their e-mail and their orders' numbers)."""
    with portal.server.extensions["portal.sessions"]() as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        account = db.get(CustomerAccount, contact.customer_account_id)
        placed = select(SalesOrder).where(SalesOrder.placed_by_contact_id == contact.id)
        orders = db.scalars(placed.limit(20)).all()
        invitation = db.scalar(select(Invitation.id).limit(1)) or 1
        ids = [contact.id, orders[0].id, orders[0].sales_order_number, invitation]
        markers = {f'"{contact.email}"', *(f'"{o.sales_order_number}"' for o in orders)}
        if whole_account:
            ids += [account.id, account.account_number]
            others = db.scalars(select(Contact.email).where(Contact.customer_account_id == account.id)).all()
            markers |= {f'"{account.name}"', *(f'"{e}"' for e in others)}
        return {"ids": ids, "markers": markers}


def _visible_numbers(portal, email: str) -> set[str]:
    with portal.server.extensions["portal.sessions"]() as db:
        principal = principal_for(db.scalars(select(Contact).where(Contact.email == email)).one())
        numbers = db.scalars(visible_orders(principal).with_only_columns(SalesOrder.sales_order_number))
        return {f'"{n}"' for n in numbers}


@pytest.mark.parametrize(
    ("signer", "foreign", "whole_account"),
    [
        ("user1a@portal.demo", "user1b@portal.demo", False),  # another user of the same company
        ("user1a@portal.demo", "rep2@portal.demo", True),  # another company
        ("rep1@portal.demo", "rep2@portal.demo", True),
        ("user2a@portal.demo", "user1b@portal.demo", True),
        ("rep2@portal.demo", "rep1@portal.demo", True),
    ],
)
def test_crafted_requests_never_return_another_tenants_data(portal, signer, foreign, whole_account):
    client = signed_in(portal, signer)
    other = _foreign(portal, foreign, whole_account)
    # order numbers are unique per legal entity only: the signer's own SO-0000124 in another company is not
    # the other tenant's
    other["markers"] -= _visible_numbers(portal, signer)
    values = list(
        itertools.chain.from_iterable(
            (i, str(i), [i], {"id": i, "contact_id": i}, [{"id": i, "contact_id": i}]) for i in other["ids"]
        )
    )
    for name, dep in _callbacks(portal).items():
        for value in values:
            response = _request(client, dep, value)
            assert response.status_code in (200, 204, 400, 403), (name, value, response.status_code)
            text = response.get_data(as_text=True)
            # a search box may say back what was typed into it; anything else of the other tenant is a leak
            echo = json.dumps(value) if isinstance(value, str) else None
            leaked = [m for m in other["markers"] if m in text and m != echo]
            assert not leaked, (name, value, leaked)


def test_probe_markers_do_show_up_where_they_are_allowed(portal):
    """A positive control for the probe: the administrator does see the other tenant's contacts."""
    client = _client(portal, "administrator")
    dep = _callbacks(portal)["pages.admin_contacts.update_contacts_grid"]
    other = _foreign(portal, "rep2@portal.demo", whole_account=True)
    response = _request(client, dep, "rep2@portal.demo")
    assert response.status_code == 200
    assert any(m in response.get_data(as_text=True) for m in other["markers"])
