"""The README's run command on a fresh data directory: the portal and the ERP simulator both answer."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.ports import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_python_app_py_serves_portal_and_erp(tmp_path):
    port, erp_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "instance"),
        "PORT": str(port),
        "ERP_PORT": str(erp_port),
        "DEMO_ORDERS": "300",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("ERP_URL", None)
    env.pop("DATABASE_URL", None)
    log = (tmp_path / "app.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        home = wait_until_serving(f"http://127.0.0.1:{port}/", process)
        assert home.status_code == 200 and "react-entry-point" in home.text
        orders = requests.get(
            f"http://127.0.0.1:{erp_port}/data/SalesOrderHeadersV2?$top=5", timeout=5
        ).json()
        assert len(orders["value"]) == 5 and "@odata.nextLink" in orders
        css = requests.get(f"http://127.0.0.1:{port}/assets/bootstrap.min.css", timeout=5)
        assert css.status_code == 200 and len(css.content) > 100_000
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    output = (tmp_path / "app.log").read_text()
    for email in ("admin@portal.demo", "rep1@portal.demo", "user1a@portal.demo", "user2a@portal.demo"):
        assert email in output  # the demo sign-ins are printed at start
    assert (tmp_path / "instance" / "portal.sqlite").exists()
    assert (tmp_path / "instance" / "erp.sqlite").exists()
