"""Checksums of the ERP's sales orders for the portal's reconciliation (a blueprint of the simulator API).

``GET  /reconcile/SalesOrders/buckets``: per bucket (legal entity, ordering customer, month of the order)
the number of orders and lines and the sums of their row checksums (see :mod:`sync.checksum`), computed
by this database in one pass over the orders (each order's lines through the primary key).
``POST /reconcile/SalesOrders/orders`` ``{"buckets": [[area, account, "YYYY-MM"], ...]}``: per order of
those buckets its checksum, its number of lines, its lines checksum, its customer and month.
``POST /reconcile/SalesOrders/orderChecksums`` ``{"orders": [[area, number], ...]}``: the same per order
named.
``POST /reconcile/SalesOrders/records`` ``{"orders": [[area, number], ...]}``: the full header and line
records of those orders, shaped exactly like the entity sets' OData JSON (for the portal's repair).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Engine, Subquery, and_, bindparam, select

from sync.checksum import Part, bucket_sums, install, keys_in, month_of, order_checksums

from .store import sales_order_headers as headers
from .store import sales_order_lines as lines

MAX_BUCKETS = 5000
MAX_ORDERS = 1000

# The portal's HEADER_PARTS and LINE_PARTS (sync/reconcile.py), in the same order.
HEADER_PARTS: tuple[Part, ...] = (
    ("code", headers.c.SalesOrderStatus),
    ("code", headers.c.SalesOrderProcessingStatus),
    ("code", headers.c.DocumentStatus),
    ("code", headers.c.CurrencyCode),
    ("code", headers.c.DeliveryAddressCountryRegionId),
    ("money", headers.c.TotalAmount),
    ("date", headers.c.RequestedReceiptDate),
    ("date", headers.c.ConfirmedReceiptDate),
)
LINE_PARTS: tuple[Part, ...] = (
    ("code", lines.c.ItemNumber),
    ("code", lines.c.SalesOrderLineStatus),
    ("int", lines.c.LineNumber),
    ("qty", lines.c.OrderedSalesQuantity),
    ("qty", lines.c.ConfirmedSalesQuantity),
    ("money", lines.c.LineAmount),
    ("date", lines.c.ConfirmedReceiptDate),
)
LINES_OF_ORDER = and_(
    lines.c.dataAreaId == headers.c.dataAreaId, lines.c.SalesOrderNumber == headers.c.SalesOrderNumber
)

checksums = Blueprint("erp_checksums", __name__, url_prefix="/reconcile")


def _engine() -> Engine:
    engine: Engine = current_app.extensions["erp_simulator"].engine
    return engine


def _json(payload: dict[str, Any]) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), mimetype="application/json")


def _bad(message: str) -> Response:
    body = json.dumps({"error": {"code": "BadRequest", "message": message}})
    return Response(body, status=400, mimetype="application/json")


def _checksums(dialect: str, keys: list[Any], *where: Any, count_lines: bool = True) -> Subquery:
    return order_checksums(
        dialect,
        keys=keys,
        orders=headers,
        number=headers.c.SalesOrderNumber,
        header_parts=HEADER_PARTS,
        lines=lines,
        lines_of_order=LINES_OF_ORDER,
        line_parts=LINE_PARTS,
        where=where,
        count_lines=count_lines,
        scan_order=[headers.c.dataAreaId, headers.c.SalesOrderNumber],  # the primary keys of both tables
    )


@checksums.get("/SalesOrders/buckets")
def bucket_checksums() -> Response:
    with _engine().connect() as conn:
        install(conn)
        dialect = conn.dialect.name
        keys = [
            headers.c.dataAreaId,
            headers.c.OrderingCustomerAccountNumber,
            month_of(dialect, headers.c.OrderCreatedDateTime).label("month"),
        ]
        rows = conn.execute(
            bucket_sums(
                _checksums(dialect, keys, count_lines=False),
                ["dataAreaId", "OrderingCustomerAccountNumber", "month"],
            )
        ).all()
    return _json(
        {
            "value": [
                [a, c, m, int(n), int(h or 0), int(nl or 0), int(hl or 0)] for a, c, m, n, h, nl, hl in rows
            ]
        }
    )


def _month_range(month: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(month, "%Y-%m")
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, end


def _pairs(body: Any, name: str, size: int, limit: int) -> list[tuple[str, ...]]:
    items = body.get(name) if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > limit:
        raise ValueError(f"'{name}' must be a list of at most {limit} keys")
    keys = []
    for item in items:
        if not (isinstance(item, list) and len(item) == size and all(isinstance(v, str) for v in item)):
            raise ValueError(f"every key in '{name}' is a list of {size} strings")
        keys.append(tuple(item))
    return keys


@checksums.post("/SalesOrders/orders")
def order_checksums_of_buckets() -> Response:
    """Per order: ``[area, number, checksum, lines, lines checksum, account, month]``; one query per
    customer (its index), for all the customer's months asked for."""
    try:
        buckets = _pairs(request.get_json(silent=True), "buckets", 3, MAX_BUCKETS)
        for _, _, month in buckets:
            _month_range(month)
    except ValueError as exc:
        return _bad(str(exc))
    months: dict[tuple[str, str], list[str]] = {}
    for area, account, month in buckets:
        months.setdefault((area, account), []).append(month)
    out: list[list[Any]] = []
    with _engine().connect() as conn:
        install(conn)
        dialect = conn.dialect.name
        created_month = month_of(dialect, headers.c.OrderCreatedDateTime)
        per_order = _checksums(
            dialect,
            [headers.c.dataAreaId, headers.c.SalesOrderNumber, created_month.label("month")],
            headers.c.dataAreaId == bindparam("area"),
            headers.c.OrderingCustomerAccountNumber == bindparam("account"),
            created_month.in_(bindparam("months", expanding=True)),
        )
        stmt = select(*per_order.c)
        for (area, account), wanted in months.items():
            rows = conn.execute(stmt, {"area": area, "account": account, "months": sorted(set(wanted))})
            out += [[a, number, int(h), int(n), int(s), account, m] for a, number, m, h, n, s in rows]
    return _json({"value": out})


