"""Contacts and invitations: administrators create and edit contacts, assign web roles, invite and revoke."""

import os
import smtplib
import time
from datetime import timedelta

import dash
from dash import Input, Output, State, callback, ctx, no_update
from dash.exceptions import PreventUpdate
from flask import current_app, request

import components.admin as ui
from data import contacts
from data.contacts import ContactError
from data.db import current_sessions, session_scope
from data.mailer import MailSettings, send_invitation
from data.models import WebRole
from pages._guard import require_roles
from pages._shell import user_zone

dash.register_page(
    __name__,
    path="/admin/contacts",
    name="Contacts",
    title="Contacts and invitations",
    roles=("administrator",),
    nav=True,
    order=20,
    tile={
        "title": "Contacts and invitations",
        "text": "Invite people, assign web roles, see who is ready to order.",
    },
)

VALUE_FIELDS = [name for name, *_ in (*ui.TEXT_FIELDS, *ui.SELECT_FIELDS)]
DISABLE_CONFIRM, DISABLE_CANCEL = ui.DISABLE_MODAL + "-confirm", ui.DISABLE_MODAL + "-cancel"
REVOKE_CONFIRM, REVOKE_CANCEL = ui.REVOKE_MODAL + "-confirm", ui.REVOKE_MODAL + "-cancel"
FORM_VALUES = (*VALUE_FIELDS, "roles", "enabled")
REFERENCE_FIELDS = ("legal_entity_id", "currency_code", "ship_to_country_region_id", "language_id")


def layout(**_):
    return ui.contacts_page()


def _feedback_outputs(duplicate: bool = False) -> dict:
    """The error state of every field: `invalid` on inputs and selects, the message beside each."""
    return {
        "invalid": {
            name: Output(ui.field_id(name), "invalid", allow_duplicate=duplicate) for name in VALUE_FIELDS
        },
        "message": {
            name: Output(ui.feedback_id(name), "children", allow_duplicate=duplicate)
            for name in ui.FORM_FIELDS
        },
    }


def _feedback(errors: dict[str, str] | None) -> dict:
    """Marks for `errors` (field -> message); None leaves every mark as it is."""
    if errors is None:
        return {
            "invalid": dict.fromkeys(VALUE_FIELDS, no_update),
            "message": dict.fromkeys(ui.FORM_FIELDS, no_update),
        }
    return {
        "invalid": {name: name in errors for name in VALUE_FIELDS},
        "message": {name: errors.get(name, "") for name in ui.FORM_FIELDS},
    }


@callback(
    Output(ui.CONTACTS_GRID, "rowData"),
    Input(ui.CONTACTS_SEARCH, "value"),
    Input(ui.CONTACTS_CHANGED, "data"),
)
def update_contacts_grid(search, _changed):
    principal = require_roles(WebRole.ADMINISTRATOR)
    with session_scope(current_sessions()) as session:
        rows = contacts.contacts_for_listing(session, principal, search=str(search or ""))
    return ui.contact_rows(rows, user_zone())


@callback(
    [Output(ui.field_id(name), "options") for name in REFERENCE_FIELDS],
    Input(ui.CONTACT_PANEL, "id"),
)
def update_reference_choices(_):
    require_roles(WebRole.ADMINISTRATOR)
    with session_scope(current_sessions()) as session:
        choices = {
            "legal_entity_id": contacts.company_choices(session),
            **contacts.reference_choices(session),
        }
    return [ui.select_options(choices[name], ui.EMPTY_LABELS[name]) for name in REFERENCE_FIELDS]


@callback(
    Output(ui.field_id("account_number"), "options"),
    Output(ui.field_id("price_list_code"), "options"),
    Output(ui.field_id("account_number"), "value", allow_duplicate=True),
    Output(ui.field_id("price_list_code"), "value", allow_duplicate=True),
    Input(ui.field_id("legal_entity_id"), "value"),
    State(ui.field_id("account_number"), "value"),
    State(ui.field_id("price_list_code"), "value"),
    prevent_initial_call="initial_duplicate",
)
def update_account_choices(legal_entity_id, account_number, price_list_code):
    """Accounts and price lists of the chosen company; a choice of another company is cleared."""
    principal = require_roles(WebRole.ADMINISTRATOR)
    company = str(legal_entity_id or "")
    with session_scope(current_sessions()) as session:
        accounts = contacts.account_choices(session, principal, company)
        price_lists = contacts.price_list_choices(session, company)

    def kept(value, choices):
        return no_update if not value or value in {v for v, _ in choices} else ""

    return (
        ui.select_options(accounts, ui.EMPTY_LABELS["account_number"]),
        ui.select_options(price_lists, ui.EMPTY_LABELS["price_list_code"]),
        kept(account_number, accounts),
        kept(price_list_code, price_lists),
    )


