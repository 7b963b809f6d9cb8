"""Plain factory functions for tests that need their own signed-up contacts."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from data.db import session_scope
from data.models import Contact, ContactRole, WebRole
from data.passwords import hash_password

PASSWORD = "a long enough test password"


def make_contact(portal, role: WebRole = WebRole.AUTHORIZED_USER, **fields) -> str:
    """A fresh contact with PASSWORD and one role, of demo account A unless an administrator; returns its
    e-mail. Tests use their own contacts so they never change the shared demo ones."""
    email = f"t-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope(portal.server.extensions["portal.sessions"]) as db:
        contact = Contact(
            email=email,
            first_name="Test",
            last_name="Person",
            password_hash=hash_password(PASSWORD),
            origin="portal",
            **fields,
        )
        if role is not WebRole.ADMINISTRATOR:
            rep = db.scalars(select(Contact).where(Contact.email == "rep1@portal.demo")).one()
            contact.legal_entity_id = rep.legal_entity_id
            contact.customer_account_id = rep.customer_account_id
        contact.roles.append(ContactRole(role=role))
        db.add(contact)
    return email
