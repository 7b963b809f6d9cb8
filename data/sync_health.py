"""What the Sync health page shows: the overall state, lag, throughput, queue, errors, runs (administrators).

Every read starts from a scope of data/access.py (`visible_sync_runs`, `visible_outbox`, `visible_orders`);
for anyone but an administrator they match nothing, and `sync_health` answers None. Series are bounded
(the last 24 hours, the latest runs) and shaped here into plain dataclasses for components/sync_health.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from data.access import Principal, visible_orders, visible_outbox, visible_quarantine, visible_sync_runs
from data.models import OutboxEntry, QuarantinedRecord, SalesOrder, SyncControl, SyncRun
from data.sync_control import CONTROL, UNREACHABLE_PREFIXES, PauseState, error_window_start, pause_state

HEALTHY, DEGRADED, PAUSED, UNREACHABLE = "healthy", "degraded", "paused", "erp_unreachable"
HOURS = 24
LATEST_RUNS = 20
DURATION_RUNS = 50
LAG_SAMPLE = 5000
STALE_PULL = timedelta(minutes=5)
OLD_PENDING = timedelta(minutes=5)
OUTBOX_STATES = ("pending", "failed", "dead", "discarded")  # "done" entries are not counted


@dataclass(frozen=True)
class RunRow:
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    records: int
    errors: int
    detail: str | None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


@dataclass(frozen=True)
class LagPoint:
    hours_ago: int
    orders: int
    median_seconds: float
    p95_seconds: float


@dataclass(frozen=True)
class SyncHealth:
    state: str
    reasons: list[str]
    pause: PauseState
    runner: str | None
    runner_until: datetime | None
    outbox: dict[str, int]  # state -> entries (OUTBOX_STATES)
    oldest_pending_at: datetime | None
    oldest_pending_seconds: float | None
    errors_in_window: int
    last_pull_at: datetime | None
    runs: list[RunRow]
    durations: list[RunRow]
    throughput: dict[str, list[int]]  # kind -> records per hour, oldest hour first (HOURS values)
    errors_by_kind: dict[str, int]
    lag: list[LagPoint] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """One entry of the error list: an outbox entry (retry/discard) or a quarantined ERP record."""

    key: str  # "outbox:<id>" or "quarantine:<id>"
    kind: str
    what: str
    state: str
    attempts: int
    since: datetime | None
    error: str | None
    actions: tuple[str, ...]


def _run_row(run: SyncRun) -> RunRow:
    return RunRow(
        run.id,
        run.kind,
        run.started_at,
        run.finished_at,
        run.status,
        run.records_applied,
        run.errors,
        run.detail,
    )


def _unreachable(detail: str | None) -> bool:
    return bool(detail) and str(detail).startswith(UNREACHABLE_PREFIXES)


def _hours_ago(now: datetime, at: datetime) -> int:
    return int((now - at).total_seconds() // 3600)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _lag(session: Session, principal: Principal, now: datetime) -> list[LagPoint]:
    """ERP change → applied in the portal: the orders changed in the ERP in the last 24 hours."""
    since = now - timedelta(hours=HOURS)
    rows = session.execute(
        visible_orders(principal)
        .with_only_columns(SalesOrder.erp_modified_at, SalesOrder.updated_at)
        .where(SalesOrder.erp_modified_at >= since, SalesOrder.updated_at.is_not(None))
        .order_by(SalesOrder.erp_modified_at.desc())
        .limit(LAG_SAMPLE)
    ).all()
    by_hour: dict[int, list[float]] = {}
    for modified, applied in rows:
        if modified is None or applied is None:
            continue
        by_hour.setdefault(_hours_ago(now, modified), []).append(
            max(0.0, (applied - modified).total_seconds())
        )
    return [
        LagPoint(h, len(v), median(v), _p95(v))
        for h, v in sorted(by_hour.items(), reverse=True)
        if 0 <= h < HOURS
    ]


def sync_health(
    session: Session, principal: Principal, *, now: datetime, error_window: timedelta = timedelta(minutes=15)
) -> SyncHealth | None:
    """Everything the page's charts and panels show; None for anyone but an administrator."""
    if not principal.is_admin:
        return None
    runs_scope = visible_sync_runs(principal)
    since = now - timedelta(hours=HOURS)
    pause = pause_state(session)
    control = session.get(SyncControl, CONTROL)
    runner = (
        control.holder if control and control.lease_expires_at and control.lease_expires_at >= now else None
    )

    outbox = dict(
        session.execute(
            visible_outbox(principal)
            .with_only_columns(OutboxEntry.state, func.count())
            .where(OutboxEntry.state.in_(OUTBOX_STATES))
            .group_by(OutboxEntry.state)
        ).all()
    )
    oldest = session.scalar(
        visible_outbox(principal)
        .with_only_columns(func.min(OutboxEntry.created_at))
        .where(OutboxEntry.state == "pending")
    )
    recent = [_run_row(r) for r in session.scalars(runs_scope.where(SyncRun.started_at >= since))]
    window_start = error_window_start(pause, now, error_window)
    errors_in_window = sum(
        r.errors
        for r in recent
        if r.finished_at and r.finished_at >= window_start and not _unreachable(r.detail)
    )
    latest = [
        _run_row(r) for r in session.scalars(runs_scope.order_by(SyncRun.id.desc()).limit(DURATION_RUNS))
    ]
    pulls = [r for r in latest if r.kind in ("pull", "initial")]
    last_pull_ok = session.scalar(
        runs_scope.with_only_columns(func.max(SyncRun.finished_at)).where(
            SyncRun.kind.in_(("pull", "initial")), SyncRun.status == "ok"
        )
    )

    throughput: dict[str, list[int]] = {}
    errors_by_kind: dict[str, int] = {}
    for r in recent:
        hours_ago = _hours_ago(now, r.started_at)
        if 0 <= hours_ago < HOURS:
            throughput.setdefault(r.kind, [0] * HOURS)[HOURS - 1 - hours_ago] += r.records
        if r.errors or r.status == "failed":
            label = f"{r.kind}: ERP unreachable" if _unreachable(r.detail) else f"{r.kind}: failed"
            errors_by_kind[label] = errors_by_kind.get(label, 0) + max(1, r.errors)
    for state in ("failed", "dead"):
        if outbox.get(state):
            errors_by_kind[f"outbox: {state}"] = outbox[state]
    for entity_set, count in session.execute(
        visible_quarantine(principal)
        .with_only_columns(QuarantinedRecord.entity_set, func.count())
        .where(QuarantinedRecord.resolved_at.is_(None))
        .group_by(QuarantinedRecord.entity_set)
    ):
        errors_by_kind[f"quarantined: {entity_set}"] = count

    oldest_seconds = (now - oldest).total_seconds() if oldest else None
    reasons: list[str] = []
    if pause.paused:
        state = PAUSED
        reasons.append(pause.reason or "Paused.")
    elif pulls and pulls[0].status == "failed" and _unreachable(pulls[0].detail):
        state = UNREACHABLE
        reasons.append(f"The last pull could not reach the ERP: {pulls[0].detail}")
    else:
        if errors_in_window:
            reasons.append(
                f"{errors_in_window} errors in the last {int(error_window.total_seconds() // 60)} minutes."
            )
        if outbox.get("dead") or outbox.get("failed"):
            reasons.append(
                f"{outbox.get('dead', 0)} dead and {outbox.get('failed', 0)} rejected outbox entries."
            )
        if oldest_seconds is not None and oldest_seconds > OLD_PENDING.total_seconds():
            reasons.append(f"The oldest waiting outbox entry is {int(oldest_seconds // 60)} minutes old.")
        if last_pull_ok is None or now - last_pull_ok > STALE_PULL:
            reasons.append("No successful pull from the ERP in the last 5 minutes.")
        if runner is None:
            reasons.append("No worker holds the runner lock: scheduled jobs are not running.")
        state = DEGRADED if reasons else HEALTHY
    return SyncHealth(
        state=state,
        reasons=reasons,
        pause=pause,
        runner=runner,
        runner_until=control.lease_expires_at if control else None,
        outbox={s: int(outbox.get(s, 0)) for s in OUTBOX_STATES},
        oldest_pending_at=oldest,
        oldest_pending_seconds=oldest_seconds,
        errors_in_window=errors_in_window,
        last_pull_at=last_pull_ok,
        runs=latest[:LATEST_RUNS],
        durations=list(reversed(latest)),
        throughput=throughput,
        errors_by_kind=errors_by_kind,
        lag=_lag(session, principal, now),
    )


