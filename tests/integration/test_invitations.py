"""Invitations on SQLite and PostgreSQL (QUALITY S13): codes stored hashed, one redemption only, refusals that
teach a guesser nothing, and two simultaneous redemptions giving exactly one success."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from data.db import session_scope
from data.invitations import (
    DEFAULT_INVITATION_TTL,
    INVALID_CODE,
    InvitationError,
    code_hash,
    create_invitation,
    invitation_status,
    invitations_for_listing,
    redeem_invitation,
    revoke_invitation,
)
from data.models import Base, Contact, ContactRole, CustomerAccount, Invitation, LegalEntity, WebRole
from data.passwords import TOO_COMMON, verify_password

GOOD_PASSWORD = "violet kettle harbour 42"
OTHER_PASSWORD = "quiet lantern meadow 7"
T0 = datetime(2026, 11, 2, 9, 0)


@pytest.fixture
def people(portal_sessions) -> dict[str, int]:
    """An administrator, a customer contact ready to be invited, and one without company and account."""
    with session_scope(portal_sessions) as s:
        s.add(
            LegalEntity(
                id="USMF", name="USA", currency_code="USD", language_id="en-us", country_region_id="USA"
            )
        )
        s.flush()
        account = CustomerAccount(legal_entity_id="USMF", account_number="US-001", name="Adventure Works")
        s.add(account)
        s.flush()
        admin = Contact(email="boss@contoso.example", first_name="Bo", last_name="Boss", origin="portal")
        admin.roles.append(ContactRole(role=WebRole.ADMINISTRATOR))
        customer = Contact(
            email="ann.lee@adventure-works.example",
            first_name="Ann",
            last_name="Lee",
            legal_entity_id="USMF",
            customer_account_id=account.id,
            session_version=3,
            origin="portal",
        )
        customer.roles.append(ContactRole(role=WebRole.AUTHORIZED_USER))
        bare = Contact(email="new.hire@contoso.example", origin="portal")
        s.add_all([admin, customer, bare])
        s.flush()
        return {"admin": admin.id, "customer": customer.id, "bare": bare.id}


def _invite(sessions, people, contact="customer", roles=(WebRole.CUSTOMER_REPRESENTATIVE,), **kw):
    with session_scope(sessions) as s:
        invitation, code = create_invitation(
            s, contact_id=people[contact], roles=roles, invited_by_contact_id=people["admin"], **kw
        )
        return invitation.id, code


def _redeem(sessions, code, password=GOOD_PASSWORD, **kw) -> Contact:
    with session_scope(sessions) as s:
        return redeem_invitation(s, code, password, **kw)


def _refusal(sessions, code, password=GOOD_PASSWORD, **kw) -> InvitationError:
    with pytest.raises(InvitationError) as caught:
        _redeem(sessions, code, password, **kw)
    return caught.value


def _invitation(sessions, invitation_id) -> Invitation:
    with sessions() as s:
        invitation = s.get(Invitation, invitation_id)
        assert invitation is not None
        return invitation


def test_the_code_is_returned_once_and_stored_only_as_its_hash(portal_db, portal_sessions, people, caplog):
    caplog.set_level(logging.DEBUG)
    invitation_id, code = _invite(portal_sessions, people)
    _redeem(portal_sessions, code)

    assert len(code) >= 43  # 32 random bytes, URL-safe base64
    stored = _invitation(portal_sessions, invitation_id)
    assert stored.code_hash == code_hash(code) != code
    assert stored.roles == "customer_representative"
    assert stored.expires_at - stored.created_at == DEFAULT_INVITATION_TTL
    with portal_db.connect() as conn:  # every column of every row of every table
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    assert code not in str(value), f"the code is stored in {table.name}"
    assert code not in caplog.text


def test_redeeming_sets_the_password_and_roles_and_ends_older_sessions(portal_sessions, people):
    invitation_id, code = _invite(portal_sessions, people, roles=[WebRole.CUSTOMER_REPRESENTATIVE])
    contact = _redeem(portal_sessions, code)
    assert (contact.id, contact.session_version) == (people["customer"], 4)  # readable after the session

    with portal_sessions() as s:
        contact = s.get(Contact, people["customer"])
        assert contact is not None
        assert contact.password_hash is not None and contact.password_hash.startswith("$argon2id$")
        assert verify_password(contact.password_hash, GOOD_PASSWORD)
        assert contact.web_roles == {WebRole.CUSTOMER_REPRESENTATIVE}  # replaced, not added to
        assert contact.session_version == 4
        assert contact.is_enabled
    invitation = _invitation(portal_sessions, invitation_id)
    assert invitation.redemption_count == 1
    assert invitation.redeemed_at is not None
    assert invitation_status(invitation) == "redeemed"


def test_every_refusal_of_a_code_is_the_same(portal_sessions, people):
    used_id, used = _invite(portal_sessions, people, contact="admin", roles=[WebRole.ADMINISTRATOR])
    _redeem(portal_sessions, used)
    _, expired = _invite(portal_sessions, people, ttl=timedelta(days=7), now=T0)
    revoked_id, revoked = _invite(portal_sessions, people, contact="bare", roles=[WebRole.ADMINISTRATOR])
    with session_scope(portal_sessions) as s:
        revoke_invitation(s, revoked_id)

    refusals = {
        "unknown": _refusal(portal_sessions, "x" * 43),
        "empty": _refusal(portal_sessions, ""),
        "oversized": _refusal(portal_sessions, "x" * 10_000),
        "reused": _refusal(portal_sessions, used),
        "expired": _refusal(portal_sessions, expired, now=T0 + timedelta(days=7)),
        "revoked": _refusal(portal_sessions, revoked),
    }
    for reason, error in refusals.items():
        assert (error.field, str(error)) == ("code", INVALID_CODE), reason
    assert _invitation(portal_sessions, used_id).redemption_count == 1
    # The expired one still worked a moment before it expired.
    assert _redeem(portal_sessions, expired, now=T0 + timedelta(days=7, seconds=-1)).id == people["customer"]

    # A contact disabled after being invited cannot redeem the invitation.
    disabled_id, disabled = _invite(portal_sessions, people)
    with session_scope(portal_sessions) as s:
        contact = s.get(Contact, people["customer"])
        assert contact is not None
        contact.is_enabled = False
    assert str(_refusal(portal_sessions, disabled)) == INVALID_CODE
    assert _invitation(portal_sessions, disabled_id).redemption_count == 0


def test_a_weak_password_is_refused_without_using_up_the_code(portal_sessions, people):
    invitation_id, code = _invite(portal_sessions, people)
    for weak, message in [
        ("password123456!", TOO_COMMON),
        ("short", "Use at least 12 characters."),
        ("ann.lee2024!!", "Don't use your e-mail address in your password."),
    ]:
        error = _refusal(portal_sessions, code, weak)
        assert (error.field, str(error)) == ("password", message)
    unused = _invitation(portal_sessions, invitation_id)
    assert (unused.redemption_count, unused.redeemed_at, invitation_status(unused)) == (0, None, "sent")
    assert _redeem(portal_sessions, code).id == people["customer"]


def test_sending_again_revokes_the_earlier_invitation(portal_sessions, people):
    first_id, first = _invite(portal_sessions, people, now=T0)
    second_id, second = _invite(portal_sessions, people, now=T0 + timedelta(hours=1))
    assert first != second

    assert invitation_status(_invitation(portal_sessions, first_id)) == "revoked"
    assert str(_refusal(portal_sessions, first)) == INVALID_CODE
    assert _redeem(portal_sessions, second, now=T0 + timedelta(hours=2)).id == people["customer"]

    with portal_sessions() as s:
        listing = invitations_for_listing(s, now=T0 + timedelta(hours=3))
    assert [(row["id"], row["status"]) for row in listing] == [(second_id, "redeemed"), (first_id, "revoked")]
    newest = listing[0]
    assert newest["email"] == "ann.lee@adventure-works.example"
    assert newest["name"] == "Ann Lee"
    assert newest["roles"] == ["customer_representative"]
    assert newest["created_at"] == T0 + timedelta(hours=1)
    assert newest["expires_at"] == T0 + timedelta(hours=1) + DEFAULT_INVITATION_TTL
    assert newest["redeemed_at"] == T0 + timedelta(hours=2)
    with portal_sessions() as s:
        assert len(invitations_for_listing(s, limit=1)) == 1


def test_who_can_be_invited_and_with_what(portal_sessions, people):
    with session_scope(portal_sessions) as s:

        def refusal(contact_id, roles):
            with pytest.raises(InvitationError) as caught:
                create_invitation(
                    s, contact_id=contact_id, roles=roles, invited_by_contact_id=people["admin"]
                )
            return caught.value

        error = refusal(people["bare"], [WebRole.AUTHORIZED_USER])
        assert error.field == "contact"
        assert "Company and Account number" in str(error)
        error = refusal(people["bare"], [WebRole.ADMINISTRATOR, WebRole.AUTHORIZED_USER])
        assert error.field == "contact"
        assert refusal(people["customer"], []).field == "roles"
        assert refusal(people["customer"], ["superuser"]).field == "roles"
        assert refusal(10_000, [WebRole.AUTHORIZED_USER]).field == "contact"
        # An administrator needs no company or account.
        invitation, _ = create_invitation(
            s, contact_id=people["bare"], roles=[WebRole.ADMINISTRATOR], invited_by_contact_id=None
        )
        assert invitation.roles == "administrator"
        invitation, _ = create_invitation(
            s,
            contact_id=people["customer"],
            roles=[WebRole.AUTHORIZED_USER, WebRole.ADMINISTRATOR, WebRole.AUTHORIZED_USER],
            invited_by_contact_id=people["admin"],
        )
        assert invitation.roles == "administrator,authorized_user"  # sorted, no duplicates
        customer = s.get(Contact, people["customer"])
        assert customer is not None
        customer.is_enabled = False
        s.flush()
        assert refusal(people["customer"], [WebRole.AUTHORIZED_USER]).field == "contact"
        assert s.scalar(select(func.count()).select_from(Invitation)) == 2


def test_revoking(portal_sessions, people):
    invitation_id, code = _invite(portal_sessions, people)
    assert str(_refusal(portal_sessions, code, "short")) == "Use at least 12 characters."
    with session_scope(portal_sessions) as s:
        revoked = revoke_invitation(s, invitation_id, now=T0)
        assert (revoked.revoked_at, invitation_status(revoked)) == (T0, "revoked")
    assert str(_refusal(portal_sessions, code)) == INVALID_CODE
    with session_scope(portal_sessions) as s:  # again: nothing changes
        assert revoke_invitation(s, invitation_id).revoked_at == T0
        with pytest.raises(InvitationError) as caught:
            revoke_invitation(s, 10_000)
        assert caught.value.field == "invitation"

    redeemed_id, redeemed = _invite(portal_sessions, people)
    _redeem(portal_sessions, redeemed)
    with session_scope(portal_sessions) as s, pytest.raises(InvitationError) as caught:
        revoke_invitation(s, redeemed_id)
    assert caught.value.field == "invitation"
    assert invitation_status(_invitation(portal_sessions, redeemed_id)) == "redeemed"


def test_status_of_an_invitation():
    invitation = Invitation(expires_at=T0, max_redemptions=1, redemption_count=0)
    assert invitation_status(invitation, T0 - timedelta(seconds=1)) == "sent"
    assert invitation_status(invitation, T0) == "expired"
    assert invitation_status(invitation, T0.replace(tzinfo=UTC) + timedelta(hours=-1)) == "sent"
    invitation.revoked_at = T0
    assert invitation_status(invitation, T0 - timedelta(days=1)) == "revoked"
    invitation.redemption_count = 1
    assert invitation_status(invitation, T0 + timedelta(days=1)) == "redeemed"


def test_two_simultaneous_redemptions_give_exactly_one_success(portal_db, portal_sessions, people):
    for round_ in range(2):
        _race_two_redemptions(portal_db, portal_sessions, people, session_version_after=4 + round_)


def _race_two_redemptions(portal_db, portal_sessions, people, session_version_after):
    invitation_id, code = _invite(portal_sessions, people)
    # Both threads are held just before the conditional UPDATE until both have got there.
    barrier = threading.Barrier(2, timeout=10)
    workers: set[int] = set()
    held: list[int] = []

    def hold_at_the_update(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() in workers and statement.lstrip().upper().startswith("UPDATE INVITATIONS"):
            held.append(threading.get_ident())
            barrier.wait()

    results: dict[str, tuple[str, str]] = {}

    def redeem(password: str) -> None:
        workers.add(threading.get_ident())
        try:
            contact = _redeem(portal_sessions, code, password)
            results[password] = ("ok", str(contact.id))
        except InvitationError as error:
            results[password] = (error.field, str(error))
        except Exception as error:  # reported below instead of as an unhandled thread exception
            results[password] = ("crash", repr(error))

    event.listen(portal_db, "before_cursor_execute", hold_at_the_update)
    try:
        threads = [threading.Thread(target=redeem, args=(p,)) for p in (GOOD_PASSWORD, OTHER_PASSWORD)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(portal_db, "before_cursor_execute", hold_at_the_update)

    assert len(held) == 2, results  # both really reached the UPDATE together
    outcomes = sorted(results.values())
    assert outcomes == [("code", INVALID_CODE), ("ok", str(people["customer"]))], outcomes
    winner = next(password for password, (field, _) in results.items() if field == "ok")
    assert _invitation(portal_sessions, invitation_id).redemption_count == 1
    with portal_sessions() as s:
        contact = s.get(Contact, people["customer"])
        assert contact is not None
        assert verify_password(contact.password_hash, winner)
        assert contact.session_version == session_version_after
