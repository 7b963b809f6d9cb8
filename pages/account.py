"""Account summary: a customer account's master data, order figures, charts and contacts (DOMAIN §2)."""

import logging

import dash
from dash import Input, Output, callback

import components.account as ui
from data.accounts import account_choices, account_summary
from data.db import current_sessions, session_scope
from data.models import WebRole
from pages._guard import require_roles

dash.register_page(
    __name__,
    path="/account",
    name="Account",
    title="Account summary",
    roles=("customer_representative", "administrator"),
    nav=True,
    order=12,
    tile={"title": "Account", "text": "Your account's addresses, credit, KPIs and contacts."},
)

log = logging.getLogger("portal.account")

ROLES = (WebRole.CUSTOMER_REPRESENTATIVE, WebRole.ADMINISTRATOR)
MAX_CHOICES = 20


def layout(account=None, **_):
    """The same skeleton for everyone; `?account=` is kept as sent, for the callback to check in scope."""
    return ui.account_page(account[:32] if isinstance(account, str) else "")


@callback(
    Output(ui.ACCOUNT_SUMMARY, "children"),
    Output(ui.ACCOUNT_PICKER, "hidden"),
    Input(ui.ACCOUNT_REQUESTED, "data"),
)
def update_account_summary(requested):
    """Representatives: their own account (any other id is 'not found'). Administrators: the picker, and
    the account the address names."""
    principal = require_roles(*ROLES)
    picker_hidden = not principal.is_admin
    wanted = requested if requested not in (None, "") else None
    if wanted is None:
        if principal.is_admin:
            return ui.choose_prompt(), picker_hidden
        wanted = principal.customer_account_id
    with session_scope(current_sessions()) as session:
        summary = account_summary(session, principal, wanted)
    if summary is None:
        log.warning("account %r not found for %s", str(wanted)[:32], principal.email)
        return ui.not_found(), picker_hidden
    manage = "/admin/contacts" if principal.is_admin else None
    return ui.summary_view(summary, manage_contacts_href=manage), picker_hidden


@callback(
    Output(ui.ACCOUNT_MATCHES, "children"),
    Input(ui.ACCOUNT_SEARCH, "value"),
    prevent_initial_call=True,
)
def update_account_matches(search):
    """The administrator's type-ahead: accounts by number or name (a representative finds only their own)."""
    principal = require_roles(*ROLES)
    text = search.strip()[:100] if isinstance(search, str) else ""
    if not text:
        return []
    with session_scope(current_sessions()) as session:
        choices = account_choices(session, principal, text, limit=MAX_CHOICES)
    return ui.account_matches(choices, text, MAX_CHOICES)
