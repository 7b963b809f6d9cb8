"""Sales orders as each principal may see them: grid pages, status counts, one order, export rows.

Every read starts from `order_criteria(principal)`; what the browser sends (sort, filters, ids, the
keyset cursor) is parsed here into an `OrderQuery` and only ever narrows that scope.

Paging is keyset (seek) paging: a page is "the next N rows after this (sort value, id)", so a page deep in
the list costs what the first one does. The grid asks for row offsets; the page remembers, per offset, the
key of the row before it (`Cursor`). Only an offset it has never seen (a jump) is resolved once by an
index-only OFFSET query for that key.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Select, and_, bindparam, false, func, or_, select, true
from sqlalchemy.engine import Compiled, Dialect, Engine, processors
from sqlalchemy.orm import Session, aliased, selectinload

from data.access import Principal, order_criteria, visible_orders
from data.accounts import account_choices, parse_account_id
from data.db import LIKE_ESCAPE, bind_processors, like_pattern, run_read
from data.models import (
    Contact,
    CustomerAccount,
    OrderEvent,
    ProcessingStatus,
    SalesOrder,
    SyncRun,
    SyncState,
)

PAGE_SIZE = 100
MAX_PAGE = 500
MAX_TEXT = 100
COUNT_CAP = 10_000  # status chips count up to this, then say "10,000+"

Placer = aliased(Contact)
Customer = aliased(CustomerAccount)

# Grid column -> the column it sorts by (every column of the grid can be sorted).
SORT_COLUMNS: dict[str, Any] = {
    "order_number": SalesOrder.sales_order_number,
    "sales_order_name": SalesOrder.sales_order_name,
    "customer": SalesOrder.ordering_customer_account_number,
    "customer_reference": SalesOrder.customer_requisition_number,
    "order_date": SalesOrder.order_date,
    "requested_receipt_date": SalesOrder.requested_receipt_date,
    "confirmed_receipt_date": SalesOrder.confirmed_receipt_date,
    "status": SalesOrder.processing_status,
    "sync_state": SalesOrder.sync_state,
    "total": SalesOrder.total_amount,
    "currency": SalesOrder.currency_code,
    "placed_by": Placer.last_name,
    "delivery_address": SalesOrder.delivery_address_description,
}
#: The Python type of each sort column's values (looked up once: through the ORM attribute it costs 5 us).
_SORT_TYPES: dict[str, type] = {name: column.type.python_type for name, column in SORT_COLUMNS.items()}
NULLABLE_SORTS = frozenset({"order_number", "customer_reference", "confirmed_receipt_date", "placed_by"})
DEFAULT_SORT = "order_date"
STATUSES = tuple(ProcessingStatus)
SYNC_STATES = tuple(SyncState)


class QueryError(ValueError):
    """A filter value that cannot be used, with the field it belongs to (shown next to that field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class OrderQuery:
    """What the reader asked for: filters and sort. Built only through `parse_query`."""

    statuses: tuple[str, ...] = ()
    sync_states: tuple[str, ...] = ()
    ordered_from: date | None = None
    ordered_to: date | None = None
    receipt_from: date | None = None
    receipt_to: date | None = None
    customer_account_id: int | None = None
    placed_by_contact_id: int | None = None
    text: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True

    def signature(self) -> str:
        """Identifies the ordered row set, so remembered cursors are dropped when it changes."""
        return repr(self)


def _date(value: Any, name: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


def _id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        return -1  # an id that matches nothing, rather than an error: ids come from our own pickers
    return number if 0 < number < 2**63 else -1


def _choices(value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = value if isinstance(value, list | tuple) else [value] if value else []
    return tuple(v for v in allowed if v in {str(x) for x in values})


def parse_query(raw: Mapping[str, Any], sort_model: Any = None) -> OrderQuery:
    """Validate browser input into an OrderQuery; unusable dates raise QueryError naming the field.

    `sort_model` is AG Grid's ([{"colId": ..., "sort": "asc" | "desc"}]); a `sort` key in `raw`
    ("-order_date") is the same for export links.
    """
    errors: dict[str, str] = {}
    sort, descending = DEFAULT_SORT, True
    if isinstance(sort_model, list) and sort_model and isinstance(sort_model[0], dict):
        column = sort_model[0].get("colId")
        if column in SORT_COLUMNS:
            sort, descending = column, sort_model[0].get("sort") != "asc"
    elif isinstance(raw.get("sort"), str) and raw["sort"].lstrip("-") in SORT_COLUMNS:
        sort, descending = raw["sort"].lstrip("-"), raw["sort"].startswith("-")
    text = raw.get("text")
    query = OrderQuery(
        statuses=_choices(raw.get("status"), STATUSES),
        sync_states=_choices(raw.get("sync"), SYNC_STATES),
        ordered_from=_date(raw.get("ordered_from"), "ordered_from", errors),
        ordered_to=_date(raw.get("ordered_to"), "ordered_to", errors),
        receipt_from=_date(raw.get("receipt_from"), "receipt_from", errors),
        receipt_to=_date(raw.get("receipt_to"), "receipt_to", errors),
        customer_account_id=_id(raw.get("customer")),
        placed_by_contact_id=_id(raw.get("placed_by")),
        text=" ".join(text.split())[:MAX_TEXT] if isinstance(text, str) else "",
        sort=sort,
        descending=descending,
    )
    for start, end, name in (
        (query.ordered_from, query.ordered_to, "ordered_to"),
        (query.receipt_from, query.receipt_to, "receipt_to"),
    ):
        if start and end and end < start:
            errors[name] = "The end date is before the start date."
    if errors:
        raise QueryError(errors)
    return query


def as_params(query: OrderQuery) -> dict[str, Any]:
    """The query as URL parameters (for the export links); `parse_query` reads them back."""
    params: dict[str, Any] = {
        "status": list(query.statuses),
        "sync": list(query.sync_states),
        "ordered_from": query.ordered_from,
        "ordered_to": query.ordered_to,
        "receipt_from": query.receipt_from,
        "receipt_to": query.receipt_to,
        "customer": query.customer_account_id,
        "placed_by": query.placed_by_contact_id,
        "text": query.text,
        "sort": ("-" if query.descending else "") + query.sort,
    }
    return {
        k: v.isoformat() if isinstance(v, date) else v for k, v in params.items() if v not in (None, "", [])
    }


def _filter_values(query: OrderQuery) -> dict[str, Any]:
    """The values of the query's filters, by the names of their bind parameters."""
    return {
        "statuses": list(query.statuses),
        "sync_states": list(query.sync_states),
        "ordered_from": datetime.combine(query.ordered_from, time()) if query.ordered_from else None,
        "ordered_to": datetime.combine(query.ordered_to + timedelta(days=1), time())
        if query.ordered_to
        else None,
        "receipt_from": query.receipt_from,
        "receipt_to": query.receipt_to,
        "customer": query.customer_account_id,
        "placed_by": query.placed_by_contact_id,
        "text": like_pattern(query.text.lower()) if query.text else None,
    }


def _filters(
    principal: Principal, query: OrderQuery, *, with_status: bool = True, expanding: bool = True
) -> list[ColumnElement[bool]]:
    """The scope first, then each filter the reader set (filters only narrow the scope).

    Filter values are named bind parameters, so a page's statement can be reused with other values. A list
    is one expanding parameter, or (``expanding=False``, for SQL compiled once) one parameter per item:
    ``statuses_0``, ``statuses_1``, ... as `_bind_values` names them.
    """
    values = _filter_values(query)

    def bound(name: str, **kw: Any) -> Any:
        return bindparam(name, values[name], **kw)

    def one_of(name: str) -> Any:
        if expanding:
            return bound(name, expanding=True)
        return [bindparam(f"{name}_{i}", value) for i, value in enumerate(values[name])]

    criteria: list[ColumnElement[bool]] = [order_criteria(principal)]
    if with_status and query.statuses:
        criteria.append(SalesOrder.processing_status.in_(one_of("statuses")))
    if query.sync_states:
        criteria.append(SalesOrder.sync_state.in_(one_of("sync_states")))
    if query.ordered_from:
        criteria.append(SalesOrder.order_date >= bound("ordered_from"))
    if query.ordered_to:
        criteria.append(SalesOrder.order_date < bound("ordered_to"))
    if query.receipt_from:
        criteria.append(SalesOrder.requested_receipt_date >= bound("receipt_from"))
    if query.receipt_to:
        criteria.append(SalesOrder.requested_receipt_date <= bound("receipt_to"))
    if query.customer_account_id is not None:
        # Only administrators choose a customer; for everyone else the scope already fixes it.
        criteria.append(SalesOrder.customer_account_id == bound("customer"))
    if query.placed_by_contact_id is not None:
        allowed = principal.is_admin or principal.is_representative
        criteria.append(SalesOrder.placed_by_contact_id == bound("placed_by") if allowed else false())
    if query.text:
        pattern = bound("text")
        criteria.append(
            or_(
                *(
                    func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                    for column in (
                        SalesOrder.sales_order_number,
                        SalesOrder.portal_order_id,
                        SalesOrder.sales_order_name,
                        SalesOrder.customer_requisition_number,
                    )
                )
            )
        )
    return criteria


# --- keyset paging ---------------------------------------------------------------------------------


def _nulls_sort_low(dialect: Dialect) -> bool:
    """Where the database puts NULLs in an ascending index: first on SQLite, last on PostgreSQL."""
    return dialect.name == "sqlite"


def _sort_column(query: OrderQuery) -> Any:
    return SORT_COLUMNS[query.sort]


def _seek(column: Any, query: OrderQuery, key: tuple[Any, int], nulls_low: bool) -> ColumnElement[bool]:
    """Rows strictly after `key` = (sort value, id) in the query's order, NULL sort values included."""
    value, last_id = key
    after: Any = bindparam("after_id", last_id)
    after_id = SalesOrder.id < after if query.descending else SalesOrder.id > after
    nullable = query.sort in NULLABLE_SORTS
    nulls_first = nulls_low != query.descending  # in the order the rows are read
    if value is None:
        return or_(and_(column.is_(None), after_id), column.is_not(None) if nulls_first else false())
    bound = bindparam("after_value", value, type_=column.type)
    beyond = column < bound if query.descending else column > bound
    step = (column <= bound if query.descending else column >= bound) & (beyond | after_id)
    return or_(step, column.is_(None)) if nullable and not nulls_first else step


def _ordering(query: OrderQuery) -> tuple[Any, Any]:
    column = _sort_column(query)
    if query.descending:
        return column.desc(), SalesOrder.id.desc()
    return column.asc(), SalesOrder.id.asc()


def _page_statement(principal: Principal, query: OrderQuery, *, expanding: bool = True) -> Select[Any]:
    columns: list[Any] = [
        SalesOrder.id,
        SalesOrder.sales_order_number,
        SalesOrder.portal_order_id,
        SalesOrder.sales_order_name,
        SalesOrder.ordering_customer_account_number,
        SalesOrder.customer_requisition_number,
        SalesOrder.order_date,
        SalesOrder.requested_receipt_date,
        SalesOrder.confirmed_receipt_date,
        SalesOrder.processing_status,
        SalesOrder.sync_state,
        SalesOrder.total_amount,
        SalesOrder.currency_code,
        SalesOrder.delivery_address_description,
        SalesOrder.origin_code,
    ]
    stmt = select(*columns)
    if principal.is_admin or principal.is_representative or query.sort == "placed_by":
        stmt = stmt.add_columns(Placer.first_name, Placer.last_name, Placer.email).outerjoin(
            Placer, Placer.id == SalesOrder.placed_by_contact_id
        )
    if principal.is_admin:
        # An outer join on purpose: the planner then always reads orders first (through the sort's index)
        # instead of looping over the accounts and sorting every order it finds.
        stmt = stmt.add_columns(Customer.name).outerjoin(
            Customer, Customer.id == SalesOrder.customer_account_id
        )
    return stmt.where(*_filters(principal, query, expanding=expanding))


def _key_of(row: Any, query: OrderQuery) -> list[Any]:
    value = row.last_name if query.sort == "placed_by" else getattr(row, SORT_COLUMNS[query.sort].key)
    return [_jsonable(value), row.id]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _parse_key(raw: Any, query: OrderQuery) -> tuple[Any, int] | None:
    """A cursor from the browser, checked and typed like the sort column (garbage gives no cursor)."""
    if not (isinstance(raw, list | tuple) and len(raw) == 2 and isinstance(raw[1], int)):
        return None
    value, last_id = raw
    if value is None:
        return None, last_id
    python_type = _SORT_TYPES[query.sort]
    try:
        if python_type is datetime:
            return datetime.fromisoformat(str(value)), last_id
        if python_type is date:
            return date.fromisoformat(str(value)), last_id
        if python_type is Decimal:
            return Decimal(str(value)), last_id
        return str(value)[: MAX_TEXT * 3], last_id
    except (ValueError, InvalidOperation):
        return None


@dataclass
class Page:
    rows: list[Any]  # named tuples: the selected columns as attributes
    last_row: int | None  # the total row count once the end is reached, else None ("more to come")
    cursors: dict[str, list[Any]] = field(default_factory=dict)  # start row -> key of the row before it


def _key_at(session: Session, principal: Principal, query: OrderQuery, offset: int) -> tuple[Any, int] | None:
    """The key of the row just before `offset`: one index-only OFFSET query, only for jumps."""
    column = _sort_column(query)
    stmt = select(column, SalesOrder.id).where(*_filters(principal, query))
    if query.sort == "placed_by":
        stmt = stmt.outerjoin(Placer, Placer.id == SalesOrder.placed_by_contact_id)
    row = session.execute(stmt.order_by(*_ordering(query)).offset(offset - 1).limit(1)).first()
    return None if row is None else _parse_key([_jsonable(row[0]), row[1]], query)


@dataclass(frozen=True)
class _CompiledPage:
    """A page SELECT compiled once for one principal and query shape: its SQL text, how its values are
    bound and how its rows are read. It runs on the DB-API cursor: building a SELECT, its cache key and
    SQLAlchemy's execution would cost more than the query itself (bench/RESULTS-orders-grid.md)."""

    compiled: Compiled
    sql: str
    positional: tuple[str, ...] | None  # bind names in order, for a positional paramstyle (SQLite)
    bind: dict[str, Callable[[Any], Any]]  # SQLAlchemy's own conversions of the values
    types: tuple[Any, ...]
    make_row: Callable[[Iterable[Any]], Any]  # a named tuple: the columns as attributes, as in a Row
    readers: dict[tuple[Any, ...], list[tuple[int, Callable[[Any], Any], Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, stmt: Select[Any], dialect: Dialect) -> _CompiledPage:
        compiled = stmt.compile(dialect=dialect)
        positional = tuple(str(n) for n in compiled.positiontup or ()) if dialect.positional else None
        columns = list(stmt.selected_columns)
        row_type = namedtuple("OrderRow", [str(c.key) for c in columns])  # type: ignore[misc]
        return cls(
            compiled,
            compiled.string,
            positional,
            bind_processors(compiled, dialect),
            tuple(c.type for c in columns),
            partial(tuple.__new__, row_type),
        )

    def run(self, engine: Engine, values: dict[str, Any], typed: bool = True) -> list[Any]:
        params = dict(self.compiled.construct_params(values) or {})
        for name, processor in self.bind.items():
            params[name] = processor(params[name])
        bound = tuple(params[n] for n in self.positional) if self.positional is not None else params

        def read(cursor: Any) -> tuple[list[Any], Any]:
            cursor.execute(self.sql, bound)
            return cursor.fetchall(), cursor.description

        fetched, description = run_read(engine, read)
        readers = self._readers(engine.dialect, description) if typed else None
        if not fetched or not readers:
            return list(map(self.make_row, fetched))
        columns: list[Any] = list(zip(*fetched, strict=True))  # converted column by column: C loops
        for i, reader, null_free in readers:
            column = columns[i]
            columns[i] = (
                null_free(column) if null_free is not None and None not in column else map(reader, column)
            )
        return list(map(self.make_row, zip(*columns, strict=True)))

    def _readers(self, dialect: Dialect, description: Any) -> list[tuple[int, Callable[[Any], Any], Any]]:
        """SQLAlchemy's own conversion of each result column that needs one (for these driver types), and
        a faster one for a whole column without NULLs where there is one."""
        driver_types = tuple(d[1] for d in description)
        readers = self.readers.get(driver_types)
        if readers is None:
            readers = []
            for i, (type_, driver_type) in enumerate(zip(self.types, driver_types, strict=True)):
                reader = type_.dialect_impl(dialect).result_processor(dialect, driver_type)
                if reader is not None:
                    readers.append((i, reader, _null_free_reader(type_, reader)))
            self.readers[driver_types] = readers
        return readers


#: The same conversions as SQLAlchemy's readers of SQLite's date and time text, at half their cost, for
#: columns without NULLs: Python's own ISO parsers (which take no None).
_NULL_FREE_READERS: dict[Any, Callable[[Any], Any]] = {
    processors.str_to_datetime: datetime.fromisoformat,
    processors.str_to_date: date.fromisoformat,
}


def _null_free_reader(
    type_: Any, reader: Callable[[Any], Any]
) -> Callable[[Sequence[Any]], Iterable[Any]] | None:
    """A whole column's conversion, for columns without NULLs, equal to SQLAlchemy's value by value.

    Money (a Numeric with a scale that the driver returns as floats, as SQLite does) becomes whole cents
    first: ``Decimal(round(v * 100)) * Decimal("0.01")`` instead of ``Decimal("%.2f" % v)`` (formatting a
    float is the slow half), the same Decimal for every value with at most that many decimals, which is
    all such a column holds. Money was a third of the cost of typing a grid page of 101 rows; this saves
    about 10 us of it."""
    fast = _NULL_FREE_READERS.get(reader)
    if fast is not None:
        return partial(map, fast)
    if isinstance(type_, Numeric) and type_.asdecimal and type_.scale is not None:
        factor, unit = float(10**type_.scale), Decimal(1).scaleb(-type_.scale)
        return lambda column: map(unit.__mul__, map(Decimal, map(round, map(factor.__mul__, column))))
    return None


_PAGES: dict[tuple[Any, ...], _CompiledPage] = {}
_MAX_PAGES = 1000


def _bind_values(query: OrderQuery, key: tuple[Any, int] | None) -> dict[str, Any]:
    """The values of a page's parameters by name: the set filters (a list item by item) and the cursor."""
    values: dict[str, Any] = {}
    for name, value in _filter_values(query).items():
        if isinstance(value, list):
            values.update({f"{name}_{i}": item for i, item in enumerate(value)})
        elif value is not None:
            values[name] = value
    if key is not None:
        values["after_id"] = key[1]
        if key[0] is not None:
            values["after_value"] = key[0]
    return values


def _page_rows(
    session: Session,
    principal: Principal,
    query: OrderQuery,
    key: tuple[Any, int] | None,
    size: int,
    typed: bool,
) -> list[Any]:
    """Up to size + 1 rows after `key`. Pages are compiled per principal and query shape (which filters
    are set, list lengths, sort, how it seeks): building, caching and compiling a SELECT costs several
    times running it."""
    engine = session.get_bind().engine
    dialect = engine.dialect
    values = _bind_values(query, key)
    cursor_shape = None if key is None else key[0] is None
    shape = (dialect.name, principal, tuple(values), query.sort, query.descending, cursor_shape, size)
    page = _PAGES.get(shape)
    if page is None:
        stmt = _page_statement(principal, query, expanding=False)
        if key is not None:
            stmt = stmt.where(_seek(_sort_column(query), query, key, _nulls_sort_low(dialect)))
        page = _CompiledPage.of(stmt.order_by(*_ordering(query)).limit(size + 1), dialect)
        if len(_PAGES) >= _MAX_PAGES:
            _PAGES.clear()
        _PAGES[shape] = page
    return page.run(engine, values, typed)


def fetch_page(
    session: Session,
    principal: Principal,
    query: OrderQuery,
    start: int = 0,
    size: int = PAGE_SIZE,
    cursors: Mapping[str, Any] | None = None,
    *,
    typed: bool = True,
) -> Page:
    """Rows start..start+size of the query's order, read by keyset from the remembered cursor.

    The page is read with `data.db.run_read`: what is committed, not the session's own pending writes.
    With ``typed=False`` each value stays as the database driver returns it (SQLite: dates and times as
    ISO text, money as a float; PostgreSQL: already typed), for a caller that only turns the rows into JSON
    (the grid): typing a page of 101 rows costs a quarter of a fast page's index walk on SQLite, only to be
    turned back into text (bench/RESULTS-orders-grid.md)."""
    start, size = max(0, int(start)), max(1, min(int(size), MAX_PAGE))
    key = None
    if start > 0:
        key = _parse_key((cursors or {}).get(str(start)), query) or _key_at(session, principal, query, start)
        if key is None:
            return Page([], start)
    fetched = _page_rows(session, principal, query, key, size, typed)
    rows = fetched[:size]
    last_row = start + len(rows) if len(fetched) <= size else None
    page = Page(rows, last_row)
    if rows and last_row is None:
        page.cursors[str(start + len(rows))] = _key_of(rows[-1], query)
    return page


def iter_rows(session: Session, principal: Principal, query: OrderQuery, batch: int = 1000) -> Iterator[Any]:
    """Every row of the query in order, in keyset batches (for exports of any size)."""
    start, cursors = 0, dict[str, Any]()
    while True:
        page = fetch_page(session, principal, query, start, min(batch, MAX_PAGE), cursors)
        yield from page.rows
        if page.last_row is not None or not page.rows:
            return
        start += len(page.rows)
        cursors = page.cursors


def status_counts(session: Session, principal: Principal, query: OrderQuery) -> dict[str, int]:
    """Orders per status under the other filters, each counted up to COUNT_CAP + 1 (no full count)."""
    criteria = _filters(principal, query, with_status=False)
    counts: dict[str, int] = {}
    for status in STATUSES:
        capped = (
            select(SalesOrder.id)
            .where(*criteria, SalesOrder.processing_status == status)
            .limit(COUNT_CAP + 1)
        )
        counts[status] = session.scalar(select(func.count()).select_from(capped.subquery())) or 0
    return counts


# --- one order -------------------------------------------------------------------------------------


def get_order(session: Session, principal: Principal, order_id: Any) -> SalesOrder | None:
    """One order with its lines and timeline, or None when it is missing or outside the scope."""
    number = _id(order_id)
    if number is None or number < 0:
        return None
    stmt = visible_orders(principal).where(SalesOrder.id == number)
    return session.scalars(
        stmt.options(selectinload(SalesOrder.lines), selectinload(SalesOrder.events))
    ).first()


def placed_by(session: Session, order: SalesOrder) -> Contact | None:
    return session.get(Contact, order.placed_by_contact_id) if order.placed_by_contact_id else None


def timeline(order: SalesOrder) -> list[OrderEvent]:
    return sorted(order.events, key=lambda e: (e.occurred_at, e.id))


# --- filter choices and freshness ------------------------------------------------------------------


def placer_choices(session: Session, principal: Principal, account_id: int | None) -> list[tuple[int, str]]:
    """Contacts the "Placed by" filter offers: the representative's account, or the chosen customer's."""
    if principal.is_representative and not principal.is_admin:
        account_id = principal.customer_account_id
    if not (principal.is_admin or principal.is_representative) or account_id is None:
        return []
    stmt = (
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email)
        .where(Contact.customer_account_id == account_id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(500)
    )
    return [(r.id, f"{r.first_name} {r.last_name}".strip() or r.email) for r in session.execute(stmt)]


def customer_choices(
    session: Session, principal: Principal, search: str, chosen: Any = None
) -> list[tuple[int, str]]:
    """The administrator's customer filter: `data.accounts.account_choices`, with the `chosen` account
    first so the field keeps showing it while the next search runs."""
    if not principal.is_admin:
        return []
    found = account_choices(session, principal, search)
    chosen_id = parse_account_id(chosen)
    if chosen_id is not None and all(c.id != chosen_id for c in found):
        found = account_choices(session, principal, "", limit=1, account_id=chosen_id) + found
    return [(c.id, c.label) for c in found]


def erp_data_as_of(session: Session) -> datetime | None:
    """When the ERP was last read successfully: the end of the newest successful pull (UTC)."""
    stmt = (
        select(SyncRun.finished_at)
        .where(SyncRun.kind.in_(("pull", "initial")), SyncRun.status == "ok")
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def any_orders(session: Session, principal: Principal) -> bool:
    """Whether the principal can see any order at all (for the empty state)."""
    return (
        session.scalar(select(true()).where(order_criteria(principal)).select_from(SalesOrder).limit(1))
        or False
    )
