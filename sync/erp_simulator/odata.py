"""A tiny, safe subset of OData ``$filter``: ``<Field> <op> <literal> [and ...]``.

The parser only ever produces SQLAlchemy comparison expressions on whitelisted columns with bound
parameters; the text of the filter never reaches SQL. Supported operators: eq, ne, gt, ge, lt, le.
Literals: ``'text'`` (``''`` is an escaped quote), integers, decimals, ``true``/``false``, ``null``,
unquoted ISO datetimes (``2026-11-20T10:00:00Z``) and dates (``2026-11-20``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    and_,
    true,
)

MAX_FILTER_LENGTH = 2000
MAX_CLAUSES = 20

_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": lambda col, value: col == value,
    "ne": lambda col, value: col != value,
    "gt": lambda col, value: col > value,
    "ge": lambda col, value: col >= value,
    "lt": lambda col, value: col < value,
    "le": lambda col, value: col <= value,
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    | (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})(?![\w.:-])
    | (?P<number>-?\d+(?:\.\d+)?)(?![\w.:-])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


class ODataFilterError(ValueError):
    """The ``$filter`` text is not valid for this entity set; the message says why."""


class _Null:
    """The ``null`` literal."""


NULL = _Null()


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split a filter into ``(kind, text)`` tokens; raise on any character outside the grammar."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ODataFilterError(f"unexpected character at position {pos + 1}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
        pos = match.end()
    return tokens


def _literal(kind: str, text: str) -> Any:
    """The Python value of a literal token."""
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        return Decimal(text) if "." in text else int(text)
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ODataFilterError(f"invalid date {text}") from exc
    if kind == "datetime":
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return value.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError) as exc:
            raise ODataFilterError(f"invalid datetime {text}") from exc
    if kind == "word" and text == "true":
        return True
    if kind == "word" and text == "false":
        return False
    if kind == "word" and text == "null":
        return NULL
    raise ODataFilterError(f"expected a literal value, found {text!r}")


def _coerce(column: Column[Any], value: Any) -> Any:
    """Check that ``value`` fits the column's type; return it in the column's Python type."""
    name = column.name
    col_type = column.type
    if isinstance(col_type, Boolean):
        if isinstance(value, bool):
            return value
    elif isinstance(col_type, Integer | BigInteger):
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 2**63:
                raise ODataFilterError(f"{name}: number out of range")
            return value
    elif isinstance(col_type, Numeric):
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            try:
                return Decimal(value).quantize(Decimal(1).scaleb(-(col_type.scale or 0)))
            except InvalidOperation as exc:
                raise ODataFilterError(f"{name}: number out of range") from exc
    elif isinstance(col_type, DateTime):
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
    elif isinstance(col_type, Date):
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
    elif isinstance(col_type, String) and isinstance(value, str):
        return value
    raise ODataFilterError(f"{name}: literal of the wrong type for this field")


@dataclass(frozen=True)
class Comparison:
    """One ``<Field> <op> <literal>`` clause, already checked against the field's type."""

    column: Column[Any]
    op: str
    value: Any  # NULL for ``null``

    def expression(self) -> ColumnElement[bool]:
        """The SQLAlchemy condition, with the value as a bound parameter."""
        if self.value is NULL:
            return self.column.is_(None) if self.op == "eq" else self.column.is_not(None)
        return _OPERATORS[self.op](self.column, self.value)


def parse_comparisons(text: str, columns: Mapping[str, Column[Any]]) -> list[Comparison]:
    """Parse ``$filter`` text into its comparisons (all joined by ``and``).

    Raises :class:`ODataFilterError` for anything outside the supported grammar, unknown fields or
    literals that do not fit the field's type.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise ODataFilterError("filter too long")
    tokens = tokenize(text)
    comparisons: list[Comparison] = []
    pos = 0
    while tokens:
        if len(tokens) - pos < 3:
            raise ODataFilterError("incomplete comparison: expected <Field> <op> <value>")
        (field_kind, field), (op_kind, op), (lit_kind, lit_text) = tokens[pos : pos + 3]
        if field_kind != "word" or field not in columns:
            raise ODataFilterError(f"unknown field {field!r}")
        if op_kind != "word" or op not in _OPERATORS:
            raise ODataFilterError(f"unsupported operator {op!r}")
        column = columns[field]
        value = _literal(lit_kind, lit_text)
        if value is NULL and op not in ("eq", "ne"):
            raise ODataFilterError(f"{field}: null only works with eq and ne")
        if value is not NULL:
            value = _coerce(column, value)
        comparisons.append(Comparison(column, op, value))
        if len(comparisons) > MAX_CLAUSES:
            raise ODataFilterError(f"too many clauses (at most {MAX_CLAUSES})")
        pos += 3
        if pos == len(tokens):
            break
        if tokens[pos] != ("word", "and"):
            raise ODataFilterError(f"expected 'and', found {tokens[pos][1]!r}")
        pos += 1
    return comparisons


def parse_filter(text: str, columns: Mapping[str, Column[Any]]) -> ColumnElement[bool]:
    """Turn ``$filter`` text into one SQLAlchemy condition on ``columns`` (name -> column)."""
    comparisons = parse_comparisons(text, columns)
    if not comparisons:
        return true()
    return and_(*(c.expression() for c in comparisons))
