"""The portal's view of the ERP: an interface and its HTTP (OData-shaped JSON) implementation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

import requests

log = logging.getLogger(__name__)

Record = dict[str, Any]


class ErpUnavailable(Exception):
    """The ERP could not be reached or kept failing; the caller retries later."""


class ErpClient(Protocol):
    def iter_pages(
        self, entity_set: str, *, after_sequence: int = 0, top: int = 1000
    ) -> Iterator[list[Record]]:
        """Pages of records changed after `after_sequence`, in ChangeSequence order."""
        ...


class HttpErpClient:
    """Reads F&O-style entity sets over HTTP, following `@odata.nextLink` (keyset paging)."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._http = requests.Session()

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            try:
                response = self._http.get(url, params=params, timeout=self.timeout)
                if response.status_code < 500:
                    response.raise_for_status()
                    body: dict[str, Any] = response.json()
                    return body
                problem = f"HTTP {response.status_code}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise ErpUnavailable(f"{url}: {problem}")

    def iter_pages(
        self, entity_set: str, *, after_sequence: int = 0, top: int = 1000
    ) -> Iterator[list[Record]]:
        url: str | None = f"{self.base_url}/data/{entity_set}"
        params: dict[str, str] | None = {
            "$filter": f"ChangeSequence gt {int(after_sequence)}",
            "$top": str(int(top)),
        }
        while url:
            body = self._get(url, params)
            yield body.get("value", [])
            url, params = body.get("@odata.nextLink"), None

    def is_healthy(self) -> bool:
        try:
            return self._http.get(f"{self.base_url}/health", timeout=5).ok
        except requests.RequestException:
            return False
