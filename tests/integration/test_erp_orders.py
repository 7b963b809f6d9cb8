"""The simulated ERP's write side: sales orders accepted once per idempotency key, validated like an ERP
(each reason), remembered rejects, concurrent posts of one key, the order lifecycle and the ERP's own
changes, contact persons, and run-time fault injection. ERP store on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from sync.erp_simulator import create_erp_app
from sync.erp_simulator.faults import FaultInjector
from sync.erp_simulator.lifecycle import LifecycleOptions, advance
from sync.erp_simulator.store import (
    CHANGE_SEQUENCE,
    SALES_ORDER_SEQUENCE,
    contact_persons,
    counter_value,
    customers,
    format_sales_order_number,
    product_sales_units,
    released_products,
    sales_order_headers,
    sales_order_lines,
    sales_price_agreements,
)
from sync.erp_simulator.writes import BadPayload, Rejected, create_sales_order
from tests.databases import BACKENDS
from tests.integration.erp_fixtures import GeneratedStore, generated_store

NOW = datetime(2026, 11, 21, 9, 30)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Iterator[GeneratedStore]:
    with generated_store(request.param, tmp_path, orders=120) as generated:
        yield generated


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector(seed=5, clock=lambda: NOW)


@pytest.fixture
def app(store: GeneratedStore, faults: FaultInjector) -> Iterator[Flask]:
    application = create_erp_app(store.url, faults=faults)
    yield application
    application.extensions["erp_simulator"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _priced(
    store: GeneratedStore, area: str = "USMF", group: str = "USD-RETAIL"
) -> list[tuple[str, str, float]]:
    """(item, unit, price) sold to a price group, released and active."""
    p, r = sales_price_agreements.c, released_products.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(p.ItemNumber, p.QuantityUnitSymbol, p.Price)
            .join(released_products, (r.dataAreaId == p.dataAreaId) & (r.ItemNumber == p.ItemNumber))
            .where(
                p.dataAreaId == area, p.PriceCustomerGroupCode == group, r.ProductLifecycleStateId == "Active"
            )
            .order_by(p.Price, p.ItemNumber)
        ).all()
    return [(str(i), str(u), float(pr)) for i, u, pr in rows]


def _order(
    store: GeneratedStore, *, account: str = "US-030", area: str = "USMF", lines=None, **fields
) -> dict:
    """A valid order body (US-030 has no price list but may order at the prices sent)."""
    item, unit, price = _priced(store)[0]
    body: dict[str, Any] = {
        "dataAreaId": area,
        "OrderingCustomerAccountNumber": account,
        "RequestedReceiptDate": "2026-12-01",
        "DeliveryAddressDescription": "Warehouse",
        "DeliveryAddressCountryRegionId": "USA",
        "PortalOrderId": str(uuid.uuid4()),
        "SalesOrderLines": lines
        or [{"LineNumber": 1, "ItemNumber": item, "OrderedSalesQuantity": "2", "SalesUnitSymbol": unit,
             "SalesPrice": str(price)}],
    }  # fmt: skip
    body.update(fields)
    return body


def _count(store: GeneratedStore, *conditions) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(sales_order_headers).where(*conditions)
            ).scalar_one()
        )


def _set_customer(store: GeneratedStore, account: str, **values) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(customers)
            .where(customers.c.dataAreaId == "USMF", customers.c.CustomerAccount == account)
            .values(**values)
        )


def test_post_creates_an_order_with_the_next_number_and_change_sequence(client, store):
    with store.engine.connect() as conn:
        last_number = counter_value(conn, SALES_ORDER_SEQUENCE, "USMF")
        last_sequence = counter_value(conn, CHANGE_SEQUENCE)
    body = _order(store, CustomerRequisitionNumber="PO-77")

    response = client.post(
        "/data/SalesOrderHeadersV2", json=body, headers={"Idempotency-Key": body["PortalOrderId"]}
    )

    assert response.status_code == 201
    order = response.get_json()
    assert order["SalesOrderNumber"] == format_sales_order_number(last_number + 1)
    assert (order["SalesOrderOriginCode"], order["PortalOrderId"]) == ("Portal", body["PortalOrderId"])
    assert (order["SalesOrderStatus"], order["SalesOrderProcessingStatus"], order["DocumentStatus"]) == (
        "Backorder",
        "Active",
        "None",
    )
    assert order["OrderCreatedDateTime"] == order["ModifiedDateTime"] == "2026-11-21T09:30:00Z"
    assert order["ChangeSequence"] == last_sequence + 1
    assert [line["ChangeSequence"] for line in order["SalesOrderLines"]] == [last_sequence + 2]
    assert order["TotalAmount"] == order["SalesOrderLines"][0]["LineAmount"] > 0
    # the pull follows it like every other change
    served = client.get(f"/data/SalesOrderHeadersV2?$filter=ChangeSequence gt {last_sequence}").get_json()[
        "value"
    ]
    assert [o["PortalOrderId"] for o in served] == [body["PortalOrderId"]]


def test_same_key_again_answers_200_with_the_same_order(client, store):
    body = _order(store)
    first = client.post("/data/SalesOrderHeadersV2", json=body)
    again = client.post("/data/SalesOrderHeadersV2", json={**body, "PortalOrderId": None},
                        headers={"Idempotency-Key": body["PortalOrderId"]})  # fmt: skip
    changed = client.post("/data/SalesOrderHeadersV2", json={**body, "CustomerRequisitionNumber": "other"})

    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    numbers = {r.get_json()["SalesOrderNumber"] for r in (first, again, changed)}
    assert len(numbers) == 1
    assert _count(store, sales_order_headers.c.PortalOrderId == body["PortalOrderId"]) == 1
    mismatch = client.post("/data/SalesOrderHeadersV2", json=body, headers={"Idempotency-Key": "other-key"})
    assert mismatch.status_code == 400


def _reject_case(store: GeneratedStore, reason: str) -> dict:
    item, unit, price = _priced(store)[0]
    if reason == "CustomerNotFound":
        return _order(store, account="US-999")
    if reason == "CustomerOnHold":
        _set_customer(store, "US-030", OnHoldStatus="All")
        return _order(store)
    if reason == "ProductNotReleased":
        line = {
            "ItemNumber": "Z9999",
            "OrderedSalesQuantity": "1",
            "SalesUnitSymbol": "ea",
            "SalesPrice": "1",
        }
        return _order(store, lines=[line])
    if reason == "ProductDiscontinued":
        body = _order(store)
        with store.engine.begin() as conn:
            conn.execute(
                update(released_products)
                .where(released_products.c.dataAreaId == "USMF", released_products.c.ItemNumber == item)
                .values(ProductLifecycleStateId="Discontinued")
            )
        return body
    if reason == "UnitNotAllowed":
        line = {
            "ItemNumber": item,
            "OrderedSalesQuantity": "1",
            "SalesUnitSymbol": "crate",
            "SalesPrice": "1",
        }
        return _order(store, lines=[line])
    assert reason == "CreditLimitExceeded"
    _set_customer(store, "US-030", CreditLimit=Decimal(1000))
    line = {
        "ItemNumber": item,
        "OrderedSalesQuantity": "1000",
        "SalesUnitSymbol": unit,
        "SalesPrice": str(price),
    }
    return _order(store, lines=[line])


@pytest.mark.parametrize(
    "reason",
    [
        "CustomerNotFound",
        "CustomerOnHold",
        "ProductNotReleased",
        "ProductDiscontinued",
        "UnitNotAllowed",
        "CreditLimitExceeded",
    ],
)
def test_validation_rejects_with_a_reason_and_remembers_it(client, store, reason):
    body = _reject_case(store, reason)

    first = client.post("/data/SalesOrderHeadersV2", json=body)
    _set_customer(store, "US-030", OnHoldStatus="No", CreditLimit=Decimal(10**9))  # the cause goes away
    again = client.post("/data/SalesOrderHeadersV2", json=body)

    assert (first.status_code, again.status_code) == (422, 422)
    error = first.get_json()["error"]
    assert error["code"] == reason and len(error["message"]) > 20
    assert again.get_json() == first.get_json()  # the same answer for the same key
    assert _count(store, sales_order_headers.c.PortalOrderId == body["PortalOrderId"]) == 0


def test_quantities_are_judged_by_value_not_by_their_decimals(client, store):
    item, unit, price = next(p for p in _priced(store) if p[1] in ("ea", "pcs", "box"))  # no decimals
    whole = {
        "ItemNumber": item,
        "OrderedSalesQuantity": "2.0000",
        "SalesUnitSymbol": unit,
        "SalesPrice": str(price),
    }
    half = {**whole, "OrderedSalesQuantity": "2.5"}
    assert client.post("/data/SalesOrderHeadersV2", json=_order(store, lines=[whole])).status_code == 201
    refused = client.post("/data/SalesOrderHeadersV2", json=_order(store, lines=[half]))
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "QuantityPrecision"


def test_bad_documents_get_400(client, store):
    body = _order(store)
    assert client.post("/data/SalesOrderHeadersV2", data="not json").status_code == 400
    for broken in ({"SalesOrderLines": []}, {"RequestedReceiptDate": "soon"}, {"PortalOrderId": None}):
        response = client.post("/data/SalesOrderHeadersV2", json={**body, **broken})
        assert response.status_code == 400, broken
    assert client.post("/data/CustomersV3", json={}).status_code == 405


def test_concurrent_posts_of_one_key_make_one_order(store):
    body = _order(store)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        results.append(create_sales_order(store.engine, body, body["PortalOrderId"], NOW).status)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == [200] * 5 + [201]
    assert _count(store, sales_order_headers.c.PortalOrderId == body["PortalOrderId"]) == 1


def test_direct_calls_raise_typed_errors(store):
    with pytest.raises(BadPayload):
        create_sales_order(store.engine, {"SalesOrderLines": "x"}, "k1", NOW)
    with pytest.raises(Rejected) as rejected:
        create_sales_order(store.engine, _order(store, account="US-999"), "k2", NOW)
    assert rejected.value.code == "CustomerNotFound"


# --- lifecycle ----------------------------------------------------------------------------------


def _post(client: FlaskClient, body: dict) -> dict:
    response = client.post("/data/SalesOrderHeadersV2", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _header(store: GeneratedStore, number: str) -> dict:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(sales_order_headers).where(sales_order_headers.c.SalesOrderNumber == number,
                                              sales_order_headers.c.dataAreaId == "USMF")
        ).mappings().one()  # fmt: skip
        lines = conn.execute(
            select(sales_order_lines).where(sales_order_lines.c.SalesOrderNumber == number,
                                            sales_order_lines.c.dataAreaId == "USMF")
            .order_by(sales_order_lines.c.LineNumber)
        ).mappings().all()  # fmt: skip
    return {**row, "lines": [dict(line) for line in lines]}


def test_orders_advance_through_the_lifecycle(client, store):
    items = _priced(store)[:3]
    lines = [{"ItemNumber": i, "OrderedSalesQuantity": "10", "SalesUnitSymbol": u, "SalesPrice": str(p)}
             for i, u, p in items]  # fmt: skip
    number = _post(client, _order(store, lines=lines))["SalesOrderNumber"]
    steady = LifecycleOptions(move_probability=1, cancel_probability=0, partial_probability=1,
                              short_confirm_probability=1, late_confirm_probability=1,
                              new_order_probability=0, master_change_probability=0)  # fmt: skip
    rng = random.Random(3)
    path, sequences = [], []
    for _ in range(8):
        summary = advance(store.engine, NOW, rng, options=steady, only=[("USMF", number)])
        order = _header(store, number)
        if not summary.moved:
            break
        path.append(order["SalesOrderProcessingStatus"])
        sequences.append(order["ChangeSequence"])
        if order["SalesOrderProcessingStatus"] == "Confirmed":
            assert order["ConfirmedReceiptDate"] > order["RequestedReceiptDate"]  # later than asked
            assert all(
                line["ConfirmedSalesQuantity"] < line["OrderedSalesQuantity"] for line in order["lines"]
            )
        if order["SalesOrderProcessingStatus"] == "PartiallyDelivered":
            assert sorted({line["SalesOrderLineStatus"] for line in order["lines"]}) == [
                "Backorder",
                "Delivered",
            ]
        if order["SalesOrderProcessingStatus"] == "PartiallyInvoiced":
            assert sorted({line["SalesOrderLineStatus"] for line in order["lines"]}) == [
                "Delivered",
                "Invoiced",
            ]

    assert path == ["Confirmed", "Picked", "PartiallyDelivered", "Delivered", "PartiallyInvoiced", "Invoiced"]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    final = _header(store, number)
    assert (final["SalesOrderStatus"], final["DocumentStatus"]) == ("Invoiced", "Invoice")
    assert {line["SalesOrderLineStatus"] for line in final["lines"]} == {"Invoiced"}

    canceled = _post(client, _order(store))["SalesOrderNumber"]
    advance(store.engine, NOW, rng, options=LifecycleOptions(move_probability=1, cancel_probability=1),
            only=[("USMF", canceled)])  # fmt: skip
    order = _header(store, canceled)
    assert (order["SalesOrderProcessingStatus"], order["SalesOrderStatus"]) == ("Canceled", "Canceled")
    assert {line["SalesOrderLineStatus"] for line in order["lines"]} == {"Canceled"}


def test_the_erp_creates_orders_and_changes_master_data(store):
    with store.engine.connect() as conn:
        before = counter_value(conn, CHANGE_SEQUENCE)
    busy = LifecycleOptions(orders_per_tick=5, new_order_probability=1, master_change_probability=1)
    rng = random.Random(7)
    created, changes, moved = [], set(), 0
    for _ in range(25):
        summary = advance(store.engine, NOW, rng, options=busy)
        created += summary.created
        changes.update(summary.master_changes)
        moved += len(summary.moved)

    assert len(created) == 25 and moved > 10
    assert changes == {"price", "new_product", "discontinue", "credit_limit", "on_hold"}
    with store.engine.connect() as conn:
        origins = set(
            conn.execute(
                select(sales_order_headers.c.SalesOrderOriginCode).where(
                    sales_order_headers.c.ModifiedDateTime == NOW,
                    sales_order_headers.c.PortalOrderId.is_(None),
                )
            ).scalars()
        )
        new_products = conn.execute(
            select(func.count())
            .select_from(product_sales_units)
            .where(product_sales_units.c.ItemNumber.like("N%"))
        ).scalar_one()
        changed = conn.execute(
            select(func.count()).select_from(customers).where(customers.c.ChangeSequence > before)
        ).scalar_one()
        after = counter_value(conn, CHANGE_SEQUENCE)
    assert origins <= {"Phone", "EDI"} and origins
    assert new_products >= 1 and changed >= 1 and after > before


# --- contact persons -------------------------------------------------------------------------------


def test_contacts_are_created_once_per_key_and_patched(client, store):
    body = {"dataAreaId": "USMF", "CustomerAccountNumber": "US-002", "FirstName": "Ada", "LastName": "Byron",
            "PrimaryEmailAddress": "ada@example.com", "LanguageId": "en-us"}  # fmt: skip
    first = client.post("/data/ContactPersonsV2", json=body, headers={"Idempotency-Key": "c-1"})
    again = client.post("/data/ContactPersonsV2", json=body, headers={"Idempotency-Key": "c-1"})
    contact_id = first.get_json()["ContactPersonId"]
    patched = client.patch(f"/data/ContactPersonsV2/{contact_id}", json={"LastName": "Lovelace"})
    unknown = client.post("/data/ContactPersonsV2", json={**body, "CustomerAccountNumber": "US-999"},
                          headers={"Idempotency-Key": "c-2"})  # fmt: skip

    assert (first.status_code, again.status_code, patched.status_code, unknown.status_code) == (
        201,
        200,
        200,
        422,
    )
    assert again.get_json()["ContactPersonId"] == contact_id
    assert patched.get_json()["LastName"] == "Lovelace"
    assert patched.get_json()["ChangeSequence"] > first.get_json()["ChangeSequence"]
    with store.engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(contact_persons)
            .where(contact_persons.c.PrimaryEmailAddress == "ada@example.com")
        ).scalar_one()
    assert count == 1
    assert client.patch("/data/ContactPersonsV2/CP-999999", json={"LastName": "x"}).status_code == 404
    assert client.post("/data/ContactPersonsV2", json=body).status_code == 400  # no idempotency key


# --- faults ---------------------------------------------------------------------------------------


def test_faults_are_switched_at_run_time(client, store, faults):
    assert client.get("/admin/faults").get_json()["error_rate"] == 0
    assert client.post("/admin/faults", json={"error_rate": 2}).status_code == 400
    assert client.post("/admin/faults", json={"bogus": 1}).status_code == 400

    client.post("/admin/faults", json={"outage": True})
    assert client.get("/data/LegalEntities").status_code == 503
    assert client.get("/health").status_code == 200 and client.get("/admin/faults").status_code == 200
    client.post("/admin/faults", json={"outage": False, "outage_until": "2026-11-21T09:40:00Z"})
    assert client.get("/data/LegalEntities").status_code == 503  # the simulator's clock says 09:30
    client.post("/admin/faults", json={"reset": True})
    assert client.get("/data/LegalEntities").status_code == 200

    client.post("/admin/faults", json={"error_rate": 0.5, "seed": 9})
    first = [client.get("/data/LegalEntities").status_code for _ in range(20)]
    client.post("/admin/faults", json={"seed": 9})
    assert [client.get("/data/LegalEntities").status_code for _ in range(20)] == first  # seeded
    assert set(first) == {200, 503}

    client.post("/admin/faults", json={"reset": True, "lose_answer_rate": 1})
    body = _order(store)
    lost = client.post("/data/SalesOrderHeadersV2", json=body)
    assert lost.status_code == 502 and faults.answers_lost == 1
    assert (
        _count(store, sales_order_headers.c.PortalOrderId == body["PortalOrderId"]) == 1
    )  # committed anyway

    client.post("/admin/faults", json={"reset": True, "reject_all": True, "reject_message": "Closed today."})
    rejected = client.post("/data/SalesOrderHeadersV2", json=_order(store))
    assert rejected.status_code == 422 and rejected.get_json()["error"]["message"] == "Closed today."

    client.post("/admin/faults", json={"reset": True, "malformed_rate": 1})
    served = client.get("/data/CustomersV3?$top=5").get_json()["value"]
    assert len(faults.malformed_served) == 5
    assert client.get("/admin/faults").get_json()["malformed_served"][0][0] == "CustomersV3"
    for record, (_entity, sequence, name) in zip(served, faults.malformed_served, strict=True):
        assert record["ChangeSequence"] == sequence
        assert record.get(name, "##garbled##") == "##garbled##"
