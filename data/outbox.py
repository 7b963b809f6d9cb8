"""Queue portal writes for the ERP: an outbox entry in the caller's transaction (sync/push.py sends it).

Writing the entry in the same transaction as the record is what makes the dual write safe: either both
are committed or neither, and the push retries until the ERP has it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from data.access import Principal, visible_outbox
from data.models import Contact, CustomerAccount, OrderEvent, OutboxEntry, SalesOrder, SyncState

CONTACT = "contact"
PENDING, DONE, FAILED, DEAD, DISCARDED = "pending", "done", "failed", "dead", "discarded"
#: States that hold back later entries of the same record (their order matters).
OPEN_STATES = (PENDING, FAILED, DEAD)


class OutboxError(Exception):
    """An administrator action on an outbox entry that is not possible; the message says why."""


def contact_payload(session: Session, contact: Contact) -> dict[str, Any] | None:
    """The ERP ContactPersonsV2 fields of a contact; None when it belongs to no customer account (the
    ERP keeps contact persons per customer, so administrators without an account stay portal-only)."""
    if contact.customer_account_id is None:
        return None
    account = session.get(CustomerAccount, contact.customer_account_id)
    if account is None:
        return None
    return {
        "dataAreaId": account.legal_entity_id,
        "CustomerAccountNumber": account.account_number,
        "FirstName": contact.first_name or "-",
        "LastName": contact.last_name or "-",
        "PrimaryEmailAddress": contact.email,
        "LanguageId": contact.language_id or account.language_id or "en-us",
    }


def enqueue_contact(session: Session, contact: Contact, *, now: datetime | None = None) -> OutboxEntry | None:
    """Queue a contact for the ERP: "create" until it has an ERP id, "update" after (in that order)."""
    payload = contact_payload(session, contact)
    if payload is None:
        return None
    session.flush()  # the contact's id
    operation = "update" if contact.erp_contact_id or _has_queued_create(session, contact.id) else "create"
    if contact.erp_contact_id:
        payload["ContactPersonId"] = contact.erp_contact_id
    entry = OutboxEntry(
        entity=CONTACT,
        entity_id=contact.id,
        operation=operation,
        idempotency_key=str(uuid.uuid4()),
        payload=payload,
        state="pending",
        attempts=0,
        next_attempt_at=now or datetime.now(UTC).replace(tzinfo=None),
    )
    session.add(entry)
    return entry


def _has_queued_create(session: Session, contact_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    OutboxEntry.entity == CONTACT,
                    OutboxEntry.entity_id == contact_id,
                    OutboxEntry.operation == "create",
                    OutboxEntry.state.in_(("pending", "done", "dead")),
                )
            )
        )
    )


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def mark_order_rejected(session: Session, order_id: int, reason: str, at: datetime) -> None:
    changed = session.execute(
        update(SalesOrder)
        .where(SalesOrder.id == order_id, SalesOrder.sync_state == SyncState.SUBMITTED)
        .values(sync_state=SyncState.REJECTED, reject_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        session.add(OrderEvent(order_id=order_id, occurred_at=at, kind="rejected", detail=reason))


def _admin_entry(session: Session, principal: Principal, entry_id: int) -> OutboxEntry:
    """The entry, if the principal may manage the outbox at all (administrators); else "not found"."""
    entry = session.scalars(visible_outbox(principal).where(OutboxEntry.id == entry_id)).first()
    if entry is None:
        raise LookupError("No such outbox entry.")
    return entry


def retry_entry(
    session: Session, principal: Principal, entry_id: int, *, now: datetime | None = None
) -> OutboxEntry:
    """An administrator sends a dead entry again (with the same idempotency key: still never a duplicate).

    A rejected ("failed") entry is not retried: the ERP remembers its answer to that key and would say
    the same; the order has to be placed again after the cause (hold, product, credit) is fixed.
    """
    entry = _admin_entry(session, principal, entry_id)
    if entry.state == FAILED:
        raise OutboxError("The ERP rejected this entry; sending it again would get the same answer.")
    if entry.state != DEAD:
        raise OutboxError(f"Only dead entries can be retried (this one is {entry.state}).")
    now = now or _utcnow()
    # Queued again now: the attempt count and the age limit (counted from created_at) start over.
    entry.state, entry.attempts, entry.next_attempt_at, entry.created_at = PENDING, 0, now, now
    entry.last_error = f"Retried by {principal.email or 'an administrator'}; before: {entry.last_error}"
    session.flush()
    return entry


def discard_entry(
    session: Session, principal: Principal, entry_id: int, *, now: datetime | None = None
) -> OutboxEntry:
    """An administrator gives up on an entry; an order it carried shows as rejected, with that reason.

    If an earlier attempt did reach the ERP after all, the pull still finds that order by its portal id
    and marks it accepted: the ERP's word wins.
    """
    entry = _admin_entry(session, principal, entry_id)
    if entry.state in (DONE, DISCARDED):
        raise OutboxError(f"This entry is already {entry.state}.")
    reason = "Not sent to the ERP: discarded by an administrator after repeated failures."
    entry.state, entry.next_attempt_at = DISCARDED, None
    entry.last_error = f"Discarded by {principal.email or 'an administrator'}; before: {entry.last_error}"
    if entry.entity == "sales_order":
        mark_order_rejected(session, entry.entity_id, reason, now or _utcnow())
    session.flush()
    return entry


def outbox_problems(session: Session, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """Failed, dead and long-pending entries for the administrators' error list, newest first."""
    stmt = (
        visible_outbox(principal)
        .where(
            OutboxEntry.state.in_((FAILED, DEAD))
            | and_(OutboxEntry.state == PENDING, OutboxEntry.attempts > 0)
        )
        .order_by(OutboxEntry.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": e.id,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "operation": e.operation,
            "state": e.state,
            "attempts": e.attempts,
            "next_attempt_at": e.next_attempt_at,
            "last_error": e.last_error,
            "created_at": e.created_at,
        }
        for e in session.scalars(stmt)
    ]
