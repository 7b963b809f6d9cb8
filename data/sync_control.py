"""The sync's shared control row: the runner's lease, pause and resume, reconcile requests, auto-pause.

Every function takes the caller's session and the time (so tests run on a fake clock). The commands an
administrator triggers (`pause_sync`, `resume_sync`, `request_reconcile`) check the principal themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.access import Principal
from data.models import SyncControl, SyncRun

CONTROL = "sync"
MANUAL, AUTOMATIC = "manual", "automatic"
#: Failures that mean "the ERP could not be reached": shown as such, never counted toward auto-pause
#: (an ERP outage only makes work wait, QUALITY R1).
UNREACHABLE_PREFIXES = ("ErpUnavailable", "ErpTransientError")


class NotAllowed(Exception):
    """The principal may not control the sync (administrators only)."""


@dataclass(frozen=True)
class PauseState:
    paused: bool
    reason: str | None = None
    paused_at: datetime | None = None
    paused_by: str | None = None
    resumed_at: datetime | None = None


def _ensure_row(session: Session) -> None:
    if session.get(SyncControl, CONTROL) is None:
        try:
            with session.begin_nested():
                session.execute(insert(SyncControl).values(name=CONTROL, paused=False))
        except IntegrityError:  # another worker created it at the same moment
            pass


def control(session: Session) -> SyncControl:
    _ensure_row(session)
    row = session.get(SyncControl, CONTROL)
    assert row is not None
    return row


# --- the runner's lease (SQLite; informational under PostgreSQL's advisory lock) ---------------------


def try_lease(session: Session, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease: free, expired, or already ours. True when `holder` now holds it."""
    _ensure_row(session)
    taken = session.execute(
        update(SyncControl)
        .where(
            SyncControl.name == CONTROL,
            or_(
                SyncControl.holder.is_(None),
                SyncControl.holder == holder,
                SyncControl.lease_expires_at.is_(None),
                SyncControl.lease_expires_at < now,
            ),
        )
        .values(holder=holder, lease_expires_at=now + ttl, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def note_holder(session: Session, holder: str, now: datetime, ttl: timedelta) -> None:
    """Say who runs the jobs (PostgreSQL: the advisory lock decides; this is for the health page)."""
    _ensure_row(session)
    session.execute(
        update(SyncControl)
        .where(SyncControl.name == CONTROL)
        .values(holder=holder, lease_expires_at=now + ttl, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


def release_lease(session: Session, holder: str) -> None:
    session.execute(
        update(SyncControl)
        .where(SyncControl.name == CONTROL, SyncControl.holder == holder)
        .values(holder=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


# --- pause and resume --------------------------------------------------------------------------------


def pause_state(session: Session) -> PauseState:
    row = session.get(SyncControl, CONTROL)
    if row is None:
        return PauseState(False)
    return PauseState(row.paused, row.pause_reason, row.paused_at, row.paused_by, row.resumed_at)


def pause(session: Session, *, by: str, reason: str, now: datetime) -> bool:
    """Pause every worker's jobs; False when it was paused already (the first reason stays)."""
    _ensure_row(session)
    changed = session.execute(
        update(SyncControl)
        .where(SyncControl.name == CONTROL, SyncControl.paused.is_(False))
        .values(paused=True, pause_reason=reason, paused_at=now, paused_by=by)
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def resume(session: Session, *, now: datetime) -> bool:
    """Resume; errors before this moment no longer count toward the automatic pause."""
    _ensure_row(session)
    changed = session.execute(
        update(SyncControl)
        .where(SyncControl.name == CONTROL, SyncControl.paused.is_(True))
        .values(paused=False, resumed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def errors_since(session: Session, since: datetime) -> int:
    """Sync errors recorded in runs that finished at or after `since` (ERP unreachable not counted)."""
    unreachable = or_(*(SyncRun.detail.like(f"{p}%") for p in UNREACHABLE_PREFIXES))
    total = session.scalar(
        select(func.coalesce(func.sum(SyncRun.errors), 0)).where(
            SyncRun.finished_at >= since, SyncRun.errors > 0, ~func.coalesce(unreachable, False)
        )
    )
    return int(total or 0)


def error_window_start(state: PauseState, now: datetime, window: timedelta) -> datetime:
    start = now - window
    return max(start, state.resumed_at) if state.resumed_at else start


def auto_pause_if_needed(session: Session, *, now: datetime, threshold: int, window: timedelta) -> bool:
    """Dual-write's rule: pause after `threshold` errors within `window` (counted since the last resume)."""
    state = pause_state(session)
    if state.paused:
        return False
    errors = errors_since(session, error_window_start(state, now, window))
    if errors < threshold:
        return False
    minutes = int(window.total_seconds() // 60)
    reason = f"{errors} sync errors in the last {minutes} minutes (the limit is {threshold})."
    return pause(session, by=AUTOMATIC, reason=reason, now=now)


# --- reconcile requests ------------------------------------------------------------------------------


def take_reconcile_request(session: Session) -> bool:
    """The runner takes a pending "reconcile now" request (exactly once)."""
    taken = session.execute(
        update(SyncControl)
        .where(SyncControl.name == CONTROL, SyncControl.reconcile_requested_at.is_not(None))
        .values(reconcile_requested_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


# --- administrator commands --------------------------------------------------------------------------


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise NotAllowed("Only administrators may control the sync.")


def pause_sync(session: Session, principal: Principal, *, now: datetime) -> bool:
    _require_admin(principal)
    who = principal.name or principal.email or "an administrator"
    return pause(session, by=MANUAL, reason=f"Paused by {who}.", now=now)


def resume_sync(session: Session, principal: Principal, *, now: datetime) -> bool:
    _require_admin(principal)
    return resume(session, now=now)


def request_reconcile(session: Session, principal: Principal, *, now: datetime) -> None:
    """Ask whichever worker runs the jobs to reconcile within a second or two."""
    _require_admin(principal)
    control(session).reconcile_requested_at = now
    session.flush()
