"""Contact commands and queries: readiness, the administrators' contact list, create, edit, roles, enable.

Writes take the principal and refuse anyone but an administrator; reads start from `visible_contacts`.
Every rule violation is a `ContactError` naming the form field that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from data.access import Principal, visible_accounts, visible_contacts, visible_invitations
from data.db import LIKE_ESCAPE, like_pattern
from data.invitations import DEFAULT_INVITATION_TTL, InvitationError, create_invitation, revoke_invitation
from data.models import (
    Contact,
    ContactRole,
    CustomerAccount,
    DeliveryAddress,
    Invitation,
    LegalEntity,
    PriceList,
    WebRole,
)
from data.outbox import enqueue_contact
from data.passwords import hash_password, password_problem

MAX_LISTING = 1000

#: What a contact needs before it can order (DOMAIN §2): attribute -> the words the portal uses.
READINESS_FIELDS: tuple[tuple[str, str], ...] = (
    ("legal_entity_id", "Company"),
    ("customer_account_id", "Customer account"),
    ("price_list_code", "Price list"),
    ("currency_code", "Currency"),
    ("ship_to_country_region_id", "Ship-to country/region"),
)
#: Fields `update_contact` accepts (the same names the contact form uses).
EDITABLE_FIELDS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "legal_entity_id",
        "account_number",
        "price_list_code",
        "currency_code",
        "ship_to_country_region_id",
        "language_id",
    }
)
CUSTOMER_ROLES = frozenset({WebRole.CUSTOMER_REPRESENTATIVE, WebRole.AUTHORIZED_USER})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2,3}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


class ContactError(ValueError):
    """A rule about contacts was broken; `field` names the input that caused it.

    `errors` holds every broken rule of one request (field -> message), so a form can mark them all.
    """

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.errors = errors or {field: message}


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        field, message = next(iter(errors.items()))
        raise ContactError(field, message, errors)


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionError("Only administrators can change contacts.")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value: str | None) -> str:
    return (value or "").strip()


# --- readiness -------------------------------------------------------------------------------------


def missing_fields(contact: Contact) -> list[str]:
    """The readiness fields the contact lacks, in words ("Price list", "Currency"); empty when ready."""
    return [label for attribute, label in READINESS_FIELDS if not getattr(contact, attribute)]


# --- queries ---------------------------------------------------------------------------------------


def open_invitation_criteria(now: datetime | None = None) -> ColumnElement[bool]:
    """An invitation that can still be redeemed: not revoked, not used up, not expired."""
    return and_(
        Invitation.revoked_at.is_(None),
        Invitation.redeemed_at.is_(None),
        Invitation.redemption_count < Invitation.max_redemptions,
        Invitation.expires_at > (now or _utcnow()),
    )


def contacts_for_listing(
    session: Session, principal: Principal, *, search: str = "", limit: int = 500, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Contacts the principal may see, newest first, optionally matching `search` (e-mail, name, account)."""
    has_open_invitation = exists().where(Invitation.contact_id == Contact.id, open_invitation_criteria(now))
    stmt = (
        visible_contacts(principal)
        .outerjoin(CustomerAccount, Contact.customer_account_id == CustomerAccount.id)
        .outerjoin(LegalEntity, Contact.legal_entity_id == LegalEntity.id)
        .add_columns(
            CustomerAccount.account_number,
            CustomerAccount.name,
            LegalEntity.name,
            has_open_invitation.label("invitation_open"),
        )
        .order_by(Contact.id.desc())
        .limit(max(1, min(limit, MAX_LISTING)))
    )
    search = search.strip()[:100]
    if search:
        pattern = like_pattern(search)
        stmt = stmt.where(
            or_(
                Contact.email.ilike(pattern, escape=LIKE_ESCAPE),
                (Contact.first_name + " " + Contact.last_name).ilike(pattern, escape=LIKE_ESCAPE),
                CustomerAccount.account_number.ilike(pattern, escape=LIKE_ESCAPE),
                CustomerAccount.name.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    rows = []
    for contact, account_number, account_name, company_name, invitation_open in session.execute(stmt):
        missing = missing_fields(contact)
        rows.append(
            {
                "id": contact.id,
                "email": contact.email,
                "name": contact.full_name,
                "legal_entity_id": contact.legal_entity_id,
                "company": company_name or "",
                "account_number": account_number or "",
                "account_name": account_name or "",
                "roles": sorted(contact.web_roles),
                "enabled": contact.is_enabled,
                "ready": not missing,
                "missing": missing,
                "last_sign_in_at": contact.last_sign_in_at,
                "invitation_open": bool(invitation_open),
            }
        )
    return rows


def get_contact(session: Session, principal: Principal, contact_id: int | str | None) -> Contact:
    """A contact the principal may see; a browser-sent id outside the scope is 'not found'."""
    try:
        wanted = int(contact_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wanted = 0
    if isinstance(contact_id, bool) or not 0 < wanted < 2**31:  # a 32-bit integer column
        raise ContactError("contact", "This contact does not exist.")
    contact = session.scalar(visible_contacts(principal).where(Contact.id == wanted))
    if contact is None:
        raise ContactError("contact", "This contact does not exist.")
    return contact


def contact_details(session: Session, principal: Principal, contact_id: int | str | None) -> dict[str, Any]:
    """Everything the contact form shows, as plain data."""
    contact = get_contact(session, principal, contact_id)
    open_invitation = session.scalar(
        visible_invitations(principal)
        .where(Invitation.contact_id == contact.id, open_invitation_criteria())
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    return {
        "id": contact.id,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.full_name,
        "legal_entity_id": contact.legal_entity_id or "",
        "account_number": contact.account.account_number if contact.account else "",
        "price_list_code": contact.price_list_code or "",
        "currency_code": contact.currency_code or "",
        "ship_to_country_region_id": contact.ship_to_country_region_id or "",
        "language_id": contact.language_id or "",
        "roles": sorted(contact.web_roles),
        "enabled": contact.is_enabled,
        "missing": missing_fields(contact),
        "has_password": contact.password_hash is not None,
        "open_invitation_expires_at": open_invitation.expires_at if open_invitation else None,
    }


def company_choices(session: Session) -> list[tuple[str, str]]:
    """(legal entity id, "USMF · Contoso ...") for a company select."""
    rows = session.execute(select(LegalEntity.id, LegalEntity.name).order_by(LegalEntity.id))
    return [(entity_id, f"{entity_id} · {name}") for entity_id, name in rows]


def account_choices(
    session: Session, principal: Principal, legal_entity_id: str | None, *, limit: int = 2000
) -> list[tuple[str, str]]:
    """(account number, "US-001 · Name") of one company's customer accounts the principal may see."""
    if not legal_entity_id:
        return []
    stmt = (
        visible_accounts(principal)
        .where(CustomerAccount.legal_entity_id == legal_entity_id)
        .order_by(CustomerAccount.account_number)
        .limit(limit)
    )
    return [(a.account_number, f"{a.account_number} · {a.name}") for a in session.scalars(stmt)]


def price_list_choices(session: Session, legal_entity_id: str | None) -> list[tuple[str, str]]:
    """(price list code, "USD-RETAIL · Retail price list USD") of one company."""
    if not legal_entity_id:
        return []
    stmt = select(PriceList).where(PriceList.legal_entity_id == legal_entity_id).order_by(PriceList.code)
    return [(p.code, f"{p.code} · {p.name}") for p in session.scalars(stmt)]


def reference_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Currencies, countries/regions and languages known from ERP data, for the contact form's selects."""

    def distinct(*columns: Any) -> list[tuple[str, str]]:
        values: set[str] = set()
        for column in columns:
            values.update(v for v in session.scalars(select(column).distinct()) if v)
        return [(v, v) for v in sorted(values)]

    return {
        "currency_code": distinct(LegalEntity.currency_code, PriceList.currency_code),
        "ship_to_country_region_id": distinct(
            LegalEntity.country_region_id,
            CustomerAccount.country_region_id,
            DeliveryAddress.country_region_id,
        ),
        "language_id": distinct(LegalEntity.language_id, CustomerAccount.language_id),
    }


# --- commands --------------------------------------------------------------------------------------


def _check_names(values: dict[str, Any], errors: dict[str, str]) -> None:
    for field, label in (("first_name", "first name"), ("last_name", "last name")):
        if field not in values:
            continue
        value = _clean(values[field])
        if not value:
            errors[field] = f"Enter the {label}."
        elif len(value) > 100:
            errors[field] = f"Use at most 100 characters for the {label}."
        values[field] = value


def _check_email(
    session: Session, values: dict[str, Any], errors: dict[str, str], contact_id: int | None
) -> None:
    if "email" not in values:
        return
    email = _clean(values["email"]).lower()
    values["email"] = email
    if not email:
        errors["email"] = "Enter the e-mail address."
    elif len(email) > 254 or not _EMAIL.match(email):
        errors["email"] = "Enter a valid e-mail address, like name@example.com."
    else:
        other = session.scalar(
            select(Contact.id).where(Contact.email == email, Contact.id != (contact_id or 0))
        )
        if other is not None:
            errors["email"] = "A contact with this e-mail address already exists."


def _resolve_account(
    session: Session, principal: Principal, values: dict[str, Any], errors: dict[str, str]
) -> CustomerAccount | None:
    legal_entity_id = _clean(values.get("legal_entity_id"))
    account_number = _clean(values.get("account_number"))
    if not legal_entity_id or session.get(LegalEntity, legal_entity_id) is None:
        errors["legal_entity_id"] = "Choose the company."
        return None
    if not account_number:
        errors["account_number"] = "Choose the customer account."
        return None
    account = session.scalar(
        visible_accounts(principal).where(
            CustomerAccount.legal_entity_id == legal_entity_id,
            CustomerAccount.account_number == account_number,
        )
    )
    if account is None:
        errors["account_number"] = "Choose a customer account of the chosen company."
    return account


def _readiness(
    session: Session, account: CustomerAccount, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    """The contact's readiness attributes for this account; an empty one takes the account's value."""
    price_list_code = _clean(values.get("price_list_code")) or account.price_list_code
    currency_code = _clean(values.get("currency_code")).upper() or account.currency_code
    country = _clean(values.get("ship_to_country_region_id")).upper() or account.country_region_id
    language_id = _clean(values.get("language_id")).lower() or account.language_id
    price_list = None
    if price_list_code:
        price_list = session.scalar(
            select(PriceList).where(
                PriceList.legal_entity_id == account.legal_entity_id, PriceList.code == price_list_code
            )
        )
        if price_list is None:
            errors["price_list_code"] = "Choose a price list of the chosen company."
    if currency_code and not _CURRENCY.match(currency_code):
        errors["currency_code"] = "Choose a currency (a three-letter code such as USD)."
    elif currency_code and price_list is not None and price_list.currency_code != currency_code:
        errors["currency_code"] = (
            f"The price list {price_list.code} is in {price_list.currency_code}: "
            f"choose {price_list.currency_code}, or another price list."
        )
    if country and not _COUNTRY.match(country):
        errors["ship_to_country_region_id"] = "Choose a country/region (a code such as USA)."
    if language_id and not _LANGUAGE.match(language_id):
        errors["language_id"] = "Choose a language (a code such as en-us)."
    return {
        "legal_entity_id": account.legal_entity_id,
        "account": account,
        "price_list_code": price_list_code,
        "currency_code": currency_code,
        "ship_to_country_region_id": country,
        "language_id": language_id,
    }


def create_contact(
    session: Session,
    principal: Principal,
    *,
    email: str,
    first_name: str,
    last_name: str,
    legal_entity_id: str | None,
    account_number: str | None,
    price_list_code: str | None = None,
    currency_code: str | None = None,
    ship_to_country_region_id: str | None = None,
    language_id: str | None = None,
) -> Contact:
    """A new portal contact of one customer account; empty readiness fields come from the account."""
    _require_admin(principal)
    values: dict[str, Any] = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "legal_entity_id": legal_entity_id,
        "account_number": account_number,
        "price_list_code": price_list_code,
        "currency_code": currency_code,
        "ship_to_country_region_id": ship_to_country_region_id,
        "language_id": language_id,
    }
    errors: dict[str, str] = {}
    _check_email(session, values, errors, None)
    _check_names(values, errors)
    account = _resolve_account(session, principal, values, errors)
    readiness = _readiness(session, account, values, errors) if account is not None else {}
    _raise_if(errors)
    contact = Contact(
        email=values["email"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        origin="portal",
        is_enabled=True,
        session_version=1,
        **readiness,
    )
    session.add(contact)
    session.flush()
    enqueue_contact(session, contact)  # to the ERP, in this transaction
    return contact


def update_contact(session: Session, principal: Principal, contact_id: int | str, **fields: Any) -> Contact:
    """Change a contact's details. Company and account change together; empty readiness fields default."""
    _require_admin(principal)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"update_contact() got unexpected fields: {', '.join(sorted(unknown))}")
    contact = get_contact(session, principal, contact_id)
    values = dict(fields)
    errors: dict[str, str] = {}
    _check_email(session, values, errors, contact.id)
    _check_names(values, errors)
    changes: dict[str, Any] = {f: values[f] for f in ("email", "first_name", "last_name") if f in values}
    readiness_fields = EDITABLE_FIELDS - {"email", "first_name", "last_name"}
    if readiness_fields & set(values):
        current = contact_details(session, principal, contact.id)
        moved = any(
            field in values and _clean(values[field]) != current[field]
            for field in ("legal_entity_id", "account_number")
        )
        # Fields not given keep their value, unless the contact moves to another account: then they follow it.
        merged = {field: values.get(field, "" if moved else current[field]) for field in readiness_fields}
        for field in ("legal_entity_id", "account_number"):
            merged[field] = values.get(field, current[field])
        account = _resolve_account(session, principal, merged, errors)
        if account is not None:
            changes.update(_readiness(session, account, merged, errors))
    _raise_if(errors)  # before any change: a refused update leaves the contact as it was
    for field, value in changes.items():
        setattr(contact, field, value)
    session.flush()
    if changes:
        enqueue_contact(session, contact)  # to the ERP, in this transaction
    return contact


def set_roles(
    session: Session, principal: Principal, contact_id: int | str, roles: Iterable[WebRole | str]
) -> Contact:
    """Give the contact exactly these web roles; a change signs the person out on their next request."""
    _require_admin(principal)
    contact = get_contact(session, principal, contact_id)
    try:
        wanted = {WebRole(role) for role in roles}
    except ValueError:
        raise ContactError("roles", "Choose web roles from the list.") from None
    if contact.id == principal.contact_id and WebRole.ADMINISTRATOR not in wanted:
        raise ContactError("roles", "You cannot remove the administrator role from yourself.")
    if wanted & CUSTOMER_ROLES and contact.customer_account_id is None:
        raise ContactError("roles", "Set the customer account before giving a customer role.")
    if wanted == contact.web_roles:
        return contact
    contact.roles[:] = [r for r in contact.roles if WebRole(r.role) in wanted]
    for role in sorted(wanted - contact.web_roles):
        contact.roles.append(ContactRole(role=role))
    contact.session_version += 1
    session.flush()
    return contact


def set_enabled(session: Session, principal: Principal, contact_id: int | str, enabled: bool) -> Contact:
    """Allow or stop sign-in; disabling signs the person out on their next request."""
    _require_admin(principal)
    contact = get_contact(session, principal, contact_id)
    if not enabled and contact.id == principal.contact_id:
        raise ContactError("enabled", "You cannot disable your own sign-in.")
    if contact.is_enabled and not enabled:
        contact.session_version += 1
    contact.is_enabled = bool(enabled)
    session.flush()
    return contact


def invite_contact(
    session: Session,
    principal: Principal,
    contact_id: int | str,
    roles: Iterable[WebRole | str],
    *,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[Contact, Invitation, str]:
    """A new invitation for the contact (replacing an open one); returns the plaintext code once."""
    _require_admin(principal)
    contact = get_contact(session, principal, contact_id)
    try:
        invitation, code = create_invitation(
            session,
            contact_id=contact.id,
            roles=roles,  # type: ignore[arg-type]  # create_invitation checks each value
            invited_by_contact_id=principal.contact_id,
            ttl=ttl or DEFAULT_INVITATION_TTL,
            now=now,
        )
    except InvitationError as exc:
        raise ContactError(exc.field, str(exc)) from exc
    return contact, invitation, code


def revoke_open_invitation(
    session: Session, principal: Principal, contact_id: int | str, *, now: datetime | None = None
) -> Invitation:
    """Revoke the contact's open invitation, so its code no longer works."""
    _require_admin(principal)
    contact = get_contact(session, principal, contact_id)
    invitation = session.scalar(
        visible_invitations(principal)
        .where(Invitation.contact_id == contact.id, open_invitation_criteria(now))
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    if invitation is None:
        raise ContactError("invitation", "This contact has no open invitation.")
    try:
        return revoke_invitation(session, invitation.id, now=now)
    except InvitationError as exc:
        raise ContactError(exc.field, str(exc)) from exc


def create_administrator(session: Session, email: str, password: str) -> Contact:
    """Create (or promote) a portal administrator with a password: how production gets its first one."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ContactError("email", "Enter a valid e-mail address, like name@example.com.")
    problem = password_problem(password, email=email)
    if problem:
        raise ContactError("password", problem)
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
