"""The simulated ERP's OData API over a generated store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server

from sync.erp_simulator import ERP_ENTITY_SETS, create_erp_app
from sync.erp_simulator.store import next_change_sequence
from tests.databases import BACKENDS
from tests.integration.erp_fixtures import GeneratedStore, generated_store

EXPECTED_FIELDS = {
    "LegalEntities": ["LegalEntityId", "Name", "CurrencyCode", "LanguageId", "AddressCountryRegionId"],
    "CustomersV3": [
        "dataAreaId", "CustomerAccount", "OrganizationName", "CustomerGroupId", "SalesCurrencyCode",
        "LanguageId", "InvoiceAccount", "CreditLimit", "OnHoldStatus", "PriceCustomerGroupCode",
        "AddressCountryRegionId",
    ],
    "CustomerPostalAddresses": [
        "dataAreaId", "CustomerAccountNumber", "AddressLocationId", "AddressDescription",
        "AddressStreet", "AddressCity", "AddressZipCode", "AddressCountryRegionId", "IsPrimary",
        "IsRoleDelivery",
    ],
    "ContactPersonsV2": [
        "dataAreaId", "ContactPersonId", "FirstName", "LastName", "PrimaryEmailAddress",
        "CustomerAccountNumber", "LanguageId",
    ],
    "ReleasedProductsV2": [
        "dataAreaId", "ItemNumber", "ProductName", "ProductGroupId", "SalesUnitSymbol",
        "ProductLifecycleStateId",
    ],
    "ReleasedProductSalesUnits": [
        "dataAreaId", "ItemNumber", "SalesUnitSymbol", "UnitConversionFactor", "UnitDecimalPrecision",
    ],
    "CustomerPriceGroups": ["dataAreaId", "PriceGroupId", "Name", "CurrencyCode"],
    "SalesPriceAgreements": [
        "dataAreaId", "PriceAgreementId", "PriceCustomerGroupCode", "ItemNumber", "QuantityUnitSymbol",
        "PriceCurrencyCode", "Price", "PriceApplicableFromDate",
    ],
    "SalesOrderHeadersV2": [
        "dataAreaId", "SalesOrderNumber", "OrderingCustomerAccountNumber",
        "InvoiceCustomerAccountNumber", "SalesOrderName", "CurrencyCode", "LanguageId",
        "PriceCustomerGroupCode", "ContactPersonId", "RequestedReceiptDate", "ConfirmedReceiptDate",
        "DeliveryAddressDescription", "DeliveryAddressStreet", "DeliveryAddressCity",
        "DeliveryAddressZipCode", "DeliveryAddressCountryRegionId", "CustomerRequisitionNumber",
        "SalesOrderOriginCode", "PortalOrderId", "SalesOrderStatus", "SalesOrderProcessingStatus",
        "DocumentStatus", "OrderCreatedDateTime", "TotalAmount",
    ],
    "SalesOrderLines": [
        "dataAreaId", "SalesOrderNumber", "LineNumber", "ItemNumber", "LineDescription",
        "OrderedSalesQuantity", "ConfirmedSalesQuantity", "SalesUnitSymbol", "SalesPrice",
        "LineAmount", "CurrencyCode", "SalesOrderLineStatus", "RequestedReceiptDate",
        "ConfirmedReceiptDate", "DeliveryAddressDescription", "DeliveryAddressCountryRegionId",
    ],
}  # fmt: skip
TRACKING = ["ChangeSequence", "ModifiedDateTime"]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GeneratedStore]:
    with generated_store(request.param, tmp_path_factory.mktemp("api")) as generated:
        yield generated


@pytest.fixture(scope="module")
def app(store: GeneratedStore) -> Iterator[Flask]:
    erp = create_erp_app(store.url)
    yield erp
    erp.extensions["erp_simulator"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _get(client: FlaskClient, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body: dict[str, Any] = response.get_json()
    return body


def _db_count(store: GeneratedStore, entity_set: str, *conditions: Any) -> int:
    table = ERP_ENTITY_SETS[entity_set]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())


def _follow(client: FlaskClient, url: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every row reached by following @odata.nextLink, and the links followed."""
    rows: list[dict[str, Any]] = []
    links: list[str] = []
    while True:
        body = _get(client, url)
        rows.extend(body["value"])
        if "@odata.nextLink" not in body:
            return rows, links
        url = body["@odata.nextLink"]
        links.append(url)


