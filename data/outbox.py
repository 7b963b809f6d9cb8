"""Queue portal writes for the ERP: an outbox entry in the caller's transaction (sync/push.py sends it).

Writing the entry in the same transaction as the record is what makes the dual write safe: either both
are committed or neither, and the push retries until the ERP has it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from data.models import Contact, CustomerAccount, OutboxEntry

CONTACT = "contact"


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