@callback(
    output={
        "open": Output(ui.CONTACT_PANEL, "is_open"),
        "title": Output(ui.CONTACT_PANEL, "title", allow_duplicate=True),
        "contact_id": Output(ui.CONTACT_ID, "data", allow_duplicate=True),
        "values": {name: Output(ui.field_id(name), "value") for name in FORM_VALUES},
        "feedback": _feedback_outputs(duplicate=True),
        "status": Output(ui.CONTACT_STATUS, "children", allow_duplicate=True),
        "invite_result": Output(ui.CONTACT_INVITE_RESULT, "children", allow_duplicate=True),
    },
    inputs={"selected": Input(ui.CONTACTS_GRID, "selectedRows"), "new": Input(ui.CONTACTS_NEW, "n_clicks")},
    state={"is_open": State(ui.CONTACT_PANEL, "is_open"), "current_id": State(ui.CONTACT_ID, "data")},
    prevent_initial_call=True,
)
def open_contact_form(selected, new, is_open, current_id):
    principal = require_roles(WebRole.ADMINISTRATOR)
    form = {"feedback": _feedback({}), "status": None, "invite_result": None}
    if ctx.triggered_id == ui.CONTACTS_NEW:
        values = {**dict.fromkeys(VALUE_FIELDS, ""), "roles": ["authorized_user"], "enabled": True}
        return {"open": True, "title": "New contact", "contact_id": None, "values": values, **form}
    if ctx.triggered_id != ui.CONTACTS_GRID or not selected or not isinstance(selected[0], dict):
        raise PreventUpdate
    if is_open and selected[0].get("id") == current_id:
        raise PreventUpdate  # the grid re-sent the selection after a refresh
    try:
        with session_scope(current_sessions()) as session:
            details = contacts.contact_details(session, principal, selected[0].get("id"))
    except ContactError as exc:
        unchanged = {"open": no_update, "title": no_update, "contact_id": no_update}
        values = dict.fromkeys(FORM_VALUES, no_update)
        return {**unchanged, "values": values, **form, "status": ui.status_alert(str(exc), "danger")}
    values = {name: details[name] for name in VALUE_FIELDS}
    values.update(roles=[str(role) for role in details["roles"]], enabled=details["enabled"])
    title = f"Edit {details['name']}"
    return {"open": True, "title": title, "contact_id": details["id"], "values": values, **form}


@callback(
    Output(ui.CONTACTS_GRID, "selectedRows"), Input(ui.CONTACT_PANEL, "is_open"), prevent_initial_call=True
)
def clear_contact_selection(is_open):
    require_roles(WebRole.ADMINISTRATOR)
    if is_open:
        raise PreventUpdate
    return []  # so that selecting the same contact again opens it again


@callback(
    output={
        "feedback": _feedback_outputs(),
        "status": Output(ui.CONTACT_STATUS, "children"),
        "contact_id": Output(ui.CONTACT_ID, "data"),
        "title": Output(ui.CONTACT_PANEL, "title"),
        "changed": Output(ui.CONTACTS_CHANGED, "data"),
        "confirm_disable": Output(ui.DISABLE_MODAL, "is_open"),
    },
    inputs={
        "save": Input(ui.CONTACT_SAVE, "n_clicks"),
        "confirm": Input(DISABLE_CONFIRM, "n_clicks"),
        "cancel": Input(DISABLE_CANCEL, "n_clicks"),
    },
    state={
        "contact_id": State(ui.CONTACT_ID, "data"),
        "values": {name: State(ui.field_id(name), "value") for name in FORM_VALUES},
    },
    prevent_initial_call=True,
)
def save_contact(save, confirm, cancel, contact_id, values):
    principal = require_roles(WebRole.ADMINISTRATOR)
    result = {"feedback": _feedback(None), "status": no_update, "contact_id": no_update, "title": no_update}
    result.update(changed=no_update, confirm_disable=False)
    if ctx.triggered_id not in (ui.CONTACT_SAVE, DISABLE_CONFIRM):
        return result  # cancelled: close the dialog, change nothing
    fields = {name: str(values.get(name) or "") for name in VALUE_FIELDS}
    roles = values.get("roles") if isinstance(values.get("roles"), list) else []
    enabled = bool(values.get("enabled"))
    try:
        with session_scope(current_sessions()) as session:
            if contact_id is None:
                contact = contacts.create_contact(session, principal, **fields)
            else:
                contact = contacts.get_contact(session, principal, contact_id)
                if ctx.triggered_id == ui.CONTACT_SAVE and contact.is_enabled and not enabled:
                    return {**result, "confirm_disable": True}  # ask first; nothing is written
                contacts.update_contact(session, principal, contact.id, **fields)
            contacts.set_roles(session, principal, contact.id, roles)
            contacts.set_enabled(session, principal, contact.id, enabled)
            saved_id, name = contact.id, contact.full_name
    except ContactError as exc:
        elsewhere = exc.errors.keys() - set(ui.FORM_FIELDS)
        message = f"Not saved: {exc}" if elsewhere else "Not saved: correct the fields marked below."
        return {**result, "feedback": _feedback(exc.errors), "status": ui.status_alert(message, "danger")}
    result.update(feedback=_feedback({}), status=ui.status_alert(f"Saved {name}."), contact_id=saved_id)
    return {**result, "title": f"Edit {name}", "changed": time.time()}


