"""Engine and sessions. The caller owns the session: `with session_scope(factory) as s: ...`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Engine, Index, create_engine, event, exc, inspect, text
from sqlalchemy.engine import Compiled
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlalchemy.sql.compiler import SQLCompiler

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_ID = 724_1001


LIKE_ESCAPE = "\\"


def bind_processors(compiled: Compiled, dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """SQLAlchemy's own conversion of each bound value that needs one, by bind name: for SQL compiled once
    and run on the DB-API cursor (the grid's pages, the pull's writes)."""
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, param in cast(SQLCompiler, compiled).binds.items():
        processor = param.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return processors


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, LIKE's own characters escaped (use escape=LIKE_ESCAPE)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def make_engine(url: str) -> Engine:
    """An engine for the portal store; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # psycopg prepares a statement on the server after 5 runs, and PostgreSQL may then plan it once for
    # any parameters: one plan for a person with 30 orders and an account with 37,000 (measured: 85 ms
    # instead of 5 for a page of one user's orders by total). Plan each query for its own values.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    engine = create_engine(url, connect_args=connect_args)
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        """SQLAlchemy's pre-ping, for connections idle longer than PING_AFTER_IDLE (new ones have just
        connected). A dead one raises InvalidatePoolError: the pool replaces it (and every connection
        older than it) and checks out again."""
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping's transaction (psycopg begins one for the SELECT)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_conn, None):
                raise exc.InvalidatePoolError(str(error)) from error
            raise

    return engine


#: A pooled connection used less than this many seconds ago is handed out without a ping (HikariCP's
#: "alive bypass window"): SQLAlchemy's pre-ping costs a round trip on every checkout, a third of a fast
#: grid page on PostgreSQL. A connection that died within the window fails its statement instead; reads
#: through `run_read` are then retried once on a new connection.
PING_AFTER_IDLE = 1.0


T = TypeVar("T")


def run_read(engine: Engine, read: Callable[[Any], T]) -> T:
    """Run one read on a DB-API cursor of a pooled connection of its own, outside any transaction.

    For hot single-statement reads (the grid's pages): no Session or Connection around it, and on
    PostgreSQL autocommit, so a SELECT costs one round trip instead of BEGIN, SELECT and ROLLBACK. It reads
    what is committed (a session's own unflushed or uncommitted writes are not seen). A connection found
    dead (the database restarted) is replaced and the read retried once.
    """
    for attempt in (1, 2):
        connection = engine.raw_connection()
        driver = connection.driver_connection
        autocommit = engine.dialect.name == "postgresql"
        try:
            if autocommit:
                driver.autocommit = True  # type: ignore[union-attr]
            cursor = connection.cursor()
            try:
                return read(cursor)
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            if attempt == 2 or not engine.dialect.is_disconnect(error, connection.dbapi_connection, None):
                raise
            connection.invalidate(error)
            engine.dispose(close=False)  # the others are as dead: start a new pool
        finally:
            if autocommit and connection.is_valid:
                driver.autocommit = False  # type: ignore[union-attr]
            connection.close()
    raise AssertionError("unreachable")


#: SQLite's page cache for a bulk writer (the default is 2 MiB): the pull of a million orders revisits index
#: pages all over a multi-gigabyte file. Only the connections that write in bulk get it (it stays with a
#: pooled connection), so the web process stays small: with a 1 GiB memory map and this cache on every
#: connection, the process serving the grid benchmark at 1M orders grew to 822 MiB resident (202 without).
BULK_WRITE_CACHE = "PRAGMA cache_size=-65536"
#: A bulk writer's commits checkpoint the WAL when it holds 10,000 pages (40 MiB) instead of SQLite's 1,000:
#: a batch of 1,000 changed orders dirties about 1,000 pages, so every commit of the pull checkpointed,
#: with two fsyncs each (the pull waited 1-1.7 s on them for 50,000 changed orders). Like the cache, it stays
#: with a pooled connection; the others keep 1,000, so their commits still checkpoint a WAL left large.
BULK_WRITE_CHECKPOINT = "PRAGMA wal_autocheckpoint=10000"


def prepare_bulk_write(session: Session) -> None:
    """Give this session's connection a larger page cache and rarer checkpoints on SQLite (a no-op
    elsewhere); once per pooled connection, which keeps them."""
    if session.get_bind().dialect.name != "sqlite":
        return
    connection = session.connection()
    info = connection.connection.info  # lives as long as the DB-API connection
    if not info.get("bulk_write"):
        connection.exec_driver_sql(BULK_WRITE_CACHE)
        connection.exec_driver_sql(BULK_WRITE_CHECKPOINT)
        info["bulk_write"] = True


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (safe when several processes start at once), and
    build any index a bulk load left out (a process killed during an initial sync)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        _build_indexes(conn, only_missing=True)


#: Tables whose secondary indexes a bulk load (the initial sync) builds once at the end instead of row by
#: row: the orders grid's eleven sort and filter indexes and the summary's partial index of rejected
#: orders. The unique keys stay (the pull looks rows up by them).
BULK_LOAD_TABLES = ("sales_orders",)


def _secondary_indexes() -> list[Index]:
    from data.models import Base

    tables = [Base.metadata.tables[name] for name in BULK_LOAD_TABLES]
    return sorted(
        (ix for table in tables for ix in table.indexes if not ix.unique), key=lambda ix: str(ix.name)
    )


def _build_indexes(conn: Connection, *, only_missing: bool = False) -> None:
    """Create the bulk-load tables' secondary indexes that do not exist, then refresh the statistics the
    planners choose them by (without, SQLite sorted a million orders for a grid page)."""
    wanted = _secondary_indexes()
    if only_missing:
        existing = {ix["name"] for name in BULK_LOAD_TABLES for ix in inspect(conn).get_indexes(name)}
        wanted = [ix for ix in wanted if ix.name not in existing]
        if not wanted:
            return
    for index in wanted:
        conn.execute(CreateIndex(index, if_not_exists=True))
    for name in BULK_LOAD_TABLES:
        conn.execute(text(f"ANALYZE {name}"))


def drop_secondary_indexes(engine: Engine) -> None:
    """Drop the bulk-load tables' secondary indexes (`indexes_built_after` builds them again)."""
    with engine.begin() as conn:
        for index in _secondary_indexes():
            conn.execute(DropIndex(index, if_exists=True))


@contextmanager
def indexes_built_after(engine: Engine) -> Iterator[None]:
    """A bulk load into the bulk-load tables: their secondary indexes are dropped first and built once
    afterwards (also when the load fails; after a crash, `migrate` builds them at the next start)."""
    drop_secondary_indexes(engine)
    try:
        yield
    finally:
        with engine.begin() as conn:
            _build_indexes(conn)


def current_sessions() -> sessionmaker[Session]:
    """The session factory of the Flask app serving this request (set by app.create_app)."""
    from flask import current_app

    factory: sessionmaker[Session] = current_app.extensions["portal.sessions"]
    return factory
