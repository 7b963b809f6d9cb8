"""The customer portal: settings from the environment, the Dash app factory, and `python app.py`.

`python app.py` runs the embedded default: SQLite files in DATA_DIR, the ERP simulator on its own port,
the initial sync from it, demo sign-ins and the sync scheduler, all in one process.
Under gunicorn, serve `app:server` and run the sync worker as its own process (`python -m sync.worker`).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import pages._shell  # noqa: F401 - registers the frame's callbacks
from components.shell import footer, navbar
from data.db import make_engine, make_session_factory, migrate
from pages._auth import init_auth
from pages._export import init_export
from pages._guard import init_security

log = logging.getLogger("portal")

server: Flask  # `app:server` for gunicorn, built lazily by __getattr__ below

TRUE_WORDS = {"1", "true", "yes", "on"}

INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


class ConfigurationError(Exception):
    """A setting is missing or unsafe; the message says which and how to fix it."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read from environment variables (see the README's table)."""

    data_dir: Path
    database_url: str
    erp_url: str | None
    erp_port: int
    host: str
    port: int
    scheduler: bool
    secret_key: str
    production: bool
    debug: bool
    demo: bool
    demo_password: str
    demo_orders: int
    pull_interval_seconds: float
    ratelimit_storage_uri: str = "memory://"
    login_limit_account: str = "5 per minute; 30 per hour"
    login_limit_address: str = "30 per minute; 300 per hour"
    max_request_bytes: int = 5 * 1024 * 1024
    invitation_days: int = 7
    public_url: str | None = None
    trusted_proxies: int = 0
    push_interval_seconds: float = 1.0
    reconcile_interval_seconds: float = 15 * 60.0
    lease_seconds: float = 30.0
    auto_pause_errors: int = 10
    auto_pause_window_seconds: float = 15 * 60.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        production = env.get("PORTAL_ENV", "development").strip().lower() == "production"
        data_dir = Path(env.get("DATA_DIR") or "./instance").resolve()
        debug = _flag(env.get("DEBUG"), False)
        if production and debug:
            raise ConfigurationError("DEBUG must be off when PORTAL_ENV=production.")
        if production and not env.get("ERP_URL"):
            raise ConfigurationError(
                "ERP_URL must be set when PORTAL_ENV=production: the embedded ERP simulator with demo "
                "data is for development and demonstrations only."
            )
        secret_key = env.get("SECRET_KEY", "")
        if not secret_key:
            if production:
                raise ConfigurationError(
                    "SECRET_KEY must be set when PORTAL_ENV=production "
                    '(for example: python -c "import secrets; print(secrets.token_hex(32))").'
                )
            secret_key = _local_secret_key(data_dir)
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'portal.sqlite'}",
            erp_url=env.get("ERP_URL") or None,
            erp_port=int(env.get("ERP_PORT") or 8060),
            host=env.get("HOST") or "127.0.0.1",
            port=int(env.get("PORT") or 8050),
            scheduler=_flag(env.get("SCHEDULER"), True),
            secret_key=secret_key,
            production=production,
            debug=debug,
            demo=_flag(env.get("DEMO"), not production),
            demo_password=env.get("DEMO_PASSWORD") or "demo-password-1",
            demo_orders=int(env.get("DEMO_ORDERS") or 2000),
            pull_interval_seconds=float(env.get("SYNC_PULL_SECONDS") or 2),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or "memory://",
            login_limit_account=env.get("LOGIN_LIMIT_ACCOUNT") or cls.login_limit_account,
            login_limit_address=env.get("LOGIN_LIMIT_ADDRESS") or cls.login_limit_address,
            max_request_bytes=int(env.get("MAX_REQUEST_BYTES") or cls.max_request_bytes),
            invitation_days=int(env.get("INVITATION_DAYS") or cls.invitation_days),
            public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
            trusted_proxies=int(env.get("TRUSTED_PROXIES") or 0),
            push_interval_seconds=float(env.get("SYNC_PUSH_SECONDS") or cls.push_interval_seconds),
            reconcile_interval_seconds=float(
                env.get("SYNC_RECONCILE_SECONDS") or cls.reconcile_interval_seconds
            ),
            lease_seconds=float(env.get("SYNC_LEASE_SECONDS") or cls.lease_seconds),
            auto_pause_errors=int(env.get("SYNC_PAUSE_ERRORS") or cls.auto_pause_errors),
            auto_pause_window_seconds=float(
                env.get("SYNC_PAUSE_WINDOW_SECONDS") or cls.auto_pause_window_seconds
            ),
        )

    @property
    def erp_database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'erp.sqlite'}"


