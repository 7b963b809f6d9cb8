"""Contact rules: readiness, create/update, web roles, enable, invitations; errors name their field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.access import ANONYMOUS, principal_for
from data.contacts import (
    ContactError,
    account_choices,
    company_choices,
    contact_details,
    contacts_for_listing,
    create_contact,
    invite_contact,
    missing_fields,
    revoke_open_invitation,
    set_enabled,
    set_roles,
    update_contact,
)
from data.db import session_scope
from data.invitations import invitation_status
from data.models import Contact, ContactRole, CustomerAccount, LegalEntity, PriceList, WebRole


def add_company(
    session, entity_id="USMF", currency="USD", country="USA", language="en-us", accounts=("C-1",)
):
    """A legal entity with one price list and customer accounts that have full ordering setup."""
    session.add(
        LegalEntity(
            id=entity_id,
            name=f"{entity_id} Ltd",
            currency_code=currency,
            language_id=language,
            country_region_id=country,
        )
    )
    session.flush()  # no ORM relationship orders these inserts
    session.add(
        PriceList(legal_entity_id=entity_id, code=f"{currency}-STD", name="Standard", currency_code=currency)
    )
    session.add(PriceList(legal_entity_id=entity_id, code="OTHER-CUR", name="Other", currency_code="XXX"))
    for number in accounts:
        session.add(
            CustomerAccount(
                legal_entity_id=entity_id,
                account_number=number,
                name=f"Customer {number}",
                currency_code=currency,
                language_id=language,
                price_list_code=f"{currency}-STD",
                country_region_id=country,
            )
        )
    session.flush()


def add_contact(session, email, roles=(), account=None):
    contact = Contact(email=email, first_name="First", last_name="Last", origin="portal")
    if account is not None:
        contact.legal_entity_id = account.legal_entity_id
        contact.customer_account_id = account.id
    contact.roles = [ContactRole(role=r) for r in roles]
    session.add(contact)
    session.flush()
    return contact


@pytest.fixture
def world(portal_sessions):
    """Two companies, an administrator, a representative and an authorized user of USMF / C-1."""
    with session_scope(portal_sessions) as s:
        add_company(s)
        add_company(s, "DEMF", "EUR", "DEU", "de", accounts=("D-1",))
        account = s.query(CustomerAccount).filter_by(account_number="C-1").one()
        admin = add_contact(s, "admin@example.com", [WebRole.ADMINISTRATOR])
        rep = add_contact(s, "rep@example.com", [WebRole.CUSTOMER_REPRESENTATIVE], account)
        user = add_contact(s, "user@example.com", [WebRole.AUTHORIZED_USER], account)
        principals = {c.email.split("@")[0]: principal_for(c) for c in (admin, rep, user)}
    return portal_sessions, principals


def new_contact(session, principal, **overrides):
    fields = {
        "email": "new.person@example.com",
        "first_name": "New",
        "last_name": "Person",
        "legal_entity_id": "USMF",
        "account_number": "C-1",
    }
    return create_contact(session, principal, **{**fields, **overrides})


def test_missing_fields_names_each_readiness_field_in_words():
    contact = Contact(email="x@example.com")
    assert missing_fields(contact) == [
        "Company",
        "Customer account",
        "Price list",
        "Currency",
        "Ship-to country/region",
    ]
    contact.legal_entity_id, contact.customer_account_id = "USMF", 1
    contact.price_list_code, contact.ship_to_country_region_id = "P", "USA"
    assert missing_fields(contact) == ["Currency"]
    contact.currency_code = "USD"
    assert missing_fields(contact) == []


def test_create_contact_defaults_readiness_from_the_account(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"], email="  New.Person@Example.COM ")
        assert contact.email == "new.person@example.com"
        assert (contact.legal_entity_id, contact.account.account_number) == ("USMF", "C-1")
        assert (contact.price_list_code, contact.currency_code) == ("USD-STD", "USD")
        assert (contact.ship_to_country_region_id, contact.language_id) == ("USA", "en-us")
        assert contact.origin == "portal" and contact.is_enabled and missing_fields(contact) == []
        assert contact.web_roles == set() and contact.password_hash is None


def test_create_contact_keeps_explicit_readiness_values(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"], ship_to_country_region_id="can", language_id="fr")
        assert (contact.ship_to_country_region_id, contact.language_id) == ("CAN", "fr")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"legal_entity_id": ""}, "legal_entity_id", "Choose the company."),
        ({"legal_entity_id": "NOPE"}, "legal_entity_id", "Choose the company."),
        ({"account_number": ""}, "account_number", "Choose the customer account."),
        ({"account_number": "D-1"}, "account_number", "Choose a customer account of the chosen company."),
        ({"email": "not-an-address"}, "email", "Enter a valid e-mail address, like name@example.com."),
        ({"email": ""}, "email", "Enter the e-mail address."),
        ({"email": "REP@example.com"}, "email", "A contact with this e-mail address already exists."),
        ({"first_name": " "}, "first_name", "Enter the first name."),
        ({"last_name": "x" * 101}, "last_name", "Use at most 100 characters for the last name."),
        ({"price_list_code": "EUR-STD"}, "price_list_code", "Choose a price list of the chosen company."),
        (
            {"currency_code": "dollars"},
            "currency_code",
            "Choose a currency (a three-letter code such as USD).",
        ),
        ({"price_list_code": "OTHER-CUR"}, "currency_code", "The price list OTHER-CUR is in XXX"),
        ({"ship_to_country_region_id": "U.S."}, "ship_to_country_region_id", "Choose a country/region"),
        ({"language_id": "english please"}, "language_id", "Choose a language"),
    ],
)
def test_create_contact_errors_name_the_field(world, overrides, field, message):
    sessions, p = world
    with session_scope(sessions) as s:
        with pytest.raises(ContactError) as caught:
            new_contact(s, p["admin"], **overrides)
        assert caught.value.field == field
        assert caught.value.errors[field].startswith(message)
        assert s.query(Contact).filter_by(first_name="New").count() == 0


def test_create_contact_reports_every_broken_field_at_once(world):
    sessions, p = world
    with session_scope(sessions) as s, pytest.raises(ContactError) as caught:
        new_contact(s, p["admin"], email="bad", first_name="", legal_entity_id="")
    assert set(caught.value.errors) == {"email", "first_name", "legal_entity_id"}


@pytest.mark.parametrize("who", ["rep", "user", "anonymous"])
def test_non_administrators_cannot_write(world, who):
    sessions, p = world
    principal = p.get(who, ANONYMOUS)
    with session_scope(sessions) as s:
        user_id = s.query(Contact.id).filter_by(email="user@example.com").scalar()
        for command in (
            lambda: new_contact(s, principal),
            lambda: update_contact(s, principal, user_id, first_name="Hacked"),
            lambda: set_roles(s, principal, user_id, [WebRole.ADMINISTRATOR]),
            lambda: set_enabled(s, principal, user_id, False),
            lambda: invite_contact(s, principal, user_id, [WebRole.AUTHORIZED_USER]),
            lambda: revoke_open_invitation(s, principal, user_id),
        ):
            with pytest.raises(PermissionError):
                command()
        user = s.get(Contact, user_id)
        assert (user.first_name, user.is_enabled, user.web_roles) == (
            "First",
            True,
            {WebRole.AUTHORIZED_USER},
        )


def test_update_contact_changes_company_and_account_together(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"])
        update_contact(s, p["admin"], contact.id, language_id="fr")
        update_contact(s, p["admin"], contact.id, legal_entity_id="DEMF", account_number="D-1")
        assert (contact.legal_entity_id, contact.account.account_number) == ("DEMF", "D-1")
        # The readiness fields follow the new account.
        assert (contact.price_list_code, contact.currency_code) == ("EUR-STD", "EUR")
        assert (contact.ship_to_country_region_id, contact.language_id) == ("DEU", "de")
        update_contact(s, p["admin"], contact.id, ship_to_country_region_id="AUT")
        assert (contact.ship_to_country_region_id, contact.price_list_code) == ("AUT", "EUR-STD")
        with pytest.raises(ContactError) as caught:  # a form that still shows the old currency
            update_contact(
                s, p["admin"], contact.id, legal_entity_id="USMF", account_number="C-1", currency_code="EUR"
            )
        assert caught.value.field == "currency_code" and "USD-STD is in USD" in str(caught.value)
        with pytest.raises(ContactError) as caught:
            update_contact(s, p["admin"], contact.id, account_number="C-1")  # C-1 is not DEMF's
        assert caught.value.field == "account_number"
        with pytest.raises(ContactError) as caught:
            update_contact(s, p["admin"], contact.id, email="rep@example.com")
        assert caught.value.field == "email"
        update_contact(s, p["admin"], contact.id, email="new.person@example.com", first_name="Renamed")
        assert contact.first_name == "Renamed"
        with pytest.raises(TypeError):
            update_contact(s, p["admin"], contact.id, password_hash="x")
        with pytest.raises(ContactError) as caught:
            update_contact(s, p["admin"], 999_999, first_name="Ghost")
        assert caught.value.field == "contact"


def test_role_changes_and_disabling_bump_the_session_version(world):
    sessions, p = world
    with session_scope(sessions) as s:
        user = s.query(Contact).filter_by(email="user@example.com").one()
        version = user.session_version
        set_roles(s, p["admin"], user.id, [WebRole.AUTHORIZED_USER])  # no change: no sign-out
        assert user.session_version == version
        set_roles(s, p["admin"], user.id, ["customer_representative"])
        assert user.web_roles == {WebRole.CUSTOMER_REPRESENTATIVE}
        assert user.session_version == version + 1
        set_enabled(s, p["admin"], user.id, False)
        assert not user.is_enabled and user.session_version == version + 2
        set_enabled(s, p["admin"], user.id, True)
        assert user.is_enabled and user.session_version == version + 2
    with session_scope(sessions) as s:
        user = s.query(Contact).filter_by(email="user@example.com").one()
        assert user.web_roles == {WebRole.CUSTOMER_REPRESENTATIVE}


def test_administrators_cannot_lock_themselves_out(world):
    sessions, p = world
    admin_id = p["admin"].contact_id
    with session_scope(sessions) as s:
        with pytest.raises(ContactError) as caught:
            set_roles(s, p["admin"], admin_id, [WebRole.AUTHORIZED_USER])
        assert caught.value.field == "roles"
        with pytest.raises(ContactError) as caught:
            set_enabled(s, p["admin"], admin_id, False)
        assert caught.value.field == "enabled"
        assert s.get(Contact, admin_id).is_enabled


def test_role_rules(world):
    sessions, p = world
    with session_scope(sessions) as s:
        loner = add_contact(s, "loner@example.com")
        with pytest.raises(ContactError) as caught:
            set_roles(s, p["admin"], loner.id, [WebRole.AUTHORIZED_USER])
        assert caught.value.field == "roles" and "customer account" in str(caught.value)
        with pytest.raises(ContactError) as caught:
            set_roles(s, p["admin"], loner.id, ["superuser"])
        assert caught.value.field == "roles"
        set_roles(s, p["admin"], loner.id, [WebRole.ADMINISTRATOR])
        assert loner.web_roles == {WebRole.ADMINISTRATOR}


def test_listing_shows_readiness_and_searches_with_bound_parameters(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"])
        contact.currency_code = None
        rows = contacts_for_listing(s, p["admin"])
        assert {r["email"] for r in rows} == {
            "admin@example.com",
            "rep@example.com",
            "user@example.com",
            "new.person@example.com",
        }
        new = next(r for r in rows if r["email"] == "new.person@example.com")
        assert (new["ready"], new["missing"]) == (False, ["Currency"])
        assert (new["account_number"], new["company"], new["enabled"]) == ("C-1", "USMF Ltd", True)
        admin = next(r for r in rows if r["email"] == "admin@example.com")
        assert admin["missing"][:2] == ["Company", "Customer account"] and admin["roles"] == ["administrator"]
        assert [r["email"] for r in contacts_for_listing(s, p["admin"], search="NEW pers")] == [
            "new.person@example.com"
        ]
        assert len(contacts_for_listing(s, p["admin"], search="c-1")) == 3  # account number
        assert contacts_for_listing(s, p["admin"], search="%") == []  # a wildcard is a literal
        assert contacts_for_listing(s, p["admin"], search="' OR 1=1 --") == []
        assert len(contacts_for_listing(s, p["admin"], limit=2)) == 2


def test_listing_and_details_stay_in_scope(world):
    sessions, p = world
    with session_scope(sessions) as s:
        assert {r["email"] for r in contacts_for_listing(s, p["user"])} == {"user@example.com"}
        assert {r["email"] for r in contacts_for_listing(s, p["rep"])} == {
            "rep@example.com",
            "user@example.com",
        }
        assert contacts_for_listing(s, ANONYMOUS) == []
        with pytest.raises(ContactError):
            contact_details(s, p["user"], p["admin"].contact_id)
        for bogus in (None, "", "1 OR 1=1", 10**30, -1, True, [1]):
            with pytest.raises(ContactError) as caught:
                contact_details(s, p["admin"], bogus)
            assert caught.value.field == "contact"


def test_choices(world):
    sessions, p = world
    with session_scope(sessions) as s:
        assert company_choices(s) == [("DEMF", "DEMF · DEMF Ltd"), ("USMF", "USMF · USMF Ltd")]
        assert account_choices(s, p["admin"], "DEMF") == [("D-1", "D-1 · Customer D-1")]
        assert account_choices(s, p["admin"], "") == []
        assert account_choices(s, p["user"], "USMF") == []


def test_invite_resend_and_revoke(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"])
        with pytest.raises(ContactError) as caught:
            invite_contact(s, p["admin"], contact.id, [])
        assert caught.value.field == "roles"
        _, first, code = invite_contact(
            s, p["admin"], contact.id, [WebRole.AUTHORIZED_USER], ttl=timedelta(days=3)
        )
        assert len(code) > 30 and first.invited_by_contact_id == p["admin"].contact_id
        assert contact_details(s, p["admin"], contact.id)["open_invitation_expires_at"] == first.expires_at
        assert next(r for r in contacts_for_listing(s, p["admin"]) if r["id"] == contact.id)[
            "invitation_open"
        ]
        _, second, _ = invite_contact(s, p["admin"], contact.id, ["authorized_user"])  # resend
        assert invitation_status(first) == "revoked" and invitation_status(second) == "sent"
        revoked = revoke_open_invitation(s, p["admin"], contact.id)
        assert revoked.id == second.id and invitation_status(revoked) == "revoked"
        with pytest.raises(ContactError) as caught:
            revoke_open_invitation(s, p["admin"], contact.id)
        assert caught.value.field == "invitation"
        set_enabled(s, p["admin"], contact.id, False)
        with pytest.raises(ContactError) as caught:
            invite_contact(s, p["admin"], contact.id, [WebRole.AUTHORIZED_USER])
        assert caught.value.field == "contact"


def test_a_refused_update_changes_nothing(world):
    sessions, p = world
    with session_scope(sessions) as s:
        contact = new_contact(s, p["admin"])
        with pytest.raises(ContactError) as caught:
            update_contact(
                s, p["admin"], contact.id, first_name="Changed", legal_entity_id="DEMF", account_number="C-1"
            )
        assert caught.value.field == "account_number"
        assert (contact.first_name, contact.legal_entity_id, contact.currency_code) == ("New", "USMF", "USD")
