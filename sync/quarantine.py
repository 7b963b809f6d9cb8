"""Carry out the administrators' retry requests for quarantined ERP records (data/quarantine.py).

The record is applied once more exactly as the ERP served it, through the pull's own `apply_page`, so
every rule of the pull holds (ERP-owned fields win, an older change never overwrites a newer one). The
cursor does not move. Each request is one transaction; its outcome is written on the entry.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from data.models import QuarantinedRecord
from sync.pull import ENTITY_SYNCS, apply_page

log = logging.getLogger(__name__)
SPECS = {spec.entity_set: spec for spec in ENTITY_SYNCS}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def retry_requested(factory: sessionmaker[Session], *, limit: int = 100) -> int:
    """Apply the records administrators asked to retry; the number applied."""
    with factory() as session:
        ids = list(
            session.scalars(
                select(QuarantinedRecord.id)
                .where(
                    QuarantinedRecord.retry_requested_at.is_not(None), QuarantinedRecord.resolved_at.is_(None)
                )
                .order_by(QuarantinedRecord.id)
                .limit(limit)
            )
        )
    applied = 0
    for record_id in ids:
        try:
            applied += _retry(factory, record_id)
        except Exception as exc:  # one bad retry must not hold up the pull that follows it
            log.exception("retrying quarantine entry %s failed", record_id)
            _failed(factory, record_id, f"{type(exc).__name__}: {exc}")
    return applied


def _failed(factory: sessionmaker[Session], record_id: int, problem: str) -> None:
    """The request is done (not repeated at every pull); the entry stays open with what went wrong."""
    with factory() as session, session.begin():
        entry = session.get(QuarantinedRecord, record_id)
        if entry is not None:
            entry.retry_requested_at = None
            entry.resolution = f"Retry failed: {problem}"[:2000]


def _retry(factory: sessionmaker[Session], record_id: int) -> bool:
    with factory() as session, session.begin():
        entry = session.get(QuarantinedRecord, record_id, with_for_update=True)
        if entry is None or entry.resolved_at is not None or entry.retry_requested_at is None:
            return False  # another runner got there first
        entry.retry_requested_at = None
        spec = SPECS.get(entry.entity_set)
        if spec is None:
            entry.resolution = f"Retried: the portal does not sync {entry.entity_set!r}."
            return False
        result = apply_page(session, spec, [entry.record])
        now = _now()
        if result.applied:
            entry.resolved_at, entry.resolution = now, "Applied on retry."
        elif result.quarantined:
            newer = session.scalar(
                select(QuarantinedRecord.id)
                .where(QuarantinedRecord.id != entry.id, QuarantinedRecord.entity_set == entry.entity_set)
                .order_by(QuarantinedRecord.id.desc())
                .limit(1)
            )
            entry.resolved_at = now
            entry.resolution = f"Retried: still not applicable; see quarantine:{newer}."
        else:
            entry.resolution = f"Retried: not applied yet: {result.stopped or 'nothing to apply'}."
        log.info("quarantine entry %s retried: %s", record_id, entry.resolution)
        return bool(result.applied)
