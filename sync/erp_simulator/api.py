"""The simulated ERP's HTTP API: F&O-shaped OData JSON over the store, keyset-paged.

``GET /data/<EntitySet>`` supports ``$filter`` (see :mod:`.odata`), ``$top`` (page size),
``$skiptoken`` (last ChangeSequence of the previous page), ``$count`` and ``$select``. Rows are always
ordered by ChangeSequence; ``@odata.nextLink`` is present only when more rows follow.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import orjson
from flask import Flask, Response, current_app, request
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Numeric,
    Table,
    and_,
    cast,
    func,
    not_,
    select,
)
from werkzeug.exceptions import HTTPException

from .checksums import checksums
from .faults import FORCED_REJECT_CODE, FaultInjector
from .lifecycle import Ticker
from .odata import NULL, Comparison, ODataFilterError, parse_comparisons
from .store import (
    ENTITY_KEYS,
    ENTITY_SETS,
    create_store,
    sales_order_headers,
    sales_order_lines,
)
from .writes import BadPayload, NotFound, Rejected, WriteResult, create_contact, create_sales_order, order_key
from .writes import update_contact as update_contact_person

log = logging.getLogger(__name__)

DEFAULT_TOP = 1000
MAX_TOP = 5000
#: System query options this service understands; any other ``$`` option is a 400.
SUPPORTED_OPTIONS = frozenset({"$filter", "$top", "$skiptoken", "$count", "$select"})
#: How many rows older than a ModifiedDateTime bound a ChangeSequence index scan may skip.
OLDER_ROWS_PROBE = 20_000
_DIGITS = re.compile(r"[0-9]{1,18}")
JSON_MIMETYPE = "application/json; odata.metadata=minimal; charset=utf-8"


class ApiError(Exception):
    """An error answered as ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ErpState:
    """What the simulator app keeps in ``app.extensions["erp_simulator"]``."""

    engine: Engine
    database_url: str
    faults: FaultInjector
    ticker: Ticker | None = None


@dataclass(frozen=True)
class PageQuery:
    """The validated query options of one entity-set request."""

    comparisons: tuple[Comparison, ...]
    top: int
    skiptoken: int | None
    count: bool
    fields: tuple[str, ...]
    passthrough: tuple[tuple[str, str], ...]  # options repeated in the next link


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a column's non-null Python value becomes a JSON value (None: it already is one).

    Numeric values come back from the database at the column's scale (2 for money, 4 for
    quantities), so a float prints them exactly as stored.
    """
    col_type = column.type
    if isinstance(col_type, Numeric):
        return float
    if isinstance(col_type, DateTime):
        return lambda v: v.isoformat(timespec="seconds") + "Z"
    if isinstance(col_type, Date):
        return date.isoformat
    return None


def _to_json_rows(columns: Sequence[Column[Any]], rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Database rows as JSON-ready dicts keyed by the F&O field names."""
    names = [str(col.name) for col in columns]  # plain str: orjson refuses SQLAlchemy's quoted_name keys
    converters = [(str(col.name), fn) for col in columns if (fn := _converter(col)) is not None]
    result = []
    for row in rows:
        item = dict(zip(names, row, strict=False))
        for name, fn in converters:
            value = item[name]
            if value is not None:
                item[name] = fn(value)
        result.append(item)
    return result


