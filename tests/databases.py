"""Test databases: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.

TEST_DATABASE_URL is a ``postgresql+psycopg://`` URL of a server where the tests may CREATE DATABASE;
each test store gets its own uniquely named database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("TEST_DATABASE_URL", "")

#: Parameters for a database fixture: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set"),
    ),
]


@contextmanager
def temporary_database_url(backend: str, directory: Path, prefix: str = "test") -> Iterator[str]:
    """A URL for an empty database that exists only inside the ``with`` block."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{directory / name}.sqlite"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        admin.dispose()
