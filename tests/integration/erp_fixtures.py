"""Helpers for the ERP simulator tests: temporary stores on SQLite and, optionally, PostgreSQL.

PostgreSQL runs only when ``TEST_DATABASE_URL`` is set (a ``postgresql+psycopg://`` URL of a server
where the tests may ``CREATE DATABASE``); each store gets its own uniquely named database, dropped
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from sync.erp_simulator.generate import generate
from sync.erp_simulator.store import ENTITY_KEYS, ENTITY_SETS, create_store
from tests.databases import temporary_database_url

ANCHOR = date(2026, 11, 20)
TEST_ORDERS = 300


@dataclass
class GeneratedStore:
    """A store filled by the generator: its URL, an engine and the generator's counts."""

    url: str
    engine: Engine
    counts: dict[str, int]


@contextmanager
def generated_store(
    backend: str, directory: Path, *, seed: int = 7, orders: int = TEST_ORDERS
) -> Iterator[GeneratedStore]:
    """A fresh store with generated demo data (anchored on :data:`ANCHOR`)."""
    with temporary_database_url(backend, directory, prefix="erp_test") as url:
        engine = create_store(url)
        try:
            counts = generate(engine, seed=seed, orders=orders, anchor_date=ANCHOR)
            yield GeneratedStore(url, engine, counts)
        finally:
            engine.dispose()


def _normalise(value: Any) -> Any:
    """Make values comparable across backends (SQLite and PostgreSQL scale decimals differently)."""
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def dump_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every entity set, ordered by key."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, table in ENTITY_SETS.items():
            keys = [table.c[k] for k in ENTITY_KEYS[name]]
            rows = conn.execute(select(table).order_by(*keys)).all()
            dump[name] = [tuple(_normalise(v) for v in row) for row in rows]
    return dump