def _error_response(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


#: How orjson writes what a page's rows hold: naive UTC date-times as ``2026-11-20T10:00:00Z`` (whole
#: seconds), dates as ``2026-11-20``; the same text as :func:`_converter`'s.
_JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


def _json_response(payload: Mapping[str, Any]) -> Response:
    body = orjson.dumps(payload, option=_JSON_OPTIONS)
    response = Response(body, content_type=JSON_MIMETYPE)
    response.headers["OData-Version"] = "4.0"
    return response


def _base_url() -> str:
    return request.url_root.rstrip("/") + "/data"


def _table_or_404(entity_set: str) -> Table:
    table = ENTITY_SETS.get(entity_set)
    if table is None:
        raise ApiError(404, "NotFound", f"Resource not found for the segment '{entity_set}'.")
    return table


def parse_page_query(table: Table, args: Mapping[str, str]) -> PageQuery:
    """Validate the system query options of a request against ``table``."""
    unknown = sorted(k for k in args if k.startswith("$") and k not in SUPPORTED_OPTIONS)
    if unknown:
        raise ApiError(400, "BadRequest", f"Query option {unknown[0]} is not supported.")
    columns = {col.name: col for col in table.columns}
    passthrough: list[tuple[str, str]] = []

    comparisons: list[Comparison] = []
    filter_text = args.get("$filter")
    if filter_text is not None:
        try:
            comparisons = parse_comparisons(filter_text, columns)
        except ODataFilterError as exc:
            raise ApiError(400, "BadRequest", f"Invalid $filter: {exc}") from None
        passthrough.append(("$filter", filter_text))

    top = DEFAULT_TOP
    top_text = args.get("$top")
    if top_text is not None:
        if not _DIGITS.fullmatch(top_text) or not 1 <= int(top_text) <= MAX_TOP:
            raise ApiError(400, "BadRequest", f"$top must be an integer from 1 to {MAX_TOP}.")
        top = int(top_text)
        passthrough.append(("$top", str(top)))

    skiptoken = None
    token_text = args.get("$skiptoken")
    if token_text is not None:
        if not _DIGITS.fullmatch(token_text):
            raise ApiError(400, "BadRequest", "$skiptoken is not valid.")
        skiptoken = int(token_text)

    count_text = args.get("$count")
    if count_text not in (None, "true", "false"):
        raise ApiError(400, "BadRequest", "$count must be true or false.")
    count = count_text == "true"
    if count:
        passthrough.append(("$count", "true"))

    fields = tuple(columns)
    select_text = args.get("$select")
    if select_text is not None:
        chosen = tuple(name.strip() for name in select_text.split(","))
        bad = [name for name in chosen if name not in columns]
        if bad or not chosen:
            raise ApiError(400, "BadRequest", f"Unknown field in $select: {bad[0] if bad else ''}")
        fields = tuple(dict.fromkeys(chosen))
        passthrough.append(("$select", ",".join(fields)))
    return PageQuery(tuple(comparisons), top, skiptoken, count, fields, tuple(passthrough))


def _modified_since_bound(conn: Connection, table: Table, query: PageQuery) -> ColumnElement[bool] | None:
    """A ChangeSequence lower bound implied by a ModifiedDateTime lower bound (first page only).

    Rows are modified roughly in ChangeSequence order, which no planner knows: for
    ``ModifiedDateTime ge <recent>`` PostgreSQL walks the ChangeSequence index from the start
    (expecting the matches to be spread evenly) and SQLite, without range statistics, may sort every
    matching row. When many rows are older than the bound, the smallest ChangeSequence of the
    matching rows (read from the (ModifiedDateTime, ChangeSequence) index) lets the page start where
    the matches start; when few are, the ChangeSequence index reaches the matches at once. Later
    pages start at their skiptoken.
    """
    lower = [
        c.expression()
        for c in query.comparisons
        if c.column.name == "ModifiedDateTime" and c.op in ("eq", "ge", "gt")
    ]
    if not lower or query.skiptoken is not None:
        return None
    seq = table.c.ChangeSequence
    older = select(seq).where(not_(and_(*lower))).limit(OLDER_ROWS_PROBE).subquery()
    if conn.execute(select(func.count()).select_from(older)).scalar_one() < OLDER_ROWS_PROBE:
        return seq >= 0
    first = select(func.min(seq + 0)).where(*lower).scalar_subquery()  # + 0: use the covering index
    return seq >= first


def _implied_by_token(comparison: Comparison, skiptoken: int | None) -> bool:
    """Whether a ChangeSequence lower bound of ``$filter`` says no more than ``ChangeSequence > skiptoken``.

    Such a bound is dropped from later pages: given two lower bounds on the column, SQLite starts the
    index range at the first one (``ChangeSequence gt 0`` of an initial sync), so page n walked the n-1
    pages before it and reading a million orders took quadratic time.
    """
    if skiptoken is None or comparison.column.name != "ChangeSequence" or comparison.value is NULL:
        return False
    value = comparison.value
    return (comparison.op == "gt" and value <= skiptoken) or (
        comparison.op == "ge" and value <= skiptoken + 1
    )


def fetch_page(
    conn: Connection, table: Table, query: PageQuery
) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """One page of rows as dicts, the ``$count`` (or None) and the next skiptoken.

    The values are ready for :func:`_json_response` (orjson writes dates and date-times itself); a row
    becomes a dict in one step, no Python per value: serving pages of changes was most of the
    simulator's time.
    """
    seq = table.c.ChangeSequence
    conditions = [c.expression() for c in query.comparisons]
    page_conditions = [c.expression() for c in query.comparisons if not _implied_by_token(c, query.skiptoken)]
    stmt = select(*_page_columns(table, query.fields), seq)
    stmt = stmt.where(*page_conditions).order_by(seq).limit(query.top + 1)
    bound = _modified_since_bound(conn, table, query)
    if bound is not None:
        stmt = stmt.where(bound)
    if query.skiptoken is not None:
        stmt = stmt.where(seq > query.skiptoken)
    rows = conn.execute(stmt).all()
    next_token = None
    if len(rows) > query.top:
        rows = rows[: query.top]
        next_token = int(rows[-1][-1])
    names = [str(name) for name in query.fields]  # plain str: orjson refuses SQLAlchemy's quoted_name keys
    page = [dict(zip(names, row, strict=False)) for row in rows]  # without the trailing ChangeSequence
    total = None
    if query.count:
        count_stmt = select(func.count()).select_from(table).where(*conditions)
        total = int(conn.execute(count_stmt).scalar_one())
    return page, total, next_token


def _page_columns(table: Table, fields: Sequence[str]) -> list[ColumnElement[Any]]:
    """The selected columns, decimals read as floats by the database (``CAST AS FLOAT``): the number
    JSON carries, without a Decimal per value on the way (money and quantities have at most 18 digits
    and 4 decimals, so the float prints as stored, as :func:`_converter`'s does)."""
    return [
        cast(table.c[name], Float).label(name) if isinstance(table.c[name].type, Numeric) else table.c[name]
        for name in fields
    ]


def _next_link(entity_set: str, query: PageQuery, token: int) -> str:
    options = [*query.passthrough, ("$skiptoken", str(token))]
    encoded = "&".join(f"{key}={quote(value, safe=',')}" for key, value in options)
    return f"{_base_url()}/{entity_set}?{encoded}"


def _engine() -> Engine:
    state: ErpState = current_app.extensions["erp_simulator"]
    return state.engine


def _state() -> ErpState:
    state: ErpState = current_app.extensions["erp_simulator"]
    return state


def read_entity_set(entity_set: str) -> Response:
    """``GET /data/<EntitySet>``."""
    table = _table_or_404(entity_set)
    query = parse_page_query(table, request.args)
    with _engine().connect() as conn:
        page, total, next_token = fetch_page(conn, table, query)
    faults = _state().faults
    for record in page:
        if "ChangeSequence" in record and faults.roll(faults.settings.malformed_rate):
            faults.damage(entity_set, table, record)
    payload: dict[str, Any] = {"@odata.context": f"{_base_url()}/$metadata#{entity_set}"}
    if total is not None:
        payload["@odata.count"] = total
    payload["value"] = page
    if next_token is not None:
        payload["@odata.nextLink"] = _next_link(entity_set, query, next_token)
    return _json_response(payload)


def service_document() -> Response:
    """``GET /data``: the entity sets this service offers."""
    entity_sets = [{"name": name, "kind": "EntitySet", "url": name} for name in ENTITY_SETS]
    return _json_response({"@odata.context": f"{_base_url()}/$metadata", "value": entity_sets})


_EDM_TYPES: Sequence[tuple[type, str]] = (
    (Boolean, "Edm.Boolean"),
    (BigInteger, "Edm.Int64"),
    (Integer, "Edm.Int32"),
    (Numeric, "Edm.Decimal"),
    (DateTime, "Edm.DateTimeOffset"),
    (Date, "Edm.Date"),
)


def _edm_property(column: Column[Any]) -> str:
    edm = next((name for cls, name in _EDM_TYPES if isinstance(column.type, cls)), "Edm.String")
    extra = ""
    if edm == "Edm.Decimal":
        extra = f' Precision="{column.type.precision}" Scale="{column.type.scale}"'  # type: ignore[attr-defined]
    nullable = "true" if column.nullable else "false"
    return f'<Property Name={quoteattr(column.name)} Type="{edm}" Nullable="{nullable}"{extra}/>'


def metadata_document() -> Response:
    """``GET /data/$metadata``: a minimal CSDL description of the entity sets."""
    types, sets = [], []
    for name, table in ENTITY_SETS.items():
        keys = "".join(f"<PropertyRef Name={quoteattr(k)}/>" for k in ENTITY_KEYS[name])
        props = "".join(_edm_property(col) for col in table.columns)
        types.append(f'<EntityType Name="{name}"><Key>{keys}</Key>{props}</EntityType>')
        sets.append(f'<EntitySet Name="{name}" EntityType="Microsoft.Dynamics.DataEntities.{name}"/>')
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:DataServices><Schema Namespace="Microsoft.Dynamics.DataEntities" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + "".join(types)
        + '<EntityContainer Name="Resources">'
        + "".join(sets)
        + "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )
    return Response(xml, mimetype="application/xml")


def _row_json(table: Table, row: Any) -> dict[str, Any]:
    columns = list(table.columns)
    return _to_json_rows(columns, [tuple(row[c.name] for c in columns)])[0]


def _write_response(entity_set: str, result: WriteResult) -> Response:
    """The created or found record, as GET would serve it (an order with its ``SalesOrderLines``)."""
    table = ENTITY_SETS[entity_set]
    payload: dict[str, Any] = {"@odata.context": f"{_base_url()}/$metadata#{entity_set}/$entity"}
    payload.update(_row_json(table, result.row))
    if table is sales_order_headers:
        payload["SalesOrderLines"] = [_row_json(sales_order_lines, line) for line in result.lines]
    response = _json_response(payload)
    response.status_code = result.status
    return response


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "BadRequest", "The body must be JSON (Content-Type: application/json).")
    return body


