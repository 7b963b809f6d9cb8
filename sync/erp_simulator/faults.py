"""Fault injection for the simulated ERP, switchable at run time (``POST /admin/faults``).

Faults apply to the ``/data`` API only (never to ``/admin`` or ``/health``), drawn from one seeded
random stream so that a test sending its requests one after another sees the same faults every run.

- ``latency_ms``: added to every request.
- ``error_rate``: a 503 before anything is done.
- ``timeout_rate``: the request waits ``timeout_ms`` before it is handled (the client has given up by
  then, but the ERP still does the work: the answer is simply too late).
- ``outage`` / ``outage_until``: every request gets 503 while on / until that moment (simulator clock).
- ``lose_answer_rate``: a write is committed, then the answer is replaced by a 502 ("accepted but the
  answer is lost").
- ``malformed_rate``: records served by GET are damaged (a typed field garbled or a required one
  missing); each damaged record is logged in ``malformed_served``.
- ``reject_all`` / ``reject_rate``: order posts are refused with ``reject_message`` (and remembered).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Numeric, Table

FORCED_REJECT_CODE = "ValidationFailed"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class FaultSettings:
    """The switchable faults (all off by default)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_ms: int = 5000
    outage: bool = False
    outage_until: datetime | None = None
    lose_answer_rate: float = 0.0
    malformed_rate: float = 0.0
    reject_all: bool = False
    reject_rate: float = 0.0
    reject_message: str = "The ERP refused the order (simulated validation failure)."

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outage_until"] = self.outage_until.isoformat() + "Z" if self.outage_until else None
        return data


_RATES = ("error_rate", "timeout_rate", "lose_answer_rate", "malformed_rate", "reject_rate")
_INTS = ("latency_ms", "timeout_ms")
_BOOLS = ("outage", "reject_all")


def parse_settings(current: FaultSettings, body: Mapping[str, Any]) -> FaultSettings:
    """Apply a JSON change to the settings; unknown names or bad values raise ValueError."""
    known = {f.name for f in fields(FaultSettings)}
    unknown = sorted(set(body) - known - {"seed", "reset"})
    if unknown:
        raise ValueError(f"Unknown fault setting: {unknown[0]}")
    settings = FaultSettings() if body.get("reset") else current
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name in _RATES:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number from 0 to 1.")
            changes[name] = float(value)
        elif name in _INTS:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                raise ValueError(f"{name} must be whole milliseconds from 0 to 600000.")
            changes[name] = value
        elif name in _BOOLS:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false.")
            changes[name] = value
        elif name == "outage_until":
            changes[name] = _parse_moment(value)
        elif name == "reject_message":
            if not isinstance(value, str) or not value.strip() or len(value) > 500:
                raise ValueError("reject_message must be text of at most 500 characters.")
            changes[name] = value.strip()
    return replace(settings, **changes)


def _parse_moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("outage_until must be an ISO date-time.") from None
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    raise ValueError("outage_until must be an ISO date-time or null.")


@dataclass
class FaultInjector:
    """The live fault settings, their random stream and clock; shared by all request threads."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    seed: int | None = None
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] | None = None
    malformed_served: list[tuple[str, int, str]] = field(default_factory=list)
    answers_lost: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def configure(self, body: Mapping[str, Any]) -> FaultSettings:
        """Change the settings (and reseed when ``seed`` is given), as the admin endpoint does."""
        with self._lock:
            self.settings = parse_settings(self.settings, body)
            if "seed" in body:
                seed = body["seed"]
                if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                    raise ValueError("seed must be an integer or null.")
                self.seed = seed
                self._rng = random.Random(seed)
            if body.get("reset"):
                self.malformed_served.clear()
                self.answers_lost = 0
            return self.settings

    def roll(self, rate: float) -> bool:
        """True with probability ``rate`` (no draw at all when the rate is 0 or 1, keeping streams stable)."""
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        with self._lock:
            return self._rng.random() < rate

    def choice(self, options: list[Any]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    def answer_lost(self) -> None:
        with self._lock:
            self.answers_lost += 1

    def in_outage(self) -> bool:
        s = self.settings
        return s.outage or (s.outage_until is not None and self.clock() < s.outage_until)

    def wait(self, milliseconds: int) -> None:
        if milliseconds > 0:
            (self.sleep or _sleep)(milliseconds / 1000)

    def damage(self, entity_set: str, table: Table, record: dict[str, Any]) -> None:
        """Make one served record malformed in a way a careful reader must notice; log which."""
        keys = {col.name for col in table.primary_key.columns} | {"ChangeSequence", "ModifiedDateTime"}
        typed = [
            c.name
            for c in table.columns
            if c.name in record and c.name not in keys and isinstance(c.type, Numeric | Date | DateTime)
        ]
        required = [
            c.name for c in table.columns if c.name in record and c.name not in keys and not c.nullable
        ]
        if typed and (not required or self.roll(0.5)):
            name = self.choice(typed)
            record[name] = "##garbled##"
        elif required:
            name = self.choice(required)
            del record[name]
        else:
            return
        self.malformed_served.append((entity_set, int(record["ChangeSequence"]), name))


def _sleep(seconds: float) -> None:
    threading.Event().wait(seconds)
