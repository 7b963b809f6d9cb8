"""The checksum both sides of the reconciliation compute in their own database, identically.

Arithmetic, so that SQLite and PostgreSQL compute it natively, modulo the prime ``M = 2**31 - 1``:

* a row's **fields hash**: Horner's rule over its ERP-owned fields, ``h = (h * 16777619 + x) % M``,
  starting from its *code hash*: the first 32 bits of the MD5 of its text fields joined by ``|`` (a missing
  one as the empty string), modulo ``M``. The text fields compared are codes with few distinct values
  (statuses, currency, country, item), so SQLite looks the hash up in a per-connection memo (a dict: a hit
  runs no Python code) and computes an MD5 in Python only for a combination it has not seen; PostgreSQL
  computes ``md5()``. Then the numbers: money in cents, quantities in ten-thousandths, dates as days since
  1970-01-01, integers as they are (a missing number as ``M``, which no value reduces to);
* an order's **key factor**: the first 32 bits of the MD5 of its number, modulo ``M - 1``, plus 1 (never
  0); one MD5 per order (in Python on SQLite);
* a **header checksum** is ``key factor * fields hash % M``; a **line checksum** is its order's key factor
  times its fields hash, ``% M``; an order's **lines checksum** is the sum of its line checksums ``% M``,
  computed as ``key factor * (sum of the lines' fields hashes % M) % M`` (one multiplication per order).

The key factor ties every value to its order's number: the same change in two orders, values swapped
between orders, a line moved to another order or an order renumbered all change the sums. Buckets add up
counts and checksums (each below ``2**31``, so a million of them stay far inside 64 bits); a changed field,
a missing row and an extra row change a bucket's numbers except with a chance of about one in ``M``. It
finds drift; it is no defence against someone forging collisions.

Both the portal (sync/reconcile.py) and the ERP simulator's checksum endpoint build their statements with
:func:`order_checksums`, so the two sides can only agree when the data does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    FromClause,
    Select,
    Subquery,
    Text,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import BIT

MODULUS = 2**31 - 1
BASE = 16_777_619
SEPARATOR = "|"
CODE_FUNCTION = "portal_code31"
KEY_FUNCTION = "portal_key31"
MEMO_LIMIT = 100_000  # distinct code combinations remembered per connection
Kind = Literal["code", "int", "money", "qty", "date"]
Part = tuple[Kind, Any]

# Constants rendered into the statement (never values from outside): the same text in SELECT and GROUP BY.
_M: ColumnElement[int] = literal_column(str(MODULUS), BigInteger)
_M_MINUS_1: ColumnElement[int] = literal_column(str(MODULUS - 1), BigInteger)
_BASE: ColumnElement[int] = literal_column(str(BASE), BigInteger)
_ZERO: ColumnElement[int] = literal_column("0", BigInteger)
_ONE: ColumnElement[int] = literal_column("1", BigInteger)
_EMPTY = literal_column("''", Text)
_SEPARATOR = literal_column(f"'{SEPARATOR}'", Text)


def _md5_32(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:4], "big")  # noqa: S324 - not for security


def code_hash(text: str | None) -> int | None:
    """The hash of a row's joined text fields (what PostgreSQL computes)."""
    return None if text is None else _md5_32(text) % MODULUS


def key_factor(number: str | None) -> int | None:
    """An order's key factor, in ``[1, M)`` (what PostgreSQL computes)."""
    return None if number is None else _md5_32(number) % (MODULUS - 1) + 1


class _CodeMemo(dict[str | None, int | None]):
    """``memo[text]`` is ``code_hash(text)``; a hit runs no Python code (``dict.__getitem__``)."""

    def __missing__(self, text: str | None) -> int | None:
        value = code_hash(text)
        if len(self) < MEMO_LIMIT:
            self[text] = value
        return value