def sync_problems(session: Session, principal: Principal, limit: int = 100) -> list[Problem]:
    """Failed and dead outbox entries (and ones still retrying), then quarantined ERP records."""
    if not principal.is_admin:
        return []
    problems = [
        Problem(
            key=f"outbox:{e.id}",
            kind="push",
            what=f"{e.entity.replace('_', ' ')} {e.entity_id} ({e.operation})",
            state=e.state,
            attempts=e.attempts,
            since=e.updated_at or e.created_at,
            error=e.last_error,
            actions=("retry", "discard") if e.state == "dead" else ("discard",),
        )
        for e in session.scalars(
            visible_outbox(principal)
            .where(
                OutboxEntry.state.in_(("failed", "dead"))
                | ((OutboxEntry.state == "pending") & (OutboxEntry.attempts > 0))
            )
            .order_by(OutboxEntry.id.desc())
            .limit(limit)
        )
    ]
    problems += [
        Problem(
            key=f"quarantine:{q.id}",
            kind="pull",
            what=f"{q.entity_set} {q.record_key or ''}".strip(),
            state="retry requested" if q.retry_requested_at else "quarantined",
            attempts=0,
            since=q.quarantined_at,
            error=f"{q.reason} ({q.resolution})" if q.resolution else q.reason,
            actions=("retry", "discard"),
        )
        for q in session.scalars(
            visible_quarantine(principal)
            .where(QuarantinedRecord.resolved_at.is_(None))
            .order_by(QuarantinedRecord.id.desc())
            .limit(limit)
        )
    ]
    return problems


def problem_target(key: Any) -> tuple[str, int] | None:
    """("outbox" or "quarantine", id) of an error-list key sent by the browser, or None."""
    if not isinstance(key, str) or ":" not in key:
        return None
    kind, digits = key.split(":", 1)
    if kind not in ("outbox", "quarantine") or not digits.isdigit() or len(digits) >= 12:
        return None
    return kind, int(digits)
