"""Password guessing is throttled per account and per client address (QUALITY.md S11), also across
two app processes that share the limiter storage (Redis), with the same answer for unknown e-mails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.factories import PASSWORD, make_contact
from tests.portal_client import PortalClient
from tests.ports import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, flushed by this test


def test_account_throttled_after_five_failures(portal):
    email = make_contact(portal)
    client = PortalClient(portal)
    statuses = [client.login(email, "wrong password " + str(i)).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    # the right password does not get through while the account is throttled
    response = client.login(email, PASSWORD)
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    # an unknown e-mail is throttled exactly the same way
    nobody = f"nobody-{uuid.uuid4().hex}@example.com"
    unknown = [client.login(nobody, "wrong password").status_code for _ in range(6)]
    assert unknown == [200] * 5 + [429]


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = f"import app; app.create_app().server.run(host='127.0.0.1', port={port})"
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_serving(f"http://127.0.0.1:{port}/login", process, timeout=60)
    return process, f"http://127.0.0.1:{port}"


def _attempt(base: str, email: str) -> int:
    http = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{base}/login", timeout=5).text).group(
        1
    )
    response = http.post(
        f"{base}/login",
        data={"email": email, "password": "wrong password", "csrf_token": token},
        allow_redirects=False,
        timeout=5,
    )
    return response.status_code


@pytest.mark.slow
def test_throttling_holds_across_two_processes(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "ERP_URL": "http://127.0.0.1:9",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "LOGIN_LIMIT_ACCOUNT": "3 per minute",
        "LOGIN_LIMIT_ADDRESS": "8 per minute",
    }
    first, first_url = _serve(env)  # one after the other: both migrate the same store
    second, second_url = _serve(env)
    bases = [first_url, second_url]
    try:
        email = f"guess-{uuid.uuid4().hex[:8]}@example.com"
        # the same account, alternating between the processes: the fourth try is refused
        assert [_attempt(bases[i % 2], email) for i in range(4)] == [200, 200, 200, 429]
        # other accounts from the same address: the address limit (8) holds across processes too
        others = [_attempt(bases[i % 2], f"other-{i}-{email}") for i in range(6)]
        assert 429 in others and others.index(429) <= 5 and set(others[others.index(429) :]) == {429}
        assert others[:4] == [200] * 4
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(10)