@checksums.post("/SalesOrders/orderChecksums")
def order_checksums_of_keys() -> Response:
    """The rows of ``/SalesOrders/orders`` for the orders named: ``{"orders": [[area, number], ...]}``."""
    try:
        keys = _pairs(request.get_json(silent=True), "orders", 2, MAX_ORDERS)
    except ValueError as exc:
        return _bad(str(exc))
    if not keys:
        return _json({"value": []})
    with _engine().connect() as conn:
        install(conn)
        dialect = conn.dialect.name
        per_order = _checksums(
            dialect,
            [
                headers.c.dataAreaId,
                headers.c.SalesOrderNumber,
                headers.c.OrderingCustomerAccountNumber,
                month_of(dialect, headers.c.OrderCreatedDateTime).label("month"),
            ],
            keys_in(headers.c.dataAreaId, headers.c.SalesOrderNumber, keys),
        )
        rows = conn.execute(select(*per_order.c)).all()
    return _json({"value": [[a, number, int(h), int(n), int(s), c, m] for a, number, c, m, h, n, s in rows]})


@checksums.post("/SalesOrders/records")
def order_records() -> Response:
    from .api import _to_json_rows

    try:
        keys = _pairs(request.get_json(silent=True), "orders", 2, MAX_ORDERS)
    except ValueError as exc:
        return _bad(str(exc))
    if not keys:
        return _json({"headers": [], "lines": []})
    with _engine().connect() as conn:
        header_rows = conn.execute(
            select(*headers.columns)
            .where(keys_in(headers.c.dataAreaId, headers.c.SalesOrderNumber, keys))
            .order_by(headers.c.ChangeSequence)
        ).all()
        line_rows = conn.execute(
            select(*lines.columns)
            .where(keys_in(lines.c.dataAreaId, lines.c.SalesOrderNumber, keys))
            .order_by(lines.c.ChangeSequence)
        ).all()
    return _json(
        {
            "headers": _to_json_rows(list(headers.columns), header_rows),
            "lines": _to_json_rows(list(lines.columns), line_rows),
        }
    )