def test_health_and_service_document(client: FlaskClient) -> None:
    assert _get(client, "/health") == {"status": "ok"}
    document = _get(client, "/data")
    assert [s["name"] for s in document["value"]] == list(EXPECTED_FIELDS)
    assert document["@odata.context"] == "http://localhost/data/$metadata"
    metadata = client.get("/data/$metadata")
    assert metadata.status_code == 200 and b'EntitySet Name="SalesOrderLines"' in metadata.data


@pytest.mark.parametrize("entity_set", list(EXPECTED_FIELDS))
def test_entity_sets_use_fo_field_names(client: FlaskClient, entity_set: str) -> None:
    body = _get(client, f"/data/{entity_set}?$top=3")
    assert body["@odata.context"] == f"http://localhost/data/$metadata#{entity_set}"
    assert 1 <= len(body["value"]) <= 3
    for row in body["value"]:
        assert list(row) == EXPECTED_FIELDS[entity_set] + TRACKING
        assert isinstance(row["ChangeSequence"], int)
        assert DATETIME.match(row["ModifiedDateTime"])


def test_json_values_are_typed(client: FlaskClient) -> None:
    header = _get(client, "/data/SalesOrderHeadersV2?$top=1")["value"][0]
    assert isinstance(header["TotalAmount"], float | int)
    assert DATE.match(header["RequestedReceiptDate"])
    assert DATETIME.match(header["OrderCreatedDateTime"])
    line = _get(client, "/data/SalesOrderLines?$top=1")["value"][0]
    assert round(line["LineAmount"], 2) == line["LineAmount"]
    assert round(line["OrderedSalesQuantity"], 4) == line["OrderedSalesQuantity"]
    address = _get(client, "/data/CustomerPostalAddresses?$top=1")["value"][0]
    assert address["IsPrimary"] is True
    customers = _get(client, "/data/CustomersV3")["value"]
    assert any(c["PriceCustomerGroupCode"] is None for c in customers)


def test_paging_returns_every_row_exactly_once(client: FlaskClient, store: GeneratedStore) -> None:
    rows, links = _follow(client, "/data/SalesOrderLines?$top=97")
    total = _db_count(store, "SalesOrderLines")
    assert len(rows) == total > 97 * 5
    keys = {(r["dataAreaId"], r["SalesOrderNumber"], r["LineNumber"]) for r in rows}
    assert len(keys) == total
    sequences = [r["ChangeSequence"] for r in rows]
    assert sequences == sorted(sequences) and len(set(sequences)) == total
    assert len(links) == (total - 1) // 97
    for link in links:
        assert link.startswith("http://localhost/data/SalesOrderLines?")
        query = parse_qs(urlsplit(link).query)
        assert query["$top"] == ["97"] and "$skip" not in query and int(query["$skiptoken"][0]) > 0


def test_default_page_size_is_1000(client: FlaskClient, store: GeneratedStore) -> None:
    assert _db_count(store, "SalesOrderLines") > 1000
    body = _get(client, "/data/SalesOrderLines")
    assert len(body["value"]) == 1000
    assert "$top" not in body["@odata.nextLink"]
    rows, _ = _follow(client, "/data/SalesOrderLines")
    assert len(rows) == _db_count(store, "SalesOrderLines")
    small = _get(client, "/data/LegalEntities")
    assert len(small["value"]) == 3 and "@odata.nextLink" not in small