def create_entity(entity_set: str) -> Response:
    """``POST /data/SalesOrderHeadersV2`` (header with ``SalesOrderLines``), ``POST /data/ContactPersonsV2``.

    201 with the created record; 200 with the existing one when the idempotency key was seen before;
    422 ``{"error": {"code", "message"}}`` when the ERP refuses it (the same answer again for that key).
    """
    _table_or_404(entity_set)
    state = _state()
    body = _json_body()
    header_key = request.headers.get("Idempotency-Key")
    try:
        if entity_set == "SalesOrderHeadersV2":
            key = order_key(body if isinstance(body, dict) else {}, header_key)
            forced = None
            s = state.faults.settings
            if s.reject_all or state.faults.roll(s.reject_rate):
                forced = Rejected(FORCED_REJECT_CODE, s.reject_message)
            result = create_sales_order(state.engine, body, key, state.faults.clock(), forced=forced)
        elif entity_set == "ContactPersonsV2":
            if not header_key or len(header_key) > 64:
                raise BadPayload("An Idempotency-Key header of at most 64 characters is required.")
            result = create_contact(state.engine, body, header_key, state.faults.clock())
        else:
            raise ApiError(405, "MethodNotAllowed", f"{entity_set} is read-only.")
    except BadPayload as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None
    except Rejected as exc:
        raise ApiError(422, exc.code, exc.message) from None
    return _write_response(entity_set, result)


