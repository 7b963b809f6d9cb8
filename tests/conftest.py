"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set), a served ERP
simulator with generated demo data, and the portal app built once per session."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import make_server

from tests.databases import BACKENDS, temporary_database_url

ERP_TEST_ORDERS = 400
ERP_TEST_SEED = 11


def pytest_setup_options():
    """Headless Debian Chromium for dash[testing] (see SETUP-NOTES)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--window-size=1280,1024",
        "--disable-background-networking",
        "--disable-extensions",
        "--disable-gpu",
        "--disable-component-update",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture(params=BACKENDS)
def portal_db(request, tmp_path) -> Iterator[Engine]:
    """A migrated, empty portal store on each test database (SQLite, and PostgreSQL in CI)."""
    from data.db import make_engine, migrate

    with temporary_database_url(request.param, tmp_path, prefix="portal_test") as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def portal_sessions(portal_db):
    from data.db import make_session_factory

    return make_session_factory(portal_db)


@dataclass
class ServedErp:
    url: str
    database_url: str
    engine: Engine


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(5)


@contextmanager
def running_erp(
    directory: Path, orders: int = ERP_TEST_ORDERS, seed: int = ERP_TEST_SEED
) -> Iterator[ServedErp]:
    """An ERP simulator with its own SQLite database of generated demo data, served over HTTP."""
    from datetime import date

    from sync.erp_simulator import create_erp_app
    from sync.erp_simulator.generate import generate
    from sync.erp_simulator.store import create_store

    url = f"sqlite:///{directory / f'erp-{uuid.uuid4().hex[:8]}.sqlite'}"
    engine = create_store(url)
    generate(engine, seed=seed, orders=orders, anchor_date=date(2026, 11, 1))
    with serve(create_erp_app(url)) as base:
        yield ServedErp(base, url, engine)
    engine.dispose()


@pytest.fixture
def erp(tmp_path) -> Iterator[ServedErp]:
    """A fresh ERP simulator for tests that change ERP data."""
    with running_erp(tmp_path) as served:
        yield served


@pytest.fixture(scope="session")
def shared_erp(tmp_path_factory) -> Iterator[ServedErp]:
    """One read-only ERP simulator for the whole session."""
    with running_erp(tmp_path_factory.mktemp("erp")) as served:
        yield served


@pytest.fixture(scope="session")
def portal(tmp_path_factory, shared_erp):
    """The portal app, built once per session on a SQLite store filled by the initial sync."""
    from app import Settings, create_app
    from sync.erp_client import HttpErpClient
    from sync.worker import prepare_store

    data_dir = tmp_path_factory.mktemp("portal")
    settings = Settings.from_env({"DATA_DIR": str(data_dir), "ERP_URL": shared_erp.url, "SCHEDULER": "off"})
    dash_app = create_app(settings)
    prepare_store(dash_app.server.extensions["portal.sessions"], HttpErpClient(shared_erp.url), settings)
    return dash_app
