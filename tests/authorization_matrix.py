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
REPRESENTATIVE_OR_ADMIN = {
    "anonymous": "denied",
    "authorized_user": "denied",
    "customer_representative": "scoped",
    "administrator": "allowed",
}
ADMIN_ONLY = {
    "anonymous": "denied",
    "authorized_user": "denied",
    "customer_representative": "denied",
    "administrator": "allowed",
}

SIGNED_IN_ONLY_SCOPED = {
    "anonymous": "denied",
    "authorized_user": "scoped",
    "customer_representative": "scoped",
    "administrator": "allowed",
}

MATRIX: dict[str, dict[str, str]] = {
    # Pages routing: public pages for everyone; other pages answer with a sign-in or 403 panel.
    "dash.dash.update": SIGNED_IN_SCOPED,
    "pages._shell.update_shell_nav": SIGNED_IN_SCOPED,
    "pages.home.update_home_notices": PUBLIC,
    "pages.home.update_home_tiles": SIGNED_IN_SCOPED,
    "pages.account.update_account_summary": REPRESENTATIVE_OR_ADMIN,
    "pages.account.update_account_matches": REPRESENTATIVE_OR_ADMIN,
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
    # Orders: everyone signed in, each within their scope (own, the account's, all).
    "pages.orders.update_orders_frame": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_orders_freshness": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_orders_query": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_orders_rows": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_status_chips": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_customer_options": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.update_placer_options": SIGNED_IN_ONLY_SCOPED,
    "pages.orders.clear_orders_filters": SIGNED_IN_ONLY_SCOPED,
    "pages.order_detail.update_order_detail": SIGNED_IN_ONLY_SCOPED,
    # Create order: everyone signed in who may order, for their own account (administrators: any).
    "pages.create_order.update_wizard_setup": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_wizard_accounts": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_new_address_fields": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_step": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_step_view": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_wizard_feedback": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.update_review": SIGNED_IN_ONLY_SCOPED,
    "pages.create_order.submit_order": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.update_lines_view": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.update_product_options": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.update_item_details": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.update_item_dialog": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.remove_line": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.import_lines": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.copy_order_lines": SIGNED_IN_ONLY_SCOPED,
    "pages._create_order_items.update_past_orders": SIGNED_IN_ONLY_SCOPED,
    # Sync health: administrators only (reads and every write).
    "pages.sync_health.update_sync_health": ADMIN_ONLY,
    "pages.sync_health.handle_sync_action": ADMIN_ONLY,
}
