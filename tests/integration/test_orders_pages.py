"""The orders pages and exports through HTTP, as each role: what comes back is the caller's scope only."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from components.orders import portal_reference
from data.models import Contact, CustomerAccount, SalesOrder
from tests.integration.test_authorization import SIGN_INS, _callbacks, _outputs, _request
from tests.portal_client import PortalClient, signed_in


def _client(portal, email: str | None) -> PortalClient:
    return signed_in(portal, email) if email else PortalClient(portal)


def _scope_numbers(portal, email: str, pending=None) -> set[tuple[str, str]]:
    """(customer, order number) of the orders the contact may see, computed without data/orders.py;
    an order the ERP has not numbered yet shows `pending` (by default the grid's portal reference)."""
    with portal.server.extensions["portal.sessions"]() as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        stmt = select(
            SalesOrder.ordering_customer_account_number,
            SalesOrder.sales_order_number,
            SalesOrder.portal_order_id,
            SalesOrder.id,
        )
        if "administrator" in {r.role for r in contact.roles}:
            pass
        elif "customer_representative" in {r.role for r in contact.roles}:
            stmt = stmt.where(SalesOrder.customer_account_id == contact.customer_account_id)
        else:
            stmt = stmt.where(SalesOrder.placed_by_contact_id == contact.id)
        return {
            (
                customer,
                number or (f"Portal {portal_reference(key, order_id)}" if pending is None else pending),
            )
            for customer, number, key, order_id in db.execute(stmt)
        }


def _grid_rows(client, portal, params=None, sort=None, start=0, end=1000) -> list[dict]:
    dep = _callbacks(portal)["pages.orders.update_orders_rows"]
    inputs = [{**dep["inputs"][0], "value": {"startRow": start, "endRow": end, "sortModel": sort or []}}]
    state = [{**dep["state"][0], "value": params or {}}, {**dep["state"][1], "value": {}}]
    response = client.callback(dep["output"], _outputs(dep), inputs, state)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]["orders-grid"]["getRowsResponse"]["rowData"]


@pytest.mark.parametrize("role", ["authorized_user", "customer_representative", "administrator"])
def test_grid_rows_are_the_roles_scope(portal, role):
    email = SIGN_INS[role]
    client = _client(portal, email)
    rows = _grid_rows(client, portal, end=500)
    expected = _scope_numbers(portal, email)
    got = {(r["customer"].split(" · ")[0], r["order"]) for r in rows}
    assert got == expected and expected
    header_names = {r.get("placed_by") is not None for r in rows}
    assert header_names == {True}


def test_representative_filters_with_another_accounts_ids_get_nothing(portal):
    client = _client(portal, "rep1@portal.demo")
    with portal.server.extensions["portal.sessions"]() as db:
        rep2 = db.scalars(select(Contact).where(Contact.email == "rep2@portal.demo")).one()
    assert _grid_rows(client, portal, {"customer": rep2.customer_account_id}) == []
    assert _grid_rows(client, portal, {"placed_by": rep2.id}) == []
    # a text filter with SQL in it is just text
    assert _grid_rows(client, portal, {"text": "' OR 1=1 --"}) == []


def test_grid_sort_and_deep_page_from_http(portal):
    client = _client(portal, "admin@portal.demo")
    everything = _grid_rows(client, portal, sort=[{"colId": "total", "sort": "asc"}], end=500)
    totals = [float(r["total"]) for r in everything]
    assert totals == sorted(totals)
    middle = _grid_rows(client, portal, sort=[{"colId": "total", "sort": "asc"}], start=150, end=200)
    assert [r["id"] for r in middle] == [r["id"] for r in everything[150:200]]


def test_order_detail_scope(portal):
    dep = _callbacks(portal)["pages.order_detail.update_order_detail"]
    with portal.server.extensions["portal.sessions"]() as db:
        rep = db.scalars(select(Contact).where(Contact.email == "rep1@portal.demo")).one()
        own = db.scalars(
            select(SalesOrder).where(SalesOrder.customer_account_id == rep.customer_account_id)
        ).first()
        foreign = db.scalars(
            select(SalesOrder).where(SalesOrder.customer_account_id != rep.customer_account_id)
        ).first()
        foreign_name = db.get(CustomerAccount, foreign.customer_account_id).name
    client = _client(portal, "rep1@portal.demo")
    seen = _request(client, dep, str(own.id)).get_data(as_text=True)
    assert own.sales_order_number in seen and "order-timeline" in seen and "order-lines" in seen
    for value in (str(foreign.id), "999999999", "1; DROP TABLE sales_orders", None):
        text = _request(client, dep, value).get_data(as_text=True)
        assert "order-not-found" in text
        assert foreign.sales_order_number not in text and foreign_name not in text
    assert _request(_client(portal, None), dep, str(own.id)).status_code == 401