def install(conn: Connection) -> None:
    """Register the two hash functions on a SQLite connection (cheap); nothing on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        return
    driver = conn.connection.driver_connection
    if driver is not None:
        driver.create_function(CODE_FUNCTION, 1, _CodeMemo().__getitem__, deterministic=True)
        driver.create_function(KEY_FUNCTION, 1, key_factor, deterministic=True)


def _md5_sql(text: ColumnElement[str]) -> ColumnElement[int]:
    hexed = literal_column("'x'", Text).op("||")(func.substr(func.md5(text), 1, 8))
    return cast(cast(hexed, BIT(32)), BigInteger)


def _number(dialect: str, kind: Kind, column: Any) -> ColumnElement[int]:
    if kind == "int":
        value: ColumnElement[int] = column
    elif kind == "money":
        value = cast(func.round(column * literal_column("100")), BigInteger)
    elif kind == "qty":
        value = cast(func.round(column * literal_column("10000")), BigInteger)
    elif kind == "date":
        if dialect == "postgresql":
            value = type_coerce(column - literal_column("DATE '1970-01-01'", Date), BigInteger)
        else:
            value = cast(func.julianday(column) - literal_column("2440587.5"), BigInteger)
    else:  # pragma: no cover
        raise ValueError(kind)
    return func.coalesce(value % _M, _M, type_=BigInteger)


def _codes(dialect: str, columns: Sequence[Any]) -> ColumnElement[int]:
    text: ColumnElement[str] = func.coalesce(columns[0], _EMPTY, type_=Text)
    for column in columns[1:]:
        text = text.op("||")(_SEPARATOR).op("||")(func.coalesce(column, _EMPTY, type_=Text))
    if dialect == "postgresql":
        return _md5_sql(text) % _M
    return getattr(func, CODE_FUNCTION)(text, type_=BigInteger)  # type: ignore[no-any-return]


def fields_hash(dialect: str, parts: Sequence[Part]) -> ColumnElement[int]:
    """A row's fields hash (Horner's rule from its code hash over its numbers), an SQL expression."""
    codes = [column for kind, column in parts if kind == "code"]
    acc: ColumnElement[int] = _codes(dialect, codes) if codes else _ONE
    for kind, column in parts:
        if kind != "code":
            acc = (acc * _BASE + _number(dialect, kind, column)) % _M
    return acc


def key_factor_sql(dialect: str, number: Any) -> ColumnElement[int]:
    """An order's key factor as an SQL expression of this dialect."""
    if dialect == "postgresql":
        return _md5_sql(cast(number, Text)) % _M_MINUS_1 + _ONE
    return getattr(func, KEY_FUNCTION)(number, type_=BigInteger)  # type: ignore[no-any-return]


def month_of(dialect: str, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a timestamp column (the bucket's month)."""
    if dialect == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'", Text))
    return func.substr(column, 1, 7)


def order_checksums(
    dialect: str,
    *,
    keys: Sequence[ColumnElement[Any]],
    orders: FromClause,
    number: Any,
    header_parts: Sequence[Part],
    lines: FromClause,
    lines_of_order: ColumnElement[bool],
    line_parts: Sequence[Part],
    where: Sequence[ColumnElement[bool]] = (),
    count_lines: bool = True,
    scan_order: Sequence[ColumnElement[Any]] = (),
) -> Subquery:
    """One row per order: ``keys``, ``header`` (its checksum), ``lines`` (how many; 0 unless
    ``count_lines``), ``line_hash`` (its lines checksum).

    ``lines_of_order`` correlates the lines with the order: each order's lines are read through the index
    of that condition (no side sorts its line rows), and the order's key factor multiplies the sum of their
    fields hashes once. The result is not flattened into the caller's aggregate (SQLite would call the key
    factor and read the lines once per use); on SQLite the orders are read in ``scan_order``.
    """
    line_sum = select(func.sum(fields_hash(dialect, line_parts))).select_from(lines).where(lines_of_order)
    count: ColumnElement[int] = (
        select(func.count()).select_from(lines).where(lines_of_order).scalar_subquery()
        if count_lines
        else _ZERO
    )
    inner: Select[Any] = (
        select(
            *keys,
            key_factor_sql(dialect, number).label("factor"),
            fields_hash(dialect, header_parts).label("fields"),
            count.label("lines"),
            func.coalesce(line_sum.scalar_subquery(), _ZERO).label("line_sum"),
        )
        .select_from(orders)
        .where(*where)
    )
    if dialect == "sqlite":
        # A subquery with LIMIT is never flattened into an aggregate. Reading the orders in the order of
        # their lines' index (``scan_order``, an index of the orders too) keeps the look-ups of the lines
        # local.
        inner = inner.order_by(*scan_order).limit(-1)
    per_order = inner.subquery("per_order")
    c = per_order.c
    return select(
        *(c[str(key.key)] for key in keys),
        ((c.factor * c.fields) % _M).label("header"),
        c.lines.label("lines"),
        ((c.factor * (c.line_sum % _M)) % _M).label("line_hash"),
    ).subquery("order_checksums")


def bucket_sums(per_order: Subquery, keys: Sequence[str]) -> Select[Any]:
    """Per bucket (``keys`` of :func:`order_checksums`): orders, header sum, lines, lines sum."""
    c = per_order.c
    group = [c[key] for key in keys]
    return select(
        *group, func.count(), func.sum(c.header), func.sum(c.lines), func.sum(c.line_hash)
    ).group_by(*group)


def keys_in(area: Any, number: Any, keys: Sequence[tuple[str, ...]]) -> ColumnElement[bool]:
    """``(area, number) IN keys`` written as ``area = a AND number IN (...)`` per area: SQLite scans the
    whole table for a row-value IN list, but searches the unique index for this form."""
    numbers: dict[str, list[str]] = {}
    for a, n in keys:
        numbers.setdefault(a, []).append(n)
    return or_(*(and_(area == a, number.in_(sorted(set(ns)))) for a, ns in sorted(numbers.items())))