def _local_secret_key(data_dir: Path) -> str:
    """A random key generated once per data directory (embedded default only)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def create_app(settings: Settings | None = None) -> Dash:
    """Build the portal: migrate the store, then the Dash app with its pages and shell."""
    settings = settings or Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    migrate(engine)

    app = Dash(
        __name__,
        use_pages=True,
        title="Contoso customer portal",
        update_title="",
        suppress_callback_exceptions=False,
        serve_locally=True,
    )
    app.index_string = INDEX_STRING
    server = app.server
    server.config.update(SECRET_KEY=settings.secret_key, PORTAL_SETTINGS=settings)
    if settings.trusted_proxies:
        # behind a TLS-terminating proxy: the client's address (throttling) and scheme (Secure cookies)
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    server.extensions["portal.engine"] = engine
    server.extensions["portal.sessions"] = make_session_factory(engine)
    init_auth(server)
    init_export(server)
    init_security(
        server,
        ratelimit_storage_uri=settings.ratelimit_storage_uri,
        address_limit=settings.login_limit_address,
        account_limit=settings.login_limit_account,
        max_request_bytes=settings.max_request_bytes,
    )
    app.layout = html.Div(
        [
            html.A("Skip to content", href="#main", className="visually-hidden-focusable"),
            navbar(),
            dbc.Container(dash.page_container, id="main", className="py-4 flex-grow-1", tag="main"),
            footer(),
        ],
        className="d-flex flex-column min-vh-100",
    )
    return app


def create_admin_command(argv: list[str], settings: Settings | None = None) -> int:
    """`python app.py create-admin EMAIL`: the first administrator (password: ADMIN_PASSWORD or a prompt)."""
    import getpass

    from data.contacts import ContactError, create_administrator
    from data.db import session_scope

    if len(argv) != 1:
        print("usage: python app.py create-admin EMAIL", file=sys.stderr)
        return 2
    settings = settings or Settings.from_env()
    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password (12 to 64 characters): ")
    engine = make_engine(settings.database_url)
    migrate(engine)
    try:
        with session_scope(make_session_factory(engine)) as session:
            contact = create_administrator(session, argv[0], password)
            email = contact.email
    except ContactError as exc:
        print(f"{exc.field}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"Administrator {email} can now sign in.")
    return 0


def main() -> None:  # pragma: no cover - exercised by running the portal
    from sync.erp_client import HttpErpClient
    from sync.worker import (
        configure_logging,
        prepare_store,
        run_now,
        start_embedded_erp,
        start_scheduler,
        stop_scheduler,
    )

    configure_logging()
    settings = Settings.from_env()
    erp_url = settings.erp_url or start_embedded_erp(settings)
    app = create_app(settings)
    factory = app.server.extensions["portal.sessions"]
    sign_ins = prepare_store(factory, HttpErpClient(erp_url), settings)
    scheduler = start_scheduler(factory, erp_url, settings) if settings.scheduler else None
    if scheduler is not None:  # the wizard pushes a submitted order at once (when present)
        app.server.extensions["portal.push_now"] = lambda: run_now(scheduler, "push")
    print(f"\nCustomer portal: http://{settings.host}:{settings.port}   ERP simulator: {erp_url}")
    if sign_ins:
        print(f"Demo sign-ins (password {settings.demo_password!r}):")
        for demo in sign_ins:
            print(f"  {demo.email:<22} {demo.role.value:<24} {demo.account}")
    try:
        app.run(host=settings.host, port=settings.port, debug=settings.debug, use_reloader=False)
    finally:
        if scheduler:
            stop_scheduler(scheduler, wait=False)


def __getattr__(name: str) -> Any:
    """`app:server` for gunicorn, built on first access so importing this module has no side effects."""
    if name == "server":
        global server
        server = create_app().server
        return server
    raise AttributeError(name)


if __name__ == "__main__":
    if sys.argv[1:2] == ["create-admin"]:
        sys.exit(create_admin_command(sys.argv[2:]))
    main()
