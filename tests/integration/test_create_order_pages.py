"""The create-order wizard's callbacks through HTTP (QUALITY S7, S14): crafted requests are refused with
nothing written, a double submit places one order, and each step's answer is the caller's own scope."""

from __future__ import annotations

from sqlalchemy import func, select

from data.models import Contact, OutboxEntry, Product, SalesOrder, WebRole
from data.order_entry import new_key, next_working_day
from tests.factories import PASSWORD, make_contact
from tests.integration.test_authorization import _callbacks, _outputs
from tests.portal_client import PortalClient, signed_in

SUBMIT = "pages.create_order.submit_order"


def _call(client, portal, name: str, values: dict | None = None):
    """Post to the callback `name`, each input and state slot filled from `values` ("id.property")."""
    dep = _callbacks(portal)[name]
    values = values or {}

    def slot(item):
        return {**item, "value": values.get(f"{item['id']}.{item['property']}")}

    response = client.callback(
        dep["output"], _outputs(dep), [slot(i) for i in dep["inputs"]], [slot(s) for s in dep["state"]]
    )
    return response


def _db(portal):
    return portal.server.extensions["portal.sessions"]()


def _ready_fields(portal) -> dict:
    with _db(portal) as db:
        rep = db.scalars(select(Contact).where(Contact.email == "user1a@portal.demo")).one()
        return {
            "price_list_code": rep.price_list_code,
            "currency_code": rep.currency_code,
            "ship_to_country_region_id": rep.ship_to_country_region_id,
        }


def _signed_in_new(portal, role=WebRole.AUTHORIZED_USER, ready=True) -> tuple[PortalClient, str]:
    email = make_contact(portal, role, **(_ready_fields(portal) if ready else {}))
    client = PortalClient(portal)
    assert client.login(email, PASSWORD).status_code == 302
    return client, email


def _counts(portal) -> tuple[int, int]:
    with _db(portal) as db:
        return (
            db.scalar(select(func.count()).select_from(SalesOrder)),
            db.scalar(select(func.count()).select_from(OutboxEntry)),
        )


def _address_and_item(portal, email, legal_entity="USMF") -> tuple[str, str, str]:
    from data.models import DeliveryAddress

    with _db(portal) as db:
        contact = db.scalars(select(Contact).where(Contact.email == email)).one()
        address = db.scalars(
            select(DeliveryAddress.id).where(
                DeliveryAddress.customer_account_id == contact.customer_account_id,
                DeliveryAddress.country_region_id == contact.ship_to_country_region_id,
            )
        ).first()
        product = db.scalars(
            select(Product).where(
                Product.legal_entity_id == legal_entity, Product.lifecycle_state == "Active"
            )
        ).first()
        return str(address), product.item_number, product.default_sales_unit


def _submit_values(key, owner_id, address, lines, receipt=None, account=None) -> dict:
    from datetime import date

    return {
        "wizard-submit.n_clicks": 1,
        "wizard-account.value": account,
        "wizard-receipt-date.value": receipt or next_working_day(date.today()).isoformat(),
        "wizard-address.value": address,
        "wizard-lines.data": {"owner": owner_id, "lines": lines},
        "wizard-key.data": key,
    }


def _contact_id(portal, email) -> int:
    with _db(portal) as db:
        return db.scalars(select(Contact.id).where(Contact.email == email)).one()


def test_a_contact_that_is_not_ready_sees_what_is_missing(portal):
    client, _ = _signed_in_new(portal, ready=False)
    response = _call(client, portal, "pages.create_order.update_wizard_setup")
    assert response.status_code == 200
    body = response.get_json()["response"]
    assert body["wizard-form"]["hidden"] is True
    text = str(body["wizard-ready"]["children"])
    assert "price list, currency and ship-to country/region" in text and "administrator" in text


def test_setup_fills_the_form_from_the_contact(portal):
    client = signed_in(portal, "user1a@portal.demo")
    body = _call(client, portal, "pages.create_order.update_wizard_setup").get_json()["response"]
    assert body["wizard-form"]["hidden"] is False and body["wizard-account-field"]["hidden"] is True
    assert body["wizard-country"]["disabled"] is True and body["wizard-country"]["value"] == "USA"
    assert "US-001" in str(body["wizard-autofill"]["children"])
    assert body["wizard-key"]["data"]  # a new wizard instance gets its idempotency key
    assert body["wizard-receipt-date"]["value"] >= body["wizard-receipt-date"]["min"]


