"""Invitations (DOMAIN §2, QUALITY S13): an administrator invites an existing contact; the person redeems the
single-use code once to set a password and receive the invitation's web roles.

Codes are 256-bit random strings, shown once and stored only as a SHA-256 hash (a fast hash is enough for
high-entropy secrets). Every refusal of a code - unknown, revoked, expired, already used, or lost to a
concurrent redemption - gives the same message, so guessing teaches nothing. Redemption consumes the code
with one conditional UPDATE, so of two simultaneous redemptions exactly one succeeds on SQLite and
PostgreSQL alike. Times are naive UTC, like every timestamp in the store. The caller owns the session.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from data.models import Contact, ContactRole, Invitation, WebRole
from data.passwords import hash_password, password_problem

log = logging.getLogger(__name__)

DEFAULT_INVITATION_TTL = timedelta(days=7)
MAX_INVITATION_TTL = timedelta(days=90)
MAX_LISTING = 1000
_MAX_CODE_LENGTH = 200  # new_code() gives 43 characters; anything much longer is not one of ours

INVALID_CODE = "This invitation link is not valid any more. Ask your administrator for a new one."


class InvitationError(ValueError):
    """A rule about invitations was broken; `field` names the input that caused it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return utc_now()
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def new_code() -> str:
    """A fresh invitation code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def code_hash(code: str) -> str:
    """What the store keeps instead of the code."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _roles_text(roles: set[WebRole]) -> str:
    return ",".join(sorted(role.value for role in roles))


def invitation_roles(invitation: Invitation) -> set[WebRole]:
    """The web roles an invitation grants."""
    return {WebRole(value) for value in invitation.roles.split(",") if value}


def _valid_roles(roles: Iterable[WebRole | str]) -> set[WebRole]:
    chosen: set[WebRole] = set()
    for role in roles:
        try:
            chosen.add(WebRole(role))
        except ValueError:
            raise InvitationError("roles", f"{role!r} is not a web role.") from None
    if not chosen:
        raise InvitationError("roles", "Choose at least one web role.")
    return chosen


def _open_invitation_filter(now: datetime) -> tuple[Any, ...]:
    """SQL conditions of an invitation that can still be redeemed at `now`."""
    return (
        Invitation.redemption_count < Invitation.max_redemptions,
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )


def create_invitation(
    session: Session,
    *,
    contact_id: int,
    roles: Iterable[WebRole],
    invited_by_contact_id: int | None,
    ttl: timedelta = DEFAULT_INVITATION_TTL,
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """Invite a contact; returns the invitation and its code, which is never available again.

    Any earlier invitation of the contact that is still open is revoked, so sending again is creating anew.
    """
    now = _naive_utc(now)
    chosen = _valid_roles(roles)
    if not timedelta(0) < ttl <= MAX_INVITATION_TTL:
        raise InvitationError("ttl", f"Choose a validity of up to {MAX_INVITATION_TTL.days} days.")
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise InvitationError("contact", "This contact does not exist.")
    if not contact.is_enabled:
        raise InvitationError(
            "contact", f"{contact.email} is disabled. Enable the contact before inviting it."
        )
    if chosen != {WebRole.ADMINISTRATOR}:
        missing = [
            label
            for label, value in (
                ("Company", contact.legal_entity_id),
                ("Account number", contact.customer_account_id),
            )
            if value is None
        ]
        if missing:
            raise InvitationError(
                "contact",
                f"Before inviting {contact.email}, set its {' and '.join(missing)}. "
                "Only administrators can be invited without them.",
            )

    session.execute(
        update(Invitation)
        .where(Invitation.contact_id == contact.id, *_open_invitation_filter(now))
        .values(revoked_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    code = new_code()
    invitation = Invitation(
        contact_id=contact.id,
        code_hash=code_hash(code),
        roles=_roles_text(chosen),
        invited_by_contact_id=invited_by_contact_id,
        expires_at=now + ttl,
        max_redemptions=1,
        redemption_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(invitation)
    session.flush()
    log.info("Invitation %s created for contact %s, roles %s", invitation.id, contact.id, invitation.roles)
    return invitation, code


def _find_by_code(session: Session, code: str) -> Invitation | None:
    if not isinstance(code, str) or not code.strip() or len(code) > _MAX_CODE_LENGTH:
        return None
    return session.scalars(
        select(Invitation).where(Invitation.code_hash == code_hash(code.strip()))
    ).one_or_none()


def redeem_invitation(session: Session, code: str, password: str, *, now: datetime | None = None) -> Contact:
    """Consume the invitation with this code: set the contact's password, replace its web roles with the
    invitation's, and end its older sessions. A weak password is refused before the code is used up."""
    now = _naive_utc(now)
    invitation = _find_by_code(session, code)
    if invitation is None or invitation_status(invitation, now) != "sent":
        raise InvitationError("code", INVALID_CODE)
    contact = session.get(Contact, invitation.contact_id)
    if contact is None or not contact.is_enabled:  # disabled after the invitation was sent
        raise InvitationError("code", INVALID_CODE)
    try:
        roles = invitation_roles(invitation)
    except ValueError:
        roles = set()
    if not roles:
        raise InvitationError("code", INVALID_CODE)
    problem = password_problem(password, email=contact.email)
    if problem:
        raise InvitationError("password", problem)
    password_hash = hash_password(password)  # slow: done before the write so the write lock is short

    # The decision: one conditional UPDATE. On SQLite this is also the first write of the transaction (the
    # reads above take no lock), so a concurrent redeemer waits on the busy timeout and then sees count 1;
    # on PostgreSQL the second UPDATE waits on the row lock and re-checks the WHERE against the new row.
    consumed = cast(
        "CursorResult[Any]",
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id, *_open_invitation_filter(now))
            .values(redemption_count=Invitation.redemption_count + 1, redeemed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if consumed.rowcount != 1:
        log.info("Invitation %s was already consumed or closed (concurrent redemption?)", invitation.id)
        raise InvitationError("code", INVALID_CODE)
    session.expire(invitation, ["redemption_count", "redeemed_at", "updated_at"])

    contact.password_hash = password_hash
    contact.is_enabled = True
    contact.session_version = Contact.session_version + 1  # in SQL: never loses a concurrent bump
    for role in list(contact.roles):
        if role.role not in roles:
            contact.roles.remove(role)
    have = {role.role for role in contact.roles}
    contact.roles.extend(ContactRole(role=role.value) for role in sorted(roles) if role.value not in have)
    session.flush()
    session.refresh(contact, ["session_version"])  # so callers can read it, even after the session ends
    log.info("Invitation %s redeemed by contact %s", invitation.id, contact.id)
    return contact


def revoke_invitation(session: Session, invitation_id: int, *, now: datetime | None = None) -> Invitation:
    """Withdraw an invitation so its code stops working. Revoking a revoked one changes nothing; a redeemed
    one cannot be revoked (disable the contact instead)."""
    now = _naive_utc(now)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise InvitationError("invitation", "This invitation does not exist.")
    # Conditional, like redemption: whichever of revoke and redeem writes first wins.
    session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.revoked_at.is_(None),
            Invitation.redemption_count < Invitation.max_redemptions,
        )
        .values(revoked_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    if invitation_status(invitation, now) == "redeemed":
        raise InvitationError(
            "invitation", "This invitation has already been used. Disable the contact to stop its access."
        )
    log.info("Invitation %s revoked", invitation.id)
    return invitation


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    """One of "sent", "redeemed", "expired", "revoked"."""
    now = _naive_utc(now)
    if invitation.redemption_count >= invitation.max_redemptions or invitation.redeemed_at is not None:
        return "redeemed"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "sent"


def invitations_for_listing(
    session: Session, *, limit: int = 500, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The newest invitations first, as plain dicts for the administrators' page."""
    now = _naive_utc(now)
    limit = max(1, min(int(limit), MAX_LISTING))
    rows = session.execute(
        select(Invitation, Contact.email, Contact.first_name, Contact.last_name)
        .join(Contact, Contact.id == Invitation.contact_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(limit)
    ).all()
    listing = []
    for invitation, email, first_name, last_name in rows:
        listing.append(
            {
                "id": invitation.id,
                "contact_id": invitation.contact_id,
                "email": email,
                "name": f"{first_name or ''} {last_name or ''}".strip() or email,
                "roles": sorted(invitation.roles.split(",")) if invitation.roles else [],
                "status": invitation_status(invitation, now),
                "created_at": invitation.created_at,
                "expires_at": invitation.expires_at,
                "redeemed_at": invitation.redeemed_at,
                "revoked_at": invitation.revoked_at,
            }
        )
    return listing