def test_router_shows_order_pages_only_to_signed_in_people(portal):
    anonymous = _client(portal, None)
    assert "sign-in-required" in anonymous.route("/orders").get_data(as_text=True)
    assert "sign-in-required" in anonymous.route("/orders/1").get_data(as_text=True)
    assert anonymous.http.get("/orders").status_code == 302
    user = _client(portal, "user1a@portal.demo")
    assert "orders-grid" in user.route("/orders").get_data(as_text=True)


@pytest.mark.parametrize("role", ["authorized_user", "customer_representative", "administrator"])
def test_exports_are_scoped_like_the_grid(portal, role):
    email = SIGN_INS[role]
    client = _client(portal, email)
    expected = _scope_numbers(portal, email, pending="")
    response = client.http.get("/export/orders.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {(r["Customer"], r["Sales order number"]) for r in rows} == expected
    response = client.http.get("/export/orders.xlsx?sort=-total")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    values = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    header = values[0]
    got = {
        (row[header.index("Customer")], row[header.index("Sales order number")] or "") for row in values[1:]
    }
    assert got == expected
    totals = [row[header.index("Total")] for row in values[1:]]
    assert totals == sorted(totals, reverse=True)


def test_export_refuses_anonymous_and_names_bad_dates(portal):
    assert _client(portal, None).http.get("/export/orders.csv").status_code == 302
    client = _client(portal, "rep1@portal.demo")
    response = client.http.get("/export/orders.csv?ordered_from=yesterday")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.get_data(as_text=True)
    with portal.server.extensions["portal.sessions"]() as db:
        rep2 = db.scalars(select(Contact).where(Contact.email == "rep2@portal.demo")).one()
    text = client.http.get(f"/export/orders.csv?customer={rep2.customer_account_id}").get_data(as_text=True)
    assert text.strip().count("\n") == 0  # the header only


def test_filter_form_names_the_field_with_a_bad_date(portal):
    client = _client(portal, "rep1@portal.demo")
    dep = _callbacks(portal)["pages.orders.update_orders_query"]
    values = {
        "orders-status": ["Invoiced"],
        "orders-text": "",
        "orders-ordered-from": "2026-13-40",
        "orders-ordered-to": "",
        "orders-receipt-from": "2026-03-02",
        "orders-receipt-to": "2026-03-01",
        "orders-customer": None,
        "orders-placed-by": "",
    }
    inputs = [{**i, "value": values[i["id"]]} for i in dep["inputs"]]
    body = client.callback(dep["output"], _outputs(dep), inputs).get_json()["response"]
    assert body["orders-query"]["data"] == {"status": ["Invoiced"]}  # the usable filters still apply
    assert body["orders-ordered-from"]["invalid"] is True
    assert body["orders-ordered-from-feedback"]["children"] == "Enter a date as YYYY-MM-DD."
    assert body["orders-receipt-to-feedback"]["children"] == "The end date is before the start date."
    assert body["orders-ordered-to"]["invalid"] is False
    assert "status=Invoiced" in body["orders-export-csv"]["href"]


def test_home_tiles_name_the_orders_page_by_role(portal):
    dep = _callbacks(portal)["pages.home.update_home_tiles"]
    for email, title in (
        ("user1a@portal.demo", "My orders"),
        ("rep1@portal.demo", "Company orders"),
        ("admin@portal.demo", "All orders"),
    ):
        text = json.dumps(_request(_client(portal, email), dep).get_json())
        assert title in text and '"href": "/orders"' in text


def test_customer_filter_searches_accounts_and_keeps_the_chosen_one(portal):
    dep = _callbacks(portal)["pages.orders.update_customer_options"]
    with portal.server.extensions["portal.sessions"]() as db:
        chosen = db.scalars(select(CustomerAccount).where(CustomerAccount.account_number == "DE-001")).first()

    def options(email, search, value=None):
        inputs = [{**dep["inputs"][0], "value": search}]
        state = [{**dep["state"][0], "value": value}]
        response = _client(portal, email).callback(dep["output"], _outputs(dep), inputs, state)
        return response.get_json()["response"]["orders-customer"]["options"]

    found = options("admin@portal.demo", "us-00")
    assert found and all("US-00" in o["label"] for o in found)
    kept = options("admin@portal.demo", "us-00", chosen.id)
    assert kept[0]["value"] == chosen.id and "DE-001" in kept[0]["label"]
    assert options("rep1@portal.demo", "") == []  # only administrators choose a customer