def patch_contact(contact_person_id: str) -> Response:
    """``PATCH /data/ContactPersonsV2/<ContactPersonId>``: change the given fields."""
    state = _state()
    try:
        result = update_contact_person(state.engine, contact_person_id, _json_body(), state.faults.clock())
    except BadPayload as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None
    except Rejected as exc:
        raise ApiError(422, exc.code, exc.message) from None
    except NotFound as exc:
        raise ApiError(404, "NotFound", str(exc)) from None
    return _write_response("ContactPersonsV2", result)


def _inject_faults() -> Response | None:
    """Before a ``/data`` request: added latency, outage, a 5xx, or an answer that comes too late."""
    if not request.path.startswith("/data"):
        return None
    faults = _state().faults
    s = faults.settings
    faults.wait(s.latency_ms)
    if faults.in_outage():
        return _error_response(503, "ServiceUnavailable", "The ERP is down for maintenance.")
    if faults.roll(s.error_rate):
        return _error_response(503, "ServiceUnavailable", "The ERP is temporarily unavailable.")
    if faults.roll(s.timeout_rate):
        faults.wait(s.timeout_ms)
    return None


def _lose_answer(response: Response) -> Response:
    """After a successful write: maybe lose the answer (the work is committed all the same)."""
    if (
        request.method in ("POST", "PATCH")
        and request.path.startswith("/data")
        and response.status_code < 300
    ):
        faults = _state().faults
        if faults.roll(faults.settings.lose_answer_rate):
            faults.answer_lost()
            return _error_response(502, "BadGateway", "The connection to the ERP was lost.")
    return response


