"""Contact commands."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Contact, ContactRole, WebRole
from data.passwords import hash_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 64


class ContactError(ValueError):
    """A rule about contacts was broken; `field` names the input that caused it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def create_administrator(session: Session, email: str, password: str) -> Contact:
    """Create (or promote) a portal administrator with a password: how production gets its first one."""
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ContactError("email", "Enter a valid e-mail address.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ContactError(
            "password", f"Use a password of {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    contact = session.scalar(select(Contact).where(Contact.email == email))
    if contact is None:
        contact = Contact(email=email, origin="portal")
        session.add(contact)
    contact.password_hash = hash_password(password)
    contact.is_enabled = True
    contact.session_version = (contact.session_version or 0) + 1
    if WebRole.ADMINISTRATOR not in contact.web_roles:
        contact.roles.append(ContactRole(role=WebRole.ADMINISTRATOR))
    return contact