def test_filter_on_company_pages_with_the_same_filter(client: FlaskClient, store: GeneratedStore) -> None:
    table = ERP_ENTITY_SETS["SalesOrderHeadersV2"]
    rows, links = _follow(client, "/data/SalesOrderHeadersV2?$filter=dataAreaId eq 'DEMF'&$top=25")
    assert len(rows) == _db_count(store, "SalesOrderHeadersV2", table.c.dataAreaId == "DEMF") > 25
    assert {r["dataAreaId"] for r in rows} == {"DEMF"}
    assert all(parse_qs(urlsplit(link).query)["$filter"] == ["dataAreaId eq 'DEMF'"] for link in links)


def test_filter_on_change_sequence(client: FlaskClient, store: GeneratedStore) -> None:
    everything = _get(client, "/data/SalesOrderHeadersV2?$top=5000")["value"]
    middle = everything[len(everything) // 2]["ChangeSequence"]
    rows, _ = _follow(client, f"/data/SalesOrderHeadersV2?$filter=ChangeSequence gt {middle}&$top=40")
    assert rows == [r for r in everything if r["ChangeSequence"] > middle]


def test_filter_on_modified_datetime(client: FlaskClient, store: GeneratedStore) -> None:
    lines = _get(client, "/data/SalesOrderLines?$top=5000")["value"]
    stamps = sorted(r["ModifiedDateTime"] for r in lines)
    since = stamps[len(stamps) * 3 // 4]
    expected = [r for r in lines if r["ModifiedDateTime"] >= since]
    rows, _ = _follow(client, f"/data/SalesOrderLines?$filter=ModifiedDateTime ge {since}&$top=50")
    assert rows == expected
    table = ERP_ENTITY_SETS["SalesOrderLines"]
    cut = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ")
    assert len(rows) == _db_count(store, "SalesOrderLines", table.c.ModifiedDateTime >= cut)
    old = _get(client, "/data/SalesOrderLines?$filter=ModifiedDateTime ge 2000-01-01&$top=10")
    assert old["value"] == lines[:10]
    assert _get(client, "/data/SalesOrderLines?$filter=ModifiedDateTime gt 2100-01-01")["value"] == []


def test_filters_combine(client: FlaskClient, store: GeneratedStore) -> None:
    lines = _get(client, "/data/SalesOrderLines?$top=5000")["value"]
    after = lines[100]["ChangeSequence"]
    since = sorted(r["ModifiedDateTime"] for r in lines)[len(lines) // 2]
    text = f"dataAreaId eq 'USMF' and ChangeSequence gt {after} and ModifiedDateTime ge {since}"
    rows, _ = _follow(client, f"/data/SalesOrderLines?$filter={text}&$top=30")
    expected = [
        r
        for r in lines
        if r["dataAreaId"] == "USMF" and r["ChangeSequence"] > after and r["ModifiedDateTime"] >= since
    ]
    assert rows == expected and expected


def test_count_ignores_paging(client: FlaskClient, store: GeneratedStore) -> None:
    table = ERP_ENTITY_SETS["SalesOrderHeadersV2"]
    body = _get(client, "/data/SalesOrderHeadersV2?$count=true&$top=10&$filter=dataAreaId eq 'USMF'")
    expected = _db_count(store, "SalesOrderHeadersV2", table.c.dataAreaId == "USMF")
    assert body["@odata.count"] == expected and len(body["value"]) == 10
    following = _get(client, body["@odata.nextLink"])
    assert following["@odata.count"] == expected
    assert "@odata.count" not in _get(client, "/data/SalesOrderHeadersV2?$top=1")


def test_select_limits_fields(client: FlaskClient) -> None:
    body = _get(client, "/data/SalesOrderHeadersV2?$select=SalesOrderNumber,TotalAmount&$top=2")
    assert [list(r) for r in body["value"]] == [["SalesOrderNumber", "TotalAmount"]] * 2
    assert "$select=SalesOrderNumber,TotalAmount" in body["@odata.nextLink"]
    rows, _ = _follow(client, "/data/CustomersV3?$select=CustomerAccount&$top=10")
    assert len(rows) == len({r["CustomerAccount"] + str(i) for i, r in enumerate(rows)}) >= 60


@pytest.mark.parametrize(
    "query",
    [
        "$filter=Bogus eq 1",
        "$filter=dataAreaId eq '' OR 1=1--",
        "$filter=' OR 1=1--",
        "$filter=dataAreaId eq 'USMF'; DROP TABLE erp_customers",
        "$filter=dataAreaId eq",
        "$filter=dataAreaId eq 'USMF' or dataAreaId eq 'DEMF'",
        "$filter=ChangeSequence gt 'abc'",
        "$filter=ChangeSequence gt 99999999999999999999999",
        "$filter=ModifiedDateTime ge 2026-99-01T00:00:00Z",
        "$top=0",
        "$top=-1",
        "$top=5001",
        "$top=abc",
        "$top=1.5",
        "$top=\u00b2",
        "$top=99999999999999999999999",
        "$skiptoken=abc",
        "$skiptoken=-5",
        "$skiptoken=1234567890123456789012",
        "$count=yes",
        "$select=Bogus",
        "$select=",
        "$skip=10",
        "$orderby=SalesOrderNumber",
        "$expand=SalesOrderLines",
    ],
)
def test_bad_queries_get_400(client: FlaskClient, query: str) -> None:
    body = _get(client, f"/data/SalesOrderHeadersV2?{query}", status=400)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert "Traceback" not in body["error"]["message"]


def test_injection_text_inside_a_literal_is_just_data(client: FlaskClient, store: GeneratedStore) -> None:
    body = _get(client, "/data/CustomersV3?$filter=dataAreaId eq 'x'' OR 1=1--'")
    assert body["value"] == []
    assert _db_count(store, "CustomersV3") >= 60  # nothing happened to the table


def test_unknown_entity_set_is_404(client: FlaskClient) -> None:
    body = _get(client, "/data/SalesOrders", status=404)
    assert body["error"]["code"] == "NotFound" and "SalesOrders" in body["error"]["message"]
    assert set(_get(client, "/nowhere", status=404)) == {"error"}


def test_real_http_server_with_requests(app: Flask, store: GeneratedStore) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        with requests.Session() as http:
            assert http.get(f"{base}/health", timeout=10).json() == {"status": "ok"}
            url: str | None = f"{base}/data/SalesOrderHeadersV2"
            params: dict[str, str] | None = {"$top": "64", "$filter": "ChangeSequence gt 0"}
            seen: list[str] = []
            while url:
                response = http.get(url, params=params, timeout=10)
                assert response.status_code == 200
                assert response.headers["Content-Type"].startswith("application/json")
                body = response.json()
                seen.extend(r["SalesOrderNumber"] + r["dataAreaId"] for r in body["value"])
                url, params = body.get("@odata.nextLink"), None
                assert url is None or url.startswith(f"{base}/data/SalesOrderHeadersV2?")
            assert len(seen) == len(set(seen)) == _db_count(store, "SalesOrderHeadersV2")
            bad = http.get(f"{base}/data/Nope", timeout=10)
            assert bad.status_code == 404 and bad.json()["error"]["code"] == "NotFound"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_change_sequence_allocation_is_unique_across_threads(store: GeneratedStore) -> None:
    """Writers (a later issue) allocate sequences concurrently: no value may be handed out twice."""
    allocated: list[int] = []
    errors: list[BaseException] = []

    def allocate() -> None:
        try:
            for _ in range(25):
                with store.engine.begin() as conn:
                    first = next_change_sequence(conn, 2)
                allocated.extend((first, first + 1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(allocated) == len(set(allocated)) == 200
    with store.engine.begin() as conn:
        assert next_change_sequence(conn) == max(allocated) + 1
