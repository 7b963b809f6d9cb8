"""Engine and sessions. The caller owns the session: `with session_scope(factory) as s: ...`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Engine, Index, create_engine, event, inspect, text
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
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


#: SQLite's page cache for a bulk writer (the default is 2 MiB): the pull of a million orders revisits index
#: pages all over a multi-gigabyte file. Only the connections that write in bulk get it (it stays with a
#: pooled connection), so the web process stays small: with a 1 GiB memory map and this cache on every
#: connection, the process serving the grid benchmark at 1M orders grew to 822 MiB resident (202 without).
BULK_WRITE_CACHE = "PRAGMA cache_size=-65536"


def prepare_bulk_write(session: Session) -> None:
    """Give this session's connection a larger page cache on SQLite (a no-op elsewhere)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(BULK_WRITE_CACHE)


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
#: row: the eleven sort and filter indexes of the orders grid. The unique keys stay (the pull looks rows
#: up by them).
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