def test_crafted_submits_are_refused_with_nothing_written(portal):
    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    address, item, unit = _address_and_item(portal, email)
    with _db(portal) as db:
        de_only = db.scalars(
            select(Product.item_number).where(
                Product.legal_entity_id == "DEMF",
                Product.item_number.not_in(
                    select(Product.item_number).where(Product.legal_entity_id == "USMF")
                ),
            )
        ).first()
    good = [{"item": item, "unit": unit, "quantity": "1"}]
    before = _counts(portal)
    cases = {
        "skipped step 1": _submit_values(new_key(), owner, None, good, receipt=""),
        "no lines": _submit_values(new_key(), owner, address, []),
        "another company's product": _submit_values(
            new_key(), owner, address, [{"item": de_only or "X", "unit": "ea", "quantity": "1"}]
        ),
        "someone else's draft": _submit_values(new_key(), owner + 1, address, good),
        "a forged key": _submit_values("1 OR 1=1", owner, address, good),
        "a past date": _submit_values(new_key(), owner, address, good, receipt="2020-01-01"),
    }
    not_ready, not_ready_email = _signed_in_new(portal, ready=False)
    attempts = [(client, case, values) for case, values in cases.items()]
    attempts.append(
        (
            not_ready,
            "a contact that is not ready",
            _submit_values(new_key(), _contact_id(portal, not_ready_email), address, good),
        )
    )
    for who, case, values in attempts:
        response = _call(who, portal, SUBMIT, values)
        assert response.status_code == 200, case
        errors = response.get_json()["response"]["wizard-errors"]["data"]
        assert errors, case
    assert _counts(portal) == before


def test_a_customer_cannot_order_for_another_account_and_tampered_prices_are_ignored(portal):
    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    address, item, unit = _address_and_item(portal, email)
    with _db(portal) as db:
        other_account = db.scalars(
            select(Contact.customer_account_id).where(Contact.email == "rep2@portal.demo")
        ).one()
        own_account = db.scalars(select(Contact.customer_account_id).where(Contact.email == email)).one()
    lines = [{"item": item, "unit": unit, "quantity": "1", "price": "0.01", "line_amount": "0.01"}]
    key = new_key()
    response = _call(
        client, portal, SUBMIT, _submit_values(key, owner, address, lines, account=other_account)
    )
    assert response.status_code == 200
    with _db(portal) as db:
        order = db.scalars(select(SalesOrder).where(SalesOrder.portal_order_id == key)).one()
        assert order.customer_account_id == own_account and order.total_amount > 1


def test_double_submit_over_http_places_one_order(portal):
    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    address, item, unit = _address_and_item(portal, email)
    key = new_key()
    values = _submit_values(key, owner, address, [{"item": item, "unit": unit, "quantity": "2"}])
    first = _call(client, portal, SUBMIT, values).get_json()["response"]
    second = _call(client, portal, SUBMIT, values).get_json()["response"]
    assert "Order submitted" in str(first["wizard-confirmation"]["children"])
    assert "already submitted" in str(second["wizard-confirmation"]["children"])
    assert key[:8] in str(first["wizard-confirmation"]["children"])
    assert first["wizard-key"]["data"] != key  # the next order gets a new key
    with _db(portal) as db:
        assert db.scalar(select(func.count()).where(SalesOrder.portal_order_id == key)) == 1


def test_an_administrator_must_choose_an_account_and_then_orders_with_its_defaults(portal):
    client = signed_in(portal, "admin@portal.demo")
    body = _call(client, portal, "pages.create_order.update_wizard_setup").get_json()["response"]
    assert body["wizard-account-field"]["hidden"] is False and body["wizard-form"]["hidden"] is False
    assert "Choose the company and customer account" in str(body["wizard-autofill"]["children"])
    with _db(portal) as db:
        account_id = db.scalars(
            select(Contact.customer_account_id).where(Contact.email == "rep2@portal.demo")
        ).one()
    body = _call(
        client, portal, "pages.create_order.update_wizard_setup", {"wizard-account.value": account_id}
    )
    body = body.get_json()["response"]
    assert body["wizard-country"]["disabled"] is False and body["wizard-country"]["value"] == "DEU"
    assert "EUR" in str(body["wizard-autofill"]["children"])
    german = body["wizard-address"]["options"]
    assert len(german) > 1  # the account's German addresses and "a new one"
    elsewhere = _call(
        client,
        portal,
        "pages.create_order.update_wizard_setup",
        {"wizard-account.value": account_id, "wizard-country.value": "USA"},
    ).get_json()["response"]
    assert elsewhere["wizard-country"]["value"] == "USA"
    assert [o["value"] for o in elsewhere["wizard-address"]["options"]] == ["new"]


def test_product_search_and_prices_are_the_callers_own(portal):
    client = signed_in(portal, "user2a@portal.demo")
    options = _call(
        client,
        portal,
        "pages._create_order_items.update_product_options",
        {"wizard-item-product.search_value": ""},
    ).get_json()["response"]["wizard-item-product"]["options"]
    with _db(portal) as db:
        de_items = set(db.scalars(select(Product.item_number).where(Product.legal_entity_id == "DEMF")))
    assert options and {o["value"] for o in options} <= de_items
    body = _call(
        client,
        portal,
        "pages._create_order_items.update_item_details",
        {"wizard-item-product.value": options[0]["value"], "wizard-item-quantity.value": "1.5"},
    ).get_json()["response"]
    assert "€" in str(body["wizard-item-price"]["children"]) or "EUR" in str(
        body["wizard-item-price"]["children"]
    )
    assert body["wizard-item-quantity"]["invalid"] is True