def get_faults() -> Response:
    """``GET /admin/faults``: the current fault settings and what has been injected."""
    faults = _state().faults
    return _json_response(
        {
            **faults.settings.as_json(),
            "seed": faults.seed,
            "now": faults.clock().isoformat() + "Z",
            "answers_lost": faults.answers_lost,
            "malformed_served": [list(item) for item in faults.malformed_served],
        }
    )


def set_faults() -> Response:
    """``POST /admin/faults``: change some settings (``{"reset": true}`` first turns all off)."""
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "The body must be a JSON object.")
    try:
        _state().faults.configure(body)
    except ValueError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from None
    return get_faults()


def health() -> Response:
    """``GET /health``."""
    return _json_response({"status": "ok"})


def _handle_api_error(exc: ApiError) -> Response:
    return _error_response(exc.status, exc.code, exc.message)


def _handle_http_error(exc: HTTPException) -> Response:
    return _error_response(exc.code or 500, type(exc).__name__, exc.description or exc.name)


def _handle_unexpected(exc: Exception) -> Response:
    log.exception("ERP simulator request failed: %s %s", request.method, request.path)
    return _error_response(500, "InternalError", "The ERP could not process the request.")


def create_erp_app(
    database_url: str,
    *,
    faults: FaultInjector | None = None,
    tick_seconds: float = 0,
    tick_seed: int | None = None,
) -> Flask:
    """The simulator's Flask app over the store at ``database_url`` (tables are created if missing).

    ``faults`` lets a test hold the injector (seed, clock); by default there are none until
    ``POST /admin/faults`` switches some on. ``tick_seconds > 0`` starts the lifecycle ticker (orders
    move on, phone/EDI orders, master data changes; see :mod:`.lifecycle`); the default 0 keeps the
    embedded simulator quiet. ``app.extensions["erp_simulator"].ticker.stop()`` ends it.
    """
    app = Flask(__name__)
    app.config["ERP_DATABASE_URL"] = database_url
    injector = faults or FaultInjector()
    engine = create_store(database_url)
    ticker = None
    if tick_seconds > 0:
        ticker = Ticker(engine, tick_seconds, clock=injector.clock, seed=tick_seed).start()
    app.extensions["erp_simulator"] = ErpState(engine, database_url, injector, ticker)
    app.add_url_rule("/health", "health", health)
    app.add_url_rule("/admin/faults", "get_faults", get_faults, methods=["GET"])
    app.add_url_rule("/admin/faults", "set_faults", set_faults, methods=["POST"])
    app.add_url_rule("/data", "service_document", service_document)
    app.add_url_rule("/data/", "service_document_slash", service_document)
    app.add_url_rule("/data/$metadata", "metadata", metadata_document)
    app.add_url_rule("/data/<entity_set>", "entity_set", read_entity_set)
    app.add_url_rule("/data/<entity_set>", "create_entity", create_entity, methods=["POST"])
    app.add_url_rule(
        "/data/ContactPersonsV2/<contact_person_id>", "patch_contact", patch_contact, methods=["PATCH"]
    )
    app.before_request(_inject_faults)
    app.after_request(_lose_answer)
    app.register_blueprint(checksums)  # the portal's reconciliation (sync/erp_simulator/checksums.py)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    return app
