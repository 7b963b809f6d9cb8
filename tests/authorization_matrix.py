"""Every callback of the portal, for every role: what each role may do with it.

- "allowed": the callback answers (public information, or everything for an administrator);
- "scoped":  the callback answers with the caller's own data only (the probe checks for foreign data);
- "denied":  401 for anonymous callers, 403 for signed-in callers without the role; nothing is written.

tests/integration/test_authorization.py fails when a callback of the app is missing here.
"""

ROLES = ("anonymous", "authorized_user", "customer_representative", "administrator")

PUBLIC = dict.fromkeys(ROLES, "allowed")
SIGNED_IN_SCOPED = {
    "anonymous": "allowed",
    "authorized_user": "scoped",
    "customer_representative": "scoped",
    "administrator": "allowed",
}
ADMIN_ONLY = {
    "anonymous": "denied",
    "authorized_user": "denied",
    "customer_representative": "denied",
    "administrator": "allowed",
}

MATRIX: dict[str, dict[str, str]] = {
    # Pages routing: public pages for everyone; other pages answer with a sign-in or 403 panel.
    "dash.dash.update": SIGNED_IN_SCOPED,
    "pages._shell.update_shell_nav": SIGNED_IN_SCOPED,
    "pages.home.update_home_notices": PUBLIC,
    "pages.home.update_home_tiles": SIGNED_IN_SCOPED,
    "pages.admin_contacts.update_contacts_grid": ADMIN_ONLY,
    "pages.admin_contacts.update_reference_choices": ADMIN_ONLY,
    "pages.admin_contacts.update_account_choices": ADMIN_ONLY,
    "pages.admin_contacts.open_contact_form": ADMIN_ONLY,
    "pages.admin_contacts.clear_contact_selection": ADMIN_ONLY,
    "pages.admin_contacts.save_contact": ADMIN_ONLY,
    "pages.admin_contacts.update_invitation_controls": ADMIN_ONLY,
    "pages.admin_contacts.invite_contact": ADMIN_ONLY,
    "pages.admin_contacts.revoke_open_invitation": ADMIN_ONLY,
    "pages.admin_invitations.update_invitations_table": ADMIN_ONLY,
    "pages.admin_invitations.update_invitations_outbox": ADMIN_ONLY,
}
