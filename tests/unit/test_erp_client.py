"""Reading from the ERP: a page whose body breaks off mid-way is read again, like a timeout or a 5xx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sync.erp_client import ErpUnavailable, read_with_retries

PAGE = b'{"value": [{"ChangeSequence": 1}]}'


@pytest.fixture
def server() -> Iterator[tuple[str, list[int]]]:
    """Answers its first ``cut`` requests with a body cut short (the connection closes before the
    Content-Length is reached), then whole pages. Yields its URL and a list to set ``cut`` in."""
    served: list[int] = [0]
    cut: list[int] = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            if served[0] <= cut[0]:
                self.wfile.write(PAGE[:10])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(PAGE)

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/data/X", cut
        assert served[0] > 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_body_cut_short_is_read_again(server: tuple[str, list[int]]) -> None:
    url, cut = server
    cut[0] = 2
    with requests.Session() as http:
        page = read_with_retries(http, "GET", url, timeout=5, retries=3, backoff=0.01)
    assert page == {"value": [{"ChangeSequence": 1}]}


def test_a_body_always_cut_short_makes_the_erp_unavailable(server: tuple[str, list[int]]) -> None:
    url, cut = server
    cut[0] = 100
    with requests.Session() as http, pytest.raises(ErpUnavailable, match="ProtocolError"):
        read_with_retries(http, "GET", url, timeout=5, retries=2, backoff=0.01)
