"""The checksum both sides of the reconciliation compute in their own database, identically.

A row's checksum is the first 40 bits of the MD5 of a canonical text of its ERP-owned fields, joined by
``|``: strings as they are, money in cents, quantities in ten-thousandths, dates as ``YYYY-MM-DD``, a
missing value as the empty string. PostgreSQL computes it with ``md5()``; SQLite with the same function
registered on the connection (:func:`install`). Buckets add the checksums of their rows (40-bit values:
the sum of a million rows stays far inside 64 bits) and count them, so a changed field, a missing row and
an extra row all change a bucket's numbers.

Both the portal (sync/reconcile.py) and the ERP simulator's checksum endpoint build their statements from
these helpers, so the two sides can only agree when the data does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import BigInteger, Connection, Text, cast, func, literal_column
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.sql.elements import ColumnElement

FUNCTION = "portal_h40"
SEPARATOR = "|"
Kind = Literal["str", "int", "money", "qty", "date"]
Part = tuple[Kind, Any]
# Constants rendered into the statement (never values from outside): the same text in SELECT and GROUP BY.
_EMPTY = literal_column("''", Text)
_SEPARATOR = literal_column(f"'{SEPARATOR}'", Text)
_ONE: ColumnElement[int] = literal_column("1")
_TEN: ColumnElement[int] = literal_column("10")


def h40(text: str | None) -> int | None:
    """The first 40 bits of the MD5 of ``text`` as an integer (what PostgreSQL computes)."""
    if text is None:
        return None
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:5], "big")  # noqa: S324 - not for security


def install(conn: Connection) -> None:
    """Register the hash function on a SQLite connection (idempotent, cheap); nothing on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        return
    driver = conn.connection.driver_connection
    if driver is not None:
        driver.create_function(FUNCTION, 1, h40, deterministic=True)


def _text(dialect: str, kind: Kind, column: Any) -> ColumnElement[str]:
    if kind == "str":
        value: ColumnElement[Any] = cast(column, Text)
    elif kind == "int":
        value = cast(column, Text)
    elif kind == "money":
        value = cast(cast(func.round(column * literal_column("100")), BigInteger), Text)
    elif kind == "qty":
        value = cast(cast(func.round(column * literal_column("10000")), BigInteger), Text)
    elif kind == "date":
        value = (
            func.to_char(column, literal_column("'YYYY-MM-DD'", Text))
            if dialect == "postgresql"
            else func.substr(column, _ONE, _TEN)
        )
    else:  # pragma: no cover
        raise ValueError(kind)
    return func.coalesce(value, _EMPTY, type_=Text)


def canonical_text(dialect: str, parts: Sequence[Part]) -> ColumnElement[str]:
    """``a|b|c`` of the parts, each in its canonical text form."""
    expr = _text(dialect, *parts[0])
    for kind, column in parts[1:]:
        expr = expr.op("||")(_SEPARATOR).op("||")(_text(dialect, kind, column))
    return expr


def row_hash(dialect: str, parts: Sequence[Part]) -> ColumnElement[int]:
    """The 40-bit checksum of one row, as an SQL expression of this dialect."""
    text = canonical_text(dialect, parts)
    if dialect == "postgresql":
        hexed = literal_column("'x'", Text).op("||")(func.substr(func.md5(text), _ONE, _TEN))
        return cast(cast(hexed, BIT(40)), BigInteger)
    return getattr(func, FUNCTION)(text, type_=BigInteger)  # type: ignore[no-any-return]


def month_of(dialect: str, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a timestamp column (the bucket's month)."""
    if dialect == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'", Text))
    return func.substr(column, _ONE, literal_column("7"))