def test_csv_import_through_the_callback(portal):
    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    _, item, unit = _address_and_item(portal, email)
    body = _call(
        client,
        portal,
        "pages._create_order_items.import_lines",
        {
            "wizard-csv-add.n_clicks": 1,
            "wizard-csv-text.value": f"{item},2\nNOPE,1",
            "wizard-lines.data": {"owner": owner, "lines": []},
        },
    ).get_json()["response"]
    assert body["wizard-lines"]["data"]["lines"] == [{"item": item, "unit": unit, "quantity": "2"}]
    assert "1 of 2 row(s) added" in str(body["wizard-csv-results"]["children"])


def test_the_create_order_tile_names_missing_setup_fields(portal):
    import json

    def tiles(client) -> str:
        return json.dumps(_call(client, portal, "pages.home.update_home_tiles").get_json())

    not_ready, _ = _signed_in_new(portal, ready=False)
    text = tiles(not_ready)
    assert "Create order" in text and "/create-order" in text
    assert "price list, currency and ship-to country/region" in text
    ready = tiles(signed_in(portal, "user1a@portal.demo"))
    assert "Create order" in ready and "has no" not in ready
    assert "Create order" not in json.dumps(
        _call(PortalClient(portal), portal, "pages.home.update_home_tiles").get_json()
    )


def test_lines_can_be_edited_and_removed(portal):
    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    _, item, unit = _address_and_item(portal, email)
    store = {
        "owner": owner,
        "lines": [
            {"item": item, "unit": unit, "quantity": "1"},
            {"item": item, "unit": unit, "quantity": "4"},
        ],
    }
    dep = _callbacks(portal)["pages._create_order_items.update_item_dialog"]

    def dialog(trigger, values):
        inputs = []
        for i in dep["inputs"]:
            if i["id"].startswith("{"):  # the pattern-matched edit buttons: one drawn per line
                inputs.append(
                    [
                        {
                            "id": {"type": "wizard-edit-line", "index": n},
                            "property": "n_clicks",
                            "value": 1 if n == 1 and trigger == "edit" else None,
                        }
                        for n in range(2)
                    ]
                )
            else:
                inputs.append({**i, "value": 1 if i["id"] == trigger else None})
        state = [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]]
        body = {
            "output": dep["output"],
            "outputs": _outputs(dep),
            "inputs": inputs,
            "state": state,
            "changedPropIds": [
                '{"index":1,"type":"wizard-edit-line"}.n_clicks'
                if trigger == "edit"
                else f"{trigger}.n_clicks"
            ],
        }
        response = client.http.post(
            "/_dash-update-component", json=body, headers={"X-CSRFToken": client.csrf_token}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["response"]

    opened = dialog("edit", {"wizard-lines.data": store})
    assert opened["wizard-item-dialog"]["is_open"] is True and opened["wizard-item-index"]["data"] == 1
    assert opened["wizard-item-quantity"]["value"] == "4" and opened["wizard-item-product"]["value"] == item
    saved = dialog(
        "wizard-item-save",
        {
            "wizard-lines.data": store,
            "wizard-item-index.data": 1,
            "wizard-item-product.value": item,
            "wizard-item-unit.value": unit,
            "wizard-item-quantity.value": "7",
        },
    )
    assert [line["quantity"] for line in saved["wizard-lines"]["data"]["lines"]] == ["1", "7"]
    assert saved["wizard-item-dialog"]["is_open"] is False
    removed = _call(
        client,
        portal,
        "pages._create_order_items.remove_line",
        {"wizard-lines.data": saved["wizard-lines"]["data"]},
    )
    assert removed.status_code in (200, 204)


def test_csv_upload_through_the_callback(portal):
    import base64

    client, email = _signed_in_new(portal)
    owner = _contact_id(portal, email)
    _, item, unit = _address_and_item(portal, email)
    dep = _callbacks(portal)["pages._create_order_items.import_lines"]
    content = (
        "data:text/csv;base64," + base64.b64encode(f"Item;Quantity\r\n{item};5\r\n".encode("cp1252")).decode()
    )
    values = {"wizard-csv-upload.contents": content, "wizard-lines.data": {"owner": owner, "lines": []}}
    body = {
        "output": dep["output"],
        "outputs": _outputs(dep),
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]],
        "changedPropIds": ["wizard-csv-upload.contents"],
    }
    response = client.http.post(
        "/_dash-update-component", json=body, headers={"X-CSRFToken": client.csrf_token}
    )
    assert response.status_code == 200
    result = response.get_json()["response"]
    assert result["wizard-lines"]["data"]["lines"] == [{"item": item, "unit": unit, "quantity": "5"}]
    assert "1 of 1 row(s) added" in str(result["wizard-csv-results"]["children"])
