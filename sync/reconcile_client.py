"""The ERP's checksum endpoints over HTTP (see sync/erp_simulator/checksums.py), for sync/reconcile.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from sync.erp_client import Record, read_with_retries

Bucket = tuple[str, str, str]  # legal entity, ordering customer account, "YYYY-MM"
OrderKey = tuple[str, str]  # legal entity, sales order number
BUCKETS_PER_REQUEST = 5000
ORDERS_PER_REQUEST = 1000


class HttpChecksumClient:
    """Reads bucket and order checksums and full order records from the ERP, with bounded retries."""

    def __init__(
        self, base_url: str, *, timeout: float = 120.0, retries: int = 2, backoff: float = 0.5
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/reconcile/SalesOrders"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._http = requests.Session()

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return read_with_retries(
            self._http,
            "GET" if body is None else "POST",
            f"{self.base_url}/{path}",
            body=body,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
        )

    def buckets(self) -> list[list[Any]]:
        """``[area, account, month, orders, order checksum sum, 0, lines checksum sum]`` per bucket."""
        value: list[list[Any]] = self._call("buckets")["value"]
        return value

    def order_checksums(self, buckets: list[Bucket]) -> list[list[Any]]:
        """``[area, number, checksum, lines, lines checksum, account, month]`` per order of the buckets."""
        return self._values_in_chunks("orders", "buckets", buckets, BUCKETS_PER_REQUEST)

    def order_checksums_by_key(self, keys: list[OrderKey]) -> list[list[Any]]:
        """The same rows as :meth:`order_checksums` for the orders named."""
        return self._values_in_chunks("orderChecksums", "orders", keys, ORDERS_PER_REQUEST)

    def _values_in_chunks(self, name: str, field: str, items: Sequence[Any], size: int) -> list[list[Any]]:
        """The ``value`` rows of ``name`` for all ``items``, asked ``size`` at a time."""
        out: list[list[Any]] = []
        for start in range(0, len(items), size):
            out += self._call(name, {field: [list(item) for item in items[start : start + size]]})["value"]
        return out

    def order_records(self, keys: list[OrderKey]) -> tuple[list[Record], list[Record]]:
        """The ERP's header and line records of at most 1,000 orders (OData JSON shape)."""
        body = self._call("records", {"orders": [list(k) for k in keys[:ORDERS_PER_REQUEST]]})
        return body["headers"], body["lines"]
