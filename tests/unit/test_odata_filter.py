"""The tiny OData ``$filter`` parser: a strict grammar, typed literals, bound parameters only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite

from sync.erp_simulator.odata import (
    MAX_CLAUSES,
    ODataFilterError,
    parse_comparisons,
    parse_filter,
    tokenize,
)
from sync.erp_simulator.store import ENTITY_SETS

HEADERS = ENTITY_SETS["SalesOrderHeadersV2"]
COLUMNS = {col.name: col for col in HEADERS.columns}
ADDRESSES = {col.name: col for col in ENTITY_SETS["CustomerPostalAddresses"].columns}
LINES = {col.name: col for col in ENTITY_SETS["SalesOrderLines"].columns}


def _sql(condition: ColumnElement[bool]) -> tuple[str, dict[str, object]]:
    compiled = condition.compile(dialect=sqlite.dialect())
    return str(compiled), dict(compiled.params)


def test_string_equality_is_a_bound_parameter() -> None:
    sql, params = _sql(parse_filter("dataAreaId eq 'USMF'", COLUMNS))
    assert sql == 'erp_sales_order_headers."dataAreaId" = ?'
    assert list(params.values()) == ["USMF"]


def test_doubled_quote_is_an_escaped_quote() -> None:
    _, params = _sql(parse_filter("SalesOrderName eq 'O''Brien & Sons'", COLUMNS))
    assert list(params.values()) == ["O'Brien & Sons"]


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [
        ("ChangeSequence gt 123", ">", 123),
        ("ChangeSequence ge 0", ">=", 0),
        ("ChangeSequence lt 9000000000", "<", 9_000_000_000),
        ("ChangeSequence le 5", "<=", 5),
        ("ChangeSequence ne 7", "!=", 7),
        ("TotalAmount gt 99.5", ">", Decimal("99.50")),
        ("TotalAmount le 100", "<=", Decimal("100.00")),
        ("RequestedReceiptDate ge 2026-11-20", ">=", date(2026, 11, 20)),
        ("ModifiedDateTime ge 2026-11-20T00:00:00Z", ">=", datetime(2026, 11, 20)),
        ("ModifiedDateTime lt 2026-11-20T10:30:00.123Z", "<", datetime(2026, 11, 20, 10, 30, 0, 123000)),
        ("ModifiedDateTime gt 2026-11-20T10:00:00+02:00", ">", datetime(2026, 11, 20, 8, 0)),
        ("ModifiedDateTime ge 2026-11-20", ">=", datetime(2026, 11, 20)),
    ],
)
def test_comparisons_and_typed_literals(text: str, operator: str, value: object) -> None:
    sql, params = _sql(parse_filter(text, COLUMNS))
    assert sql.endswith(f" {operator} ?")
    assert list(params.values()) == [value]


def test_booleans_and_null() -> None:
    sql, params = _sql(parse_filter("IsPrimary eq true and IsRoleDelivery ne false", ADDRESSES))
    # SQLAlchemy renders its own boolean constants; nothing of the filter text reaches the SQL
    assert sql.endswith('"IsPrimary" = 1 AND erp_customer_postal_addresses."IsRoleDelivery" != 0')
    assert params == {}
    assert _sql(parse_filter("ContactPersonId eq null", COLUMNS))[0].endswith("IS NULL")
    assert _sql(parse_filter("ConfirmedReceiptDate ne null", COLUMNS))[0].endswith("IS NOT NULL")


def test_the_three_sync_filters_combined() -> None:
    text = "dataAreaId eq 'USMF' and ChangeSequence gt 123 and ModifiedDateTime ge 2026-11-20T00:00:00Z"
    sql, params = _sql(parse_filter(text, COLUMNS))
    assert sql.count(" AND ") == 2
    assert list(params.values()) == ["USMF", 123, datetime(2026, 11, 20)]
    assert [c.column.name for c in parse_comparisons(text, COLUMNS)] == [
        "dataAreaId",
        "ChangeSequence",
        "ModifiedDateTime",
    ]


def test_whitespace_is_flexible_and_empty_means_everything() -> None:
    assert _sql(parse_filter("  LineNumber   eq   3 ", LINES))[1] == {"LineNumber_1": 3}
    assert parse_comparisons("", LINES) == []
    assert _sql(parse_filter("   ", LINES)) == ("1", {})


def test_postgresql_compiles_with_named_parameters() -> None:
    compiled = parse_filter("dataAreaId eq 'x'' OR 1=1--'", COLUMNS).compile(dialect=postgresql.dialect())
    assert "OR" not in str(compiled)
    assert list(compiled.params.values()) == ["x' OR 1=1--"]


@pytest.mark.parametrize(
    "text",
    [
        "Bogus eq 1",  # unknown field
        "dataareaid eq 'USMF'",  # field names are case-sensitive
        "dataAreaId like 'US%'",  # unsupported operator
        "dataAreaId EQ 'USMF'",
        "dataAreaId eq",  # incomplete
        "dataAreaId",
        "eq 'USMF'",
        "dataAreaId eq 'USMF' and",
        "dataAreaId eq 'USMF' or dataAreaId eq 'DEMF'",
        "dataAreaId eq 'USMF' ChangeSequence gt 1",
        "dataAreaId eq 'USMF",  # unterminated string
        "dataAreaId eq USMF",  # a bare word is not a literal
        "' OR 1=1--",
        "dataAreaId eq '' OR 1=1--",
        "dataAreaId eq 'USMF'; DROP TABLE erp_customers",
        "dataAreaId eq 'USMF' -- comment",
        "(dataAreaId eq 'USMF')",
        "1 eq 1",
        "ChangeSequence gt 1 and 1 eq 1",
        "ChangeSequence gt '1'",  # wrong literal types
        "ChangeSequence gt 1.5",
        "ChangeSequence gt true",
        "ChangeSequence gt 99999999999999999999",
        "dataAreaId eq 1",
        "dataAreaId eq null and ChangeSequence gt null",  # null only with eq/ne
        "TotalAmount gt 1e9",
        "ModifiedDateTime ge '2026-11-20T00:00:00Z'",
        "ModifiedDateTime ge 2026-13-45T00:00:00Z",
        "ModifiedDateTime ge 2026-11-20T00:00:00",  # a datetime needs its offset
        "RequestedReceiptDate ge 2026-02-30",
        "ModifiedDateTime ge 0001-01-01T00:00:00+05:00",  # out of range once in UTC
        "RequestedReceiptDate ge 2026-11-20T00:00:00Z",
        "ChangeSequence gt 1\x00",
        "dataAreaId eq 'USMF' and " * MAX_CLAUSES + "dataAreaId eq 'USMF'",
        "dataAreaId eq '" + "x" * 3000 + "'",
    ],
)
def test_anything_else_is_rejected(text: str) -> None:
    with pytest.raises(ODataFilterError):
        parse_filter(text, COLUMNS)


def test_boolean_fields_take_only_boolean_literals() -> None:
    with pytest.raises(ODataFilterError):
        parse_filter("IsPrimary eq 'true'", ADDRESSES)
    with pytest.raises(ODataFilterError):
        parse_filter("IsPrimary eq 1", ADDRESSES)


def test_tokenizer_keeps_literals_whole() -> None:
    assert tokenize("A eq 'a b''c' and B ge 2026-11-20T10:00:00Z and C lt -1.25") == [
        ("word", "A"),
        ("word", "eq"),
        ("string", "'a b''c'"),
        ("word", "and"),
        ("word", "B"),
        ("word", "ge"),
        ("datetime", "2026-11-20T10:00:00Z"),
        ("word", "and"),
        ("word", "C"),
        ("word", "lt"),
        ("number", "-1.25"),
    ]
