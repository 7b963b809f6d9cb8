"""Test-only launcher: the real sync worker (``sync.worker.main``), killed with SIGKILL at a chosen point.

``python -m tests.crash_worker`` takes the worker's usual environment (DATABASE_URL, ERP_URL, SYNC_*) and:

- ``CRASH_AT`` picks where the process kills itself (unset: the worker runs normally):
  ``push.claim``  due entries found, about to be claimed (nothing claimed, nothing sent);
  ``push.send``   entries claimed (attempt counted, lease taken), the ERP not called yet;
  ``push.answer`` the ERP has answered, before the answer is recorded in the portal store;
  ``pull.commit:<EntitySet>:<n>``  the n-th batch of that entity set applied inside its transaction,
  before the commit.
  Every call at or after the chosen one kills (with two push threads, the other thread cannot get past
  the point either), and ``push.answer`` lets one recording finish before the next starts, so what is
  committed at the kill does not depend on thread timing.
- ``CRASH_CLOCK_OFFSET_SECONDS`` moves the push's clock on: a restarted worker that runs "later" than
  the claim lease of the killed one, instead of the test waiting the two minutes.
- ``CRASH_STANDBY=1``: import everything, then wait for a line on stdin before the worker starts (so a
  test can have the restart ready while the first worker is still running, without touching the store).

The production code is not changed: module functions are wrapped before the worker starts.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

MARKER = "crash_worker: SIGKILL at"


def _die(point: str) -> None:
    sys.stderr.write(f"{MARKER} {point}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_before(module: Any, name: str, point: str, when: Callable[..., bool] = lambda *_: True) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when(*args):
            _die(point)
        return original(*args, **kwargs)

    setattr(module, name, wrapper)


def _kill_at_answer(module: Any) -> None:
    """``_record_success`` is called once the ERP has answered: die before it writes anything."""
    original = module._record_success
    lock = threading.Lock()

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with lock:  # one recording at a time: a commit in flight on another thread is not cut in half
            _die("push.answer")
        return original(*args, **kwargs)  # never reached

    module._record_success = wrapper


def _kill_before_commit(entity_set: str, nth: int) -> None:
    """The n-th batch of ``entity_set`` is applied (flushed, not committed), then the process dies."""
    from sync import pull

    original = pull.apply_page
    seen = 0

    @functools.wraps(original)
    def wrapper(session: Any, spec: Any, records: Any) -> Any:
        nonlocal seen
        result = original(session, spec, records)
        if spec.entity_set == entity_set:
            seen += 1
            if seen >= nth:
                session.flush()
                _die(f"pull.commit:{entity_set}:{seen}")
        return result

    pull.apply_page = wrapper


def install(crash_at: str, clock_offset: float) -> None:
    from sync import push

    if clock_offset:
        real: Callable[[], datetime] = push._utcnow
        push._utcnow = lambda: real() + timedelta(seconds=clock_offset)
    if not crash_at:
        return
    if crash_at == "push.claim":
        _kill_before(push, "_claim", crash_at, lambda _factory, ids, *_: bool(ids))  # something is due
    elif crash_at == "push.send":
        _kill_before(push, "_call_erp", crash_at)
    elif crash_at == "push.answer":
        _kill_at_answer(push)
    elif crash_at.startswith("pull.commit:"):
        _, entity_set, nth = crash_at.split(":")
        _kill_before_commit(entity_set, int(nth))
    else:
        raise SystemExit(f"unknown CRASH_AT {crash_at!r}")


def main() -> None:
    install(os.environ.get("CRASH_AT", ""), float(os.environ.get("CRASH_CLOCK_OFFSET_SECONDS") or 0))
    import app  # noqa: F401 - what the worker imports first (Settings): seconds, done before the go
    from sync.worker import main as worker_main

    if os.environ.get("CRASH_STANDBY"):
        sys.stdin.readline()
    worker_main()


if __name__ == "__main__":
    main()
