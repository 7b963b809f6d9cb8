"""Checksums of the ERP's sales orders for the portal's reconciliation (a blueprint of the simulator API).

``GET  /reconcile/SalesOrders/buckets``: per bucket (legal entity, ordering customer, month of the order)
the number of orders and lines and the sums of their row checksums (see :mod:`sync.checksum`), computed
by this database in two aggregate queries.
``POST /reconcile/SalesOrders/orders`` ``{"buckets": [[area, account, "YYYY-MM"], ...]}``: per order of
those buckets its checksum, its number of lines and the sum of their checksums.
``POST /reconcile/SalesOrders/records`` ``{"orders": [[area, number], ...]}``: the full header and line
records of those orders, shaped exactly like the entity sets' OData JSON (for the portal's repair).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Engine, Join, and_, func, select, tuple_

from sync.checksum import Part, install, month_of, row_hash

from .store import sales_order_headers as headers
from .store import sales_order_lines as lines

MAX_BUCKETS = 5000
MAX_ORDERS = 1000

HEADER_PARTS: tuple[Part, ...] = (
    ("str", headers.c.SalesOrderNumber),
    ("str", headers.c.SalesOrderStatus),
    ("str", headers.c.SalesOrderProcessingStatus),
    ("str", headers.c.DocumentStatus),
    ("money", headers.c.TotalAmount),
    ("date", headers.c.RequestedReceiptDate),
    ("date", headers.c.ConfirmedReceiptDate),
    ("str", headers.c.CurrencyCode),
    ("str", headers.c.DeliveryAddressCountryRegionId),
)
LINE_PARTS: tuple[Part, ...] = (
    ("str", lines.c.SalesOrderNumber),
    ("int", lines.c.LineNumber),
    ("str", lines.c.ItemNumber),
    ("str", lines.c.SalesOrderLineStatus),
    ("qty", lines.c.OrderedSalesQuantity),
    ("qty", lines.c.ConfirmedSalesQuantity),
    ("money", lines.c.LineAmount),
    ("date", lines.c.ConfirmedReceiptDate),
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


def _join() -> Join:
    return headers.join(
        lines,
        and_(
            lines.c.dataAreaId == headers.c.dataAreaId,
            lines.c.SalesOrderNumber == headers.c.SalesOrderNumber,
        ),
    )


@checksums.get("/SalesOrders/buckets")
def bucket_checksums() -> Response:
    with _engine().connect() as conn:
        install(conn)
        dialect = conn.dialect.name
        month = month_of(dialect, headers.c.OrderCreatedDateTime)
        key = (headers.c.dataAreaId, headers.c.OrderingCustomerAccountNumber, month)
        order_rows = conn.execute(
            select(*key, func.count(), func.sum(row_hash(dialect, HEADER_PARTS))).group_by(*key)
        ).all()
        line_rows = conn.execute(
            select(*key, func.count(), func.sum(row_hash(dialect, LINE_PARTS)))
            .select_from(_join())
            .group_by(*key)
        ).all()
    found: dict[tuple[str, str, str], list[int]] = {
        (a, c, m): [int(n), int(s or 0), 0, 0] for a, c, m, n, s in order_rows
    }
    for a, c, m, n, s in line_rows:
        found.setdefault((a, c, m), [0, 0, 0, 0])[2:] = [int(n), int(s or 0)]
    return _json({"value": [[*k, *v] for k, v in found.items()]})


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
def order_checksums() -> Response:
    try:
        buckets = _pairs(request.get_json(silent=True), "buckets", 3, MAX_BUCKETS)
        ranges = [(area, account, *_month_range(month)) for area, account, month in buckets]
    except ValueError as exc:
        return _bad(str(exc))
    out: list[list[Any]] = []
    with _engine().connect() as conn:
        install(conn)
        dialect = conn.dialect.name
        line_hash = func.coalesce(func.sum(row_hash(dialect, LINE_PARTS)), 0)
        stmt = (
            select(
                headers.c.SalesOrderNumber,
                row_hash(dialect, HEADER_PARTS),
                func.count(lines.c.LineNumber),
                line_hash,
            )
            .select_from(headers.outerjoin(lines, _join().onclause))
            .group_by(headers.c.dataAreaId, headers.c.SalesOrderNumber)
        )
        for area, account, start, end in ranges:
            rows = conn.execute(
                stmt.where(
                    headers.c.dataAreaId == area,
                    headers.c.OrderingCustomerAccountNumber == account,
                    headers.c.OrderCreatedDateTime >= start,
                    headers.c.OrderCreatedDateTime < end,
                )
            ).all()
            out += [[area, number, int(h), int(n), int(s)] for number, h, n, s in rows]
    return _json({"value": out})


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
            .where(tuple_(headers.c.dataAreaId, headers.c.SalesOrderNumber).in_(keys))
            .order_by(headers.c.ChangeSequence)
        ).all()
        line_rows = conn.execute(
            select(*lines.columns)
            .where(tuple_(lines.c.dataAreaId, lines.c.SalesOrderNumber).in_(keys))
            .order_by(lines.c.ChangeSequence)
        ).all()
    return _json(
        {
            "headers": _to_json_rows(list(headers.columns), header_rows),
            "lines": _to_json_rows(list(lines.columns), line_rows),
        }
    )
