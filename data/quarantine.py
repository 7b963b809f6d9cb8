"""Administrators' actions on ERP records the pull quarantined: ask for a retry, or dismiss one.

A retry is carried out by the sync worker (`sync.quarantine.retry_requested`), which applies the record
as the ERP served it once more: useful when the cause was on the portal's side (a reference that has
arrived since, a limit that has been raised). A record the ERP corrects arrives again with a new change
and resolves its quarantine entry by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from data.access import Principal, visible_quarantine
from data.models import QuarantinedRecord


class QuarantineError(Exception):
    """An action that does not fit the record's state; the message is for the administrator."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _open_record(session: Session, principal: Principal, record_id: int) -> QuarantinedRecord:
    record = session.scalars(visible_quarantine(principal).where(QuarantinedRecord.id == record_id)).first()
    if record is None:
        raise LookupError("No such quarantined record.")
    if record.resolved_at is not None:
        raise QuarantineError(f"This record is already resolved: {record.resolution or 'applied'}.")
    return record


def request_retry(
    session: Session, principal: Principal, record_id: int, *, now: datetime | None = None
) -> QuarantinedRecord:
    """Ask the worker to apply the quarantined record again at its next pull."""
    record = _open_record(session, principal, record_id)
    record.retry_requested_at = now or _now()
    record.resolution = f"Retry requested by {principal.email or 'an administrator'}."
    session.flush()
    return record


def dismiss(
    session: Session, principal: Principal, record_id: int, *, now: datetime | None = None
) -> QuarantinedRecord:
    """Close the entry without applying the record (the reconciliation still repairs real drift)."""
    record = _open_record(session, principal, record_id)
    record.resolved_at, record.retry_requested_at = now or _now(), None
    record.resolution = f"Dismissed by {principal.email or 'an administrator'}; not applied."
    session.flush()
    return record
