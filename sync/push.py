"""Push portal writes to the ERP: the outbox, in order per record, with backoff, jitter and idempotency keys.

Due entries are claimed in one short transaction before the ERP is called (the attempt counted, the entry
held for a lease), so a crash between the call and the local commit leaves an entry that is simply tried
again when the lease ends; the idempotency key makes that retry find the ERP order the first
attempt created instead of making a second one. The ERP's answer is applied in one local transaction:
outbox state, the order's number and sync state, and its timeline event.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from data.models import Contact, OrderEvent, OutboxEntry, SalesOrder, SyncState
from data.outbox import (  # states and the administrators' outbox actions live with the outbox
    DEAD,
    DONE,
    FAILED,
    OPEN_STATES,
    PENDING,
    mark_order_rejected,
)
from sync.erp_client import ErpClient, ErpRejected, ErpTransientError, Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushPolicy:
    """Retry rules: exponential backoff with full jitter, then the dead-letter state."""

    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    max_attempts: int = 20  # with the defaults about an hour of trying before "dead"
    max_age: timedelta = timedelta(days=1)  # dual-write drops failed records after a day; we keep them dead
    claim_lease: timedelta = timedelta(minutes=2)  # longer than an ERP call may take (client timeout)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Wait after failed attempt number ``attempts``: half fixed, half random, so many retries spread."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))
        return ceiling / 2 + ceiling / 2 * rng.random()


DEFAULT_POLICY = PushPolicy()


@dataclass
class PushSummary:
    """What one push run did, for the run log and the health page."""

    accepted: int = 0
    rejected: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.accepted + self.rejected + self.retrying + self.dead


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def due_entries(session: Session, now: datetime, limit: int) -> list[OutboxEntry]:
    """Pending entries whose time has come and that have no earlier open entry of the same record."""
    earlier = aliased(OutboxEntry)
    blocked = exists().where(
        earlier.entity == OutboxEntry.entity,
        earlier.entity_id == OutboxEntry.entity_id,
        earlier.id < OutboxEntry.id,
        earlier.state.in_(OPEN_STATES),
    )
    stmt = (
        select(OutboxEntry)
        .where(
            OutboxEntry.state == PENDING,
            (OutboxEntry.next_attempt_at.is_(None)) | (OutboxEntry.next_attempt_at <= now),
            ~blocked,
        )
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _claim(factory: sessionmaker[Session], ids: list[int], now: datetime, lease: timedelta) -> dict[int, int]:
    """Take due entries for this run: count the attempt and hold them for ``lease`` before the ERP is called.

    If the process dies before recording the outcome, the entry is simply due again when the lease ends;
    an entry another runner took meanwhile is no longer due and is not returned. Entry id -> attempt.
    """
    if not ids:
        return {}
    with factory() as session, session.begin():
        rows = session.execute(
            update(OutboxEntry)
            .where(
                OutboxEntry.id.in_(ids),
                OutboxEntry.state == PENDING,
                (OutboxEntry.next_attempt_at.is_(None)) | (OutboxEntry.next_attempt_at <= now),
            )
            .values(attempts=OutboxEntry.attempts + 1, next_attempt_at=now + lease)
            .returning(OutboxEntry.id, OutboxEntry.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    return {int(entry_id): int(attempt) for entry_id, attempt in rows}


def push_due(
    factory: sessionmaker[Session],
    client: ErpClient,
    *,
    now: datetime | None = None,
    limit: int = 100,
    policy: PushPolicy = DEFAULT_POLICY,
    rng: random.Random | None = None,
    workers: int = 2,
) -> PushSummary:
    """Push up to ``limit`` due outbox entries, oldest first; the scheduler calls this every second.

    Due entries belong to different records (a later entry of a record waits for the earlier one), so
    they go out on ``workers`` threads at once without ever overtaking each other within one record.
    """
    now = now or _utcnow()
    rng = rng or random.Random()
    summary = PushSummary()
    with factory() as session:
        due = [
            _Job(e.id, e.entity, e.operation, e.entity_id, e.idempotency_key, dict(e.payload))
            for e in due_entries(session, now, limit)
        ]
    claimed = _claim(factory, [job.entry_id for job in due], now, policy.claim_lease)
    jobs = [
        replace(job, attempt=claimed[job.entry_id], backoff=policy.delay(claimed[job.entry_id], rng))
        for job in due
        if job.entry_id in claimed
    ]
    lock = threading.Lock()

    def run(job: _Job) -> None:
        _push_one(factory, client, job, now, policy, summary, lock)

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            run(job)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox-push") as pool:
            list(pool.map(run, jobs))
    return summary


@dataclass(frozen=True)
class _Job:
    """One claimed entry as read when it was found due (no second read before the ERP call)."""

    entry_id: int
    entity: str
    operation: str
    entity_id: int
    key: str
    payload: dict[str, Any]
    attempt: int = 0
    backoff: timedelta = timedelta(0)  # drawn up front on the caller's thread: the random stream is seeded


def _push_one(
    factory: sessionmaker[Session],
    client: ErpClient,
    job: _Job,
    now: datetime,
    policy: PushPolicy,
    summary: PushSummary,
    lock: threading.Lock,
) -> None:
    """Call the ERP for one claimed entry and record the outcome."""
    entry_id = job.entry_id
    try:
        with factory() as session:
            answer = _call_erp(session, client, job)
    except ErpRejected as exc:
        _record_reject(factory, entry_id, exc, now)
        with lock:
            summary.rejected += 1
    except Exception as exc:  # transient (5xx, timeout, connection) or a bug: try again later, bounded
        if not isinstance(exc, ErpTransientError):
            log.exception("push of outbox entry %s failed unexpectedly", entry_id)
        reason = f"{type(exc).__name__}: {exc}"
        dead = _record_transient(factory, entry_id, reason, now + job.backoff, now, policy)
        with lock:
            summary.errors.append(reason)
            if dead:
                summary.dead += 1
            else:
                summary.retrying += 1
    else:
        _record_success(factory, job, answer, now)
        with lock:
            summary.accepted += 1


def _call_erp(session: Session, client: ErpClient, job: _Job) -> Record:
    handler = _HANDLERS.get((job.entity, job.operation))
    if handler is None:
        raise ErpRejected("UnknownOperation", f"The portal cannot push {job.operation} of {job.entity}.", 0)
    return handler(session, client, job)


def _push_order(_session: Session, client: ErpClient, job: _Job) -> Record:
    payload = dict(job.payload)
    payload.setdefault("PortalOrderId", job.key)
    return client.post_sales_order(payload, job.key)


def _push_contact_create(_session: Session, client: ErpClient, job: _Job) -> Record:
    return client.post_contact(dict(job.payload), job.key)


def _push_contact_update(session: Session, client: ErpClient, job: _Job) -> Record:
    """The ERP id is read now, not when the change was queued: the create before it may have just set it."""
    contact = session.get(Contact, job.entity_id)
    erp_id = contact.erp_contact_id if contact else job.payload.get("ContactPersonId")
    if not erp_id:
        return client.post_contact(dict(job.payload), job.key)
    return client.patch_contact(erp_id, dict(job.payload), job.key)


_HANDLERS: dict[tuple[str, str], Callable[[Session, ErpClient, _Job], Record]] = {
    ("sales_order", "create"): _push_order,
    ("contact", "create"): _push_contact_create,
    ("contact", "update"): _push_contact_update,
}


def _record_success(factory: sessionmaker[Session], job: _Job, answer: Record, now: datetime) -> None:
    """The ERP has it: entry done, and the order's number and event, or the contact's ERP id, together.

    Plain UPDATE/INSERT statements (no loading first): this runs once per pushed record.
    """
    with factory() as session, session.begin():
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == job.entry_id)
            .values(state=DONE, last_error=None, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        if job.entity == "sales_order":
            mark_order_accepted(session, job.entity_id, str(answer["SalesOrderNumber"]), now)
        elif job.entity == "contact" and answer.get("ContactPersonId"):
            session.execute(
                update(Contact)
                .where(Contact.id == job.entity_id, Contact.erp_contact_id.is_(None))
                .values(erp_contact_id=str(answer["ContactPersonId"]))
                .execution_options(synchronize_session=False)
            )


def mark_order_accepted(session: Session, order_id: int, number: str, at: datetime) -> bool:
    """Give a portal order its ERP number and the "accepted" event, once, whoever sees it first.

    The conditional update is the guard: of a push and a pull seeing the acceptance at the same time,
    only one changes the row (PostgreSQL re-checks the condition after waiting for the other's lock).
    """
    changed = session.execute(
        update(SalesOrder)
        .where(SalesOrder.id == order_id, SalesOrder.sync_state != SyncState.ACCEPTED)
        .values(sync_state=SyncState.ACCEPTED, sales_order_number=number, reject_reason=None)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        insert(OrderEvent).values(
            order_id=order_id, occurred_at=at, kind="accepted", detail=f"Accepted by the ERP as {number}"
        )
    )
    return True


def _record_reject(factory: sessionmaker[Session], entry_id: int, exc: ErpRejected, now: datetime) -> None:
    """A permanent "no": the entry stops, the order shows the ERP's reason; nothing is retried blindly."""
    reason = exc.message or str(exc)
    with factory() as session, session.begin():
        entry = session.get_one(OutboxEntry, entry_id)
        entry.state, entry.next_attempt_at = FAILED, None
        entry.last_error = f"Rejected by the ERP ({exc.code}): {reason}"
        if entry.entity == "sales_order":
            mark_order_rejected(session, entry.entity_id, reason, now)
    log.info("outbox entry %s rejected by the ERP: %s", entry_id, exc)


def _record_transient(
    factory: sessionmaker[Session],
    entry_id: int,
    reason: str,
    retry_at: datetime,
    now: datetime,
    policy: PushPolicy,
) -> bool:
    """Schedule the retry (backoff with jitter), or give up ("dead") after too many attempts or too long."""
    with factory() as session, session.begin():
        entry = session.get_one(OutboxEntry, entry_id)
        entry.last_error, entry.next_attempt_at = reason, retry_at
        too_old = entry.created_at is not None and now - entry.created_at > policy.max_age
        if entry.attempts >= policy.max_attempts or too_old:
            entry.state, entry.next_attempt_at = DEAD, None
            entry.last_error = f"Gave up after {entry.attempts} attempts: {reason}"
            log.warning("outbox entry %s is dead: %s", entry_id, reason)
            return True
    return False
