"""Run the ERP simulator on its own: ``python -m sync.erp_simulator --port 8060``.

Creates the store, fills it with demo data when it is empty, and serves the API with werkzeug. Orders
move on and master data changes every ``--tick`` seconds (0: never); faults are switched on at run time
with ``POST /admin/faults`` (see :mod:`.faults`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from werkzeug.serving import run_simple

from .api import create_erp_app
from .generate import generate
from .store import create_store, is_empty

#: The same file the portal's embedded simulator uses (``$DATA_DIR/erp.sqlite``).
DEFAULT_DB = f"sqlite:///{Path(os.environ.get('DATA_DIR') or 'instance').resolve() / 'erp.sqlite'}"


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Serve the simulated F&O OData API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8060)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default {DEFAULT_DB})")
    parser.add_argument("--orders", type=int, default=2000, help="demo orders for an empty store")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between lifecycle ticks (0: off)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    url = make_url(args.db)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_store(args.db)
    with engine.connect() as conn:
        empty = is_empty(conn)
    if empty:  # before the ticker starts: generate() fills only an empty store
        counts = generate(engine, seed=args.seed, orders=args.orders)
        print(f"ERP simulator: generated {counts['SalesOrderHeadersV2']:,} demo orders", flush=True)
    engine.dispose()
    app = create_erp_app(args.db, tick_seconds=args.tick, tick_seed=args.seed)
    run_simple(args.host, args.port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
