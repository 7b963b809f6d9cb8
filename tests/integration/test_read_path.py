"""The hot read path (data.db.run_read) and the pool's ping after idle, on each test database.

run_read reads committed rows on a pooled connection of its own, outside any transaction (autocommit on
PostgreSQL), and leaves the connection as it found it. Pooled connections are pinged at checkout only
after PING_AFTER_IDLE seconds in the pool; a connection the server dropped inside that window fails its
statement, and run_read then retries once on a new one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import data.db
from data.db import run_read
from data.models import LegalEntity


def _count_entities(cursor) -> int:
    cursor.execute("SELECT count(*) FROM legal_entities")
    return cursor.fetchone()[0]


def _entity(code: str) -> LegalEntity:
    return LegalEntity(
        id=code, name=f"Company {code}", currency_code="USD", language_id="en-us", country_region_id="USA"
    )


def test_run_read_sees_committed_rows_only_and_leaves_the_connection_as_it_was(portal_sessions):
    engine = portal_sessions.kw["bind"]
    with portal_sessions() as session:
        session.add(_entity("C1"))
        session.commit()
        session.add(_entity("C2"))
        session.flush()  # written, not committed: another connection does not see it
        assert run_read(engine, _count_entities) == 1
        session.rollback()
    # the connection went back to the pool as the sessions expect it: in transaction mode on PostgreSQL
    connection = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            assert connection.driver_connection.autocommit is False
    finally:
        connection.close()
    with portal_sessions() as session, session.begin():
        session.add(_entity("C3"))
    assert run_read(engine, _count_entities) == 2


def test_run_read_raises_what_the_database_raises(portal_sessions):
    engine = portal_sessions.kw["bind"]
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        run_read(engine, lambda cursor: cursor.execute("SELECT * FROM no_such_table"))
    assert run_read(engine, _count_entities) == 0  # and the pool still works


def _pid(cursor) -> int:
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def _backend_pid(engine) -> int:
    """Check a connection out and back in; return its server process id."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        pid = _pid(cursor)
        cursor.close()
        connection.rollback()
    finally:
        connection.close()
    return pid


def _terminate(engine, pid: int) -> None:
    """Drop a server connection, as a restart or an idle timeout would."""
    outside = create_engine(engine.url, poolclass=NullPool)
    try:
        with outside.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            # wait until the server has really let it go
            conn.execute(text("SELECT pg_sleep(0.2)"))
    finally:
        outside.dispose()


@pytest.fixture
def pg_engine(portal_db):
    if portal_db.dialect.name != "postgresql":
        pytest.skip("a dropped server connection is PostgreSQL's; SQLite has no server")
    return portal_db


def test_a_read_on_a_connection_the_server_dropped_is_retried_on_a_new_one(pg_engine, monkeypatch):
    monkeypatch.setattr(data.db, "PING_AFTER_IDLE", 3600.0)  # no ping: the read itself meets the dead one
    dropped = _backend_pid(pg_engine)
    _terminate(pg_engine, dropped)
    assert run_read(pg_engine, _pid) != dropped


def test_an_idle_pooled_connection_is_pinged_and_replaced_at_checkout(pg_engine, monkeypatch):
    sessions = data.db.make_session_factory(pg_engine)
    dropped = _backend_pid(pg_engine)
    _terminate(pg_engine, dropped)
    monkeypatch.setattr(data.db, "PING_AFTER_IDLE", 0.0)  # every pooled connection counts as idle
    with sessions() as session:
        assert session.scalar(select(func.pg_backend_pid())) != dropped


def test_inside_the_window_a_session_meets_the_dropped_connection(pg_engine, monkeypatch):
    """What the ping after idle trades: a connection dropped less than PING_AFTER_IDLE after its last use
    fails one statement (the pool then replaces it); pre-ping on every checkout cost a round trip."""
    sessions = data.db.make_session_factory(pg_engine)
    monkeypatch.setattr(data.db, "PING_AFTER_IDLE", 3600.0)
    dropped = _backend_pid(pg_engine)
    _terminate(pg_engine, dropped)
    with sessions() as session, pytest.raises(OperationalError):
        session.scalar(select(func.pg_backend_pid()))
    with sessions() as session:
        assert session.scalar(select(func.pg_backend_pid())) != dropped