@callback(
    Output(ui.CONTACT_INVITATION, "children"),
    Output(ui.CONTACT_INVITE, "children"),
    Output(ui.CONTACT_INVITE, "disabled"),
    Output(ui.CONTACT_REVOKE, "disabled"),
    Input(ui.CONTACT_ID, "data"),
    Input(ui.CONTACTS_CHANGED, "data"),
)
def update_invitation_controls(contact_id, _changed):
    principal = require_roles(WebRole.ADMINISTRATOR)
    if contact_id is None:
        return ui.invitation_state(None), "Invite", True, True
    try:
        with session_scope(current_sessions()) as session:
            details = contacts.contact_details(session, principal, contact_id)
    except ContactError as exc:
        return str(exc), "Invite", True, True
    is_open = details["open_invitation_expires_at"] is not None
    return (
        ui.invitation_state(details, user_zone()),
        "Resend invitation" if is_open else "Invite",
        False,
        not is_open,
    )


@callback(
    Output(ui.CONTACT_INVITE_RESULT, "children"),
    Output(ui.feedback_id("roles"), "children", allow_duplicate=True),
    Output(ui.CONTACTS_CHANGED, "data", allow_duplicate=True),
    Input(ui.CONTACT_INVITE, "n_clicks"),
    State(ui.CONTACT_ID, "data"),
    State(ui.field_id("roles"), "value"),
    prevent_initial_call=True,
)
def invite_contact(_n, contact_id, roles):
    principal = require_roles(WebRole.ADMINISTRATOR)
    settings = current_app.config["PORTAL_SETTINGS"]
    days = settings.invitation_days
    try:
        with session_scope(current_sessions()) as session:
            roles = roles if isinstance(roles, list) else []
            contact, invitation, code = contacts.invite_contact(
                session, principal, contact_id, roles, ttl=timedelta(days=days)
            )
            email, name, expires_at = contact.email, contact.full_name, invitation.expires_at
    except ContactError as exc:
        if exc.field == "roles":
            return None, str(exc), no_update
        return ui.status_alert(str(exc), "danger"), "", no_update
    # the configured public address, so a forged Host header can never shape the link in the e-mail
    base = settings.public_url or request.host_url.rstrip("/")
    link = f"{base}/redeem?code={code}"
    outbox_file = mail_error = None
    try:
        mail = MailSettings.from_env(os.environ, settings.data_dir)
        path = send_invitation(mail, to=email, name=name, link=link, expires_at=expires_at)
        outbox_file = path.name if path else None
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        current_app.logger.warning("invitation e-mail to %s failed: %s", email, exc)
        mail_error = type(exc).__name__
    return ui.invite_result(link, expires_at, outbox_file, mail_error, user_zone()), "", time.time()


@callback(
    Output(ui.REVOKE_MODAL, "is_open"),
    Output(ui.CONTACT_INVITE_RESULT, "children", allow_duplicate=True),
    Output(ui.CONTACTS_CHANGED, "data", allow_duplicate=True),
    Input(ui.CONTACT_REVOKE, "n_clicks"),
    Input(REVOKE_CONFIRM, "n_clicks"),
    Input(REVOKE_CANCEL, "n_clicks"),
    State(ui.CONTACT_ID, "data"),
    prevent_initial_call=True,
)
def revoke_open_invitation(_revoke, _confirm, _cancel, contact_id):
    principal = require_roles(WebRole.ADMINISTRATOR)
    if ctx.triggered_id == ui.CONTACT_REVOKE:
        return True, no_update, no_update
    if ctx.triggered_id != REVOKE_CONFIRM:
        return False, no_update, no_update
    try:
        with session_scope(current_sessions()) as session:
            contacts.revoke_open_invitation(session, principal, contact_id)
    except ContactError as exc:
        return False, ui.status_alert(str(exc), "danger"), no_update
    return False, ui.status_alert("The invitation was revoked; its link no longer works."), time.time()
