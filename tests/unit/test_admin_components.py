"""Administration components: plain data in, Dash components out."""

from datetime import datetime

from components.admin import (
    contact_rows,
    contacts_page,
    invitations_table,
    invite_result,
    outbox_list,
    readiness_text,
    select_options,
)


def _walk(component):
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(reversed(node))
        elif isinstance(node, str):
            yield node
        elif node is not None:
            yield node
            stack.append(getattr(node, "children", None))


def _texts(component) -> str:
    return " ".join(node for node in _walk(component) if isinstance(node, str))


def test_readiness_in_words():
    assert readiness_text([]) == "Ready"
    assert readiness_text(["Price list", "Currency"]) == "Missing: Price list, Currency"


def test_contact_rows():
    row = contact_rows(
        [
            {
                "id": 7,
                "name": "Kim Lee",
                "email": "kim@example.com",
                "legal_entity_id": "USMF",
                "account_number": "US-001",
                "account_name": "Forest Wholesales",
                "roles": ["authorized_user", "customer_representative"],
                "enabled": False,
                "missing": ["Currency"],
                "last_sign_in_at": None,
                "invitation_open": True,
            }
        ]
    )[0]
    assert row["account"] == "US-001 · Forest Wholesales"
    assert row["roles"] == "Authorized user, Customer representative"
    assert (row["enabled"], row["readiness"], row["last_sign_in"], row["invitation"]) == (
        "Disabled",
        "Missing: Currency",
        "Never",
        "Open",
    )


def test_select_options_start_empty():
    assert select_options([("USMF", "USMF · Contoso")], "Choose the company") == [
        {"label": "Choose the company", "value": ""},
        {"label": "USMF · Contoso", "value": "USMF"},
    ]


def test_invitations_table_filters_by_status():
    moment = datetime(2026, 11, 1, 9, 30)
    invitations = [
        {
            "name": name,
            "email": f"{name}@example.com",
            "roles": ["authorized_user"],
            "status": status,
            "created_at": moment,
            "expires_at": moment,
            "redeemed_at": None,
            "revoked_at": None,
        }
        for name, status in (("ann", "sent"), ("bob", "revoked"))
    ]
    assert "bob" in _texts(invitations_table(invitations)) and "ann" in _texts(invitations_table(invitations))
    only_revoked = _texts(invitations_table(invitations, "revoked"))
    assert "bob" in only_revoked and "ann" not in only_revoked
    assert _texts(invitations_table(invitations, "expired")) == "No invitations to show."


def test_invite_result_says_where_the_mail_went():
    expires = datetime(2026, 11, 8, 9, 30)
    assert "demo outbox" in _texts(invite_result("http://x/redeem?code=c", expires, "a.eml", None))
    assert "was sent" in _texts(invite_result("http://x/redeem?code=c", expires, None, None))
    assert "Pass the link on yourself" in _texts(
        invite_result("http://x/redeem?code=c", expires, None, "OSError")
    )


def test_outbox_and_page_skeleton():
    assert _texts(outbox_list([])) == "The outbox is empty."
    message = {
        "to": "kim@example.com",
        "subject": "Invitation",
        "date": None,
        "link": "http://x/redeem?code=c",
    }
    assert "http://x/redeem?code=c" in _texts(outbox_list([message]))
    ids = {getattr(node, "id", None) for node in _walk(contacts_page())}
    assert {"admin-contacts-grid", "admin-contact-email", "admin-contact-roles", "admin-contact-save"} <= ids
