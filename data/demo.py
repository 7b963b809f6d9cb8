"""Demo sign-ins and public notices for demo mode (never in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Contact, ContactRole, Notice, WebRole
from data.passwords import hash_password

DEFAULT_DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    role: WebRole
    account: str  # "" for the administrator


DEMO_SIGN_INS: tuple[DemoSignIn, ...] = (
    DemoSignIn("admin@portal.demo", WebRole.ADMINISTRATOR, ""),
    DemoSignIn("rep1@portal.demo", WebRole.CUSTOMER_REPRESENTATIVE, "USMF / US-001"),
    DemoSignIn("user1a@portal.demo", WebRole.AUTHORIZED_USER, "USMF / US-001"),
    DemoSignIn("user1b@portal.demo", WebRole.AUTHORIZED_USER, "USMF / US-001"),
    DemoSignIn("rep2@portal.demo", WebRole.CUSTOMER_REPRESENTATIVE, "DEMF / DE-001"),
    DemoSignIn("user2a@portal.demo", WebRole.AUTHORIZED_USER, "DEMF / DE-001"),
)

DEMO_NOTICES = (
    (
        "Holiday shipping schedule",
        "Orders with a requested receipt date between 24 December and 2 January ship from our "
        "central warehouse only. Please place them by 15 December.",
    ),
    (
        "Order status now updates within seconds",
        "Confirmations, picking and deliveries recorded in our ERP appear on your orders almost at "
        "once. Each page shows when its data last came from the ERP.",
    ),
)


def seed_demo(session: Session, password: str = DEFAULT_DEMO_PASSWORD) -> list[DemoSignIn]:
    """Give the demo contacts their web roles and password; idempotent. Returns the sign-ins set up.

    Customer contacts come from the ERP through the initial sync; the administrator is portal-only.
    """
    ready: list[DemoSignIn] = []
    for demo in DEMO_SIGN_INS:
        contact = session.scalar(select(Contact).where(Contact.email == demo.email))
        if contact is None and demo.role is WebRole.ADMINISTRATOR:
            contact = Contact(
                email=demo.email, first_name="Portal", last_name="Administrator", origin="portal"
            )
            session.add(contact)
        if contact is None:
            continue  # not in the ERP data (for example a custom data set)
        if contact.password_hash is None:
            contact.password_hash = hash_password(password)
        if demo.role not in contact.web_roles:
            contact.roles.append(ContactRole(role=demo.role))
        ready.append(demo)
    if session.scalar(select(Notice.id).limit(1)) is None:
        for index, (title, body) in enumerate(DEMO_NOTICES):
            session.add(Notice(title=title, body=body, published_on=date(2026, 11, 1 + index)))
    return ready
