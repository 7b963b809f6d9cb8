"""The grid's column readers give what SQLAlchemy's own readers give, value for value."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Numeric
from sqlalchemy.dialects import sqlite

from data.orders import _null_free_reader

DIALECT = sqlite.dialect()


def _both(type_, values):
    reader = type_.dialect_impl(DIALECT).result_processor(DIALECT, None)
    fast = _null_free_reader(type_, reader)
    assert fast is not None
    return [reader(v) for v in values], list(fast(values))


def test_money_read_as_cents_is_sqlalchemys_decimal() -> None:
    rng = random.Random(7)
    cents = [rng.randrange(-(10**13), 10**13) for _ in range(20_000)] + [0, 1, -1, 99, 100, 12_345_678_901]
    stored = [float(Decimal(c).scaleb(-2)) for c in cents] + [
        5,
        0,
        12.5,
    ]  # SQLite keeps whole ones as integers
    expected, fast = _both(Numeric(18, 2), stored)
    assert fast == expected
    assert [str(v) for v in fast] == [str(v) for v in expected]  # the same scale: "5.00", not "5"
    assert fast[-3:] == [Decimal("5.00"), Decimal("0.00"), Decimal("12.50")]


def test_other_scales_and_dates_too() -> None:
    assert _both(Numeric(12, 3), [1.25, 0.001, 7])[1] == [
        Decimal("1.250"),
        Decimal("0.001"),
        Decimal("7.000"),
    ]
    expected, fast = _both(Date(), ["2026-11-21", "2024-02-29"])
    assert fast == expected == [date(2026, 11, 21), date(2024, 2, 29)]
    expected, fast = _both(DateTime(), ["2026-11-21 09:30:00.000000"])
    assert fast == expected == [datetime(2026, 11, 21, 9, 30)]
