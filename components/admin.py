"""Administration pages' building blocks: the contacts grid and form, invitations, the e-mail outbox.

Pure: plain data in (dicts, lists of (value, label)), Dash components out. No database, no flask_login.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.shell import ROLE_CHOICES, ROLE_LABELS

# Ids shared by the contacts page and the form built here.
CONTACTS_SEARCH = "admin-contacts-search"
CONTACTS_GRID = "admin-contacts-grid"
CONTACTS_NEW = "admin-contacts-new"
CONTACTS_CHANGED = "admin-contacts-changed"  # a store: bumped whenever a contact or invitation changes
CONTACT_PANEL = "admin-contact-panel"
CONTACT_ID = "admin-contact-id"  # a store: the contact in the form, None for a new one
CONTACT_STATUS = "admin-contact-status"
CONTACT_SAVE = "admin-contact-save"
CONTACT_INVITATION = "admin-contact-invitation"
CONTACT_INVITE = "admin-contact-invite"
CONTACT_INVITE_RESULT = "admin-contact-invite-result"
CONTACT_REVOKE = "admin-contact-revoke"
DISABLE_MODAL = "admin-contact-disable-modal"
REVOKE_MODAL = "admin-contact-revoke-modal"


TEXT_FIELDS = (
    ("email", "E-mail address", "email"),
    ("first_name", "First name", "text"),
    ("last_name", "Last name", "text"),
)
SELECT_FIELDS = (
    ("legal_entity_id", "Company", "Choose the company"),
    ("account_number", "Customer account", "Choose the customer account"),
    ("price_list_code", "Price list", "The customer account's price list"),
    ("currency_code", "Currency", "The customer account's currency"),
    ("ship_to_country_region_id", "Ship-to country/region", "The customer account's country/region"),
    ("language_id", "Language", "The customer account's language"),
)
#: Every field that can carry an error, in form order (the names `data.contacts` uses).
FORM_FIELDS = (*(name for name, *_ in (*TEXT_FIELDS, *SELECT_FIELDS)), "roles", "enabled")
EMPTY_LABELS = {name: empty for name, _, empty in SELECT_FIELDS}

CONTACT_COLUMNS = [
    {"field": "name", "headerName": "Name", "minWidth": 150},
    {"field": "email", "headerName": "E-mail", "minWidth": 190},
    {"field": "company", "headerName": "Company", "maxWidth": 110},
    {"field": "account", "headerName": "Customer account", "minWidth": 180},
    {"field": "roles", "headerName": "Web roles", "minWidth": 160},
    {"field": "enabled", "headerName": "Sign-in", "maxWidth": 110},
    {"field": "readiness", "headerName": "Ready to order", "minWidth": 200},
    {"field": "last_sign_in", "headerName": "Last sign-in", "minWidth": 140},
    {"field": "invitation", "headerName": "Invitation", "maxWidth": 120},
]


def field_id(name: str) -> str:
    return "admin-contact-" + name.replace("_", "-")


def feedback_id(name: str) -> str:
    return field_id(name) + "-feedback"


def when(moment: datetime | None, empty: str = "", zone: tzinfo = UTC) -> str:
    """A stored (naive UTC) time in the reader's time zone, with the zone's abbreviation."""
    if not moment:
        return empty
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def readiness_text(missing: list[str]) -> str:
    return "Missing: " + ", ".join(missing) if missing else "Ready"


def role_text(roles: list[str]) -> str:
    return ", ".join(ROLE_LABELS.get(role, role) for role in roles) or "None"


def contact_rows(contacts: list[dict[str, Any]], zone: tzinfo = UTC) -> list[dict[str, Any]]:
    """Rows for the contacts grid from `data.contacts.contacts_for_listing`."""
    return [
        {
            "id": c["id"],
            "name": c["name"],
            "email": c["email"],
            "company": c["legal_entity_id"] or "",
            "account": " · ".join(part for part in (c["account_number"], c["account_name"]) if part),
            "roles": role_text(c["roles"]),
            "enabled": "Enabled" if c["enabled"] else "Disabled",
            "readiness": readiness_text(c["missing"]),
            "last_sign_in": when(c["last_sign_in_at"], "Never", zone),
            "invitation": "Open" if c["invitation_open"] else "",
        }
        for c in contacts
    ]


def contacts_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=CONTACTS_GRID,
        rowData=[],
        columnDefs=CONTACT_COLUMNS,
        defaultColDef={"sortable": True, "resizable": True},
        columnSize="sizeToFit",
        className="ag-theme-alpine",
        getRowId="String(params.data.id)",
        dashGridOptions={
            "theme": "themeAlpine",
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "localeText": {"noRowsToShow": "No contacts match."},
        },
        style={"height": "28rem"},
    )


def select_options(choices: list[tuple[str, str]], empty_label: str) -> list[dict[str, str]]:
    """Options for a dbc.Select: an empty first choice, then (value, label) pairs."""
    return [{"label": empty_label, "value": ""}] + [
        {"label": label, "value": value} for value, label in choices
    ]


def _text_field(name: str, label: str, kind: str) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=field_id(name)),
            dbc.Input(id=field_id(name), type=kind, value="", maxlength=254, autocomplete="off"),
            dbc.FormFeedback(id=feedback_id(name), type="invalid"),
        ],
        md=12 if name == "email" else 6,
        className="mb-3",
    )


def _select_field(name: str, label: str, empty: str) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=field_id(name)),
            dbc.Select(id=field_id(name), options=[{"label": empty, "value": ""}], value=""),
            dbc.FormFeedback(id=feedback_id(name), type="invalid"),
        ],
        md=6,
        className="mb-3",
    )


def _check_error(name: str) -> html.Div:
    """Where an error about a checklist or switch appears (they have no `invalid` state)."""
    return html.Div(id=feedback_id(name), className="invalid-feedback d-block", role="alert")


def contact_form() -> html.Div:
    """The create/edit form: fields, web roles, sign-in switch, Save, and the invitation controls."""
    return html.Div(
        [
            dcc.Store(id=CONTACT_ID, data=None),
            html.Div(id=CONTACT_STATUS, **{"aria-live": "polite"}),
            dbc.Row([_text_field(*field) for field in TEXT_FIELDS]),
            html.P(
                "Empty price list, currency, country/region and language take the customer account's.",
                className="small text-muted",
            ),
            dbc.Row([_select_field(*field) for field in SELECT_FIELDS]),
            html.Fieldset(
                [
                    html.Legend("Web roles", className="form-label fs-6"),
                    dbc.Checklist(
                        id=field_id("roles"),
                        options=[{"label": label, "value": value} for value, label in ROLE_CHOICES],
                        value=[],
                    ),
                    _check_error("roles"),
                ],
                className="mb-3",
            ),
            dbc.Switch(id=field_id("enabled"), label="Sign-in enabled", value=True),
            _check_error("enabled"),
            dbc.Button("Save", id=CONTACT_SAVE, color="primary", className="mt-3"),
            html.Hr(),
            html.H3("Invitation", className="h5"),
            html.P(id=CONTACT_INVITATION, className="small"),
            html.Div(
                [
                    dbc.Button("Invite", id=CONTACT_INVITE, color="success", disabled=True),
                    dbc.Button(
                        "Revoke open invitation", id=CONTACT_REVOKE, color="outline-danger", disabled=True
                    ),
                ],
                className="d-flex gap-2",
            ),
            html.Div(id=CONTACT_INVITE_RESULT, className="mt-3", **{"aria-live": "polite"}),
        ]
    )


def confirm_modal(modal_id: str, title: str, body: str, confirm_label: str) -> dbc.Modal:
    """A confirmation dialog; its buttons are `<modal_id>-confirm` and `<modal_id>-cancel`."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title, id=f"{modal_id}-title")),
            dbc.ModalBody(body),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=f"{modal_id}-cancel", color="secondary"),
                    dbc.Button(confirm_label, id=f"{modal_id}-confirm", color="danger"),
                ]
            ),
        ],
        id=modal_id,
        is_open=False,
        labelledby=f"{modal_id}-title",
    )


def status_alert(message: str, color: str = "success") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2")


def invitation_state(details: dict[str, Any] | None, zone: tzinfo = UTC) -> str:
    """The invitation line of the form for `data.contacts.contact_details` (None: a contact not saved)."""
    if details is None:
        return "Save the contact first, then invite it."
    if details["open_invitation_expires_at"]:
        return f"An invitation is open until {when(details['open_invitation_expires_at'], zone=zone)}."
    if details["has_password"]:
        return "This person has signed up. A new invitation replaces their password when redeemed."
    return "Not invited yet, or the last invitation has ended."


def invite_result(
    link: str, expires_at: datetime, outbox_file: str | None, mail_error: str | None, zone: tzinfo = UTC
) -> dbc.Alert:
    """The invitation link, shown once, and where the e-mail went."""
    if mail_error:
        note, color = f"The e-mail could not be sent ({mail_error}). Pass the link on yourself.", "warning"
    elif outbox_file:
        note, color = f"The e-mail was also written to the demo outbox ({outbox_file}).", "success"
    else:
        note, color = "The e-mail was sent.", "success"
    return dbc.Alert(
        [
            html.P(
                f"Invitation created. It works once, until {when(expires_at, zone=zone)}.", className="mb-2"
            ),
            dbc.Label("Invitation link (shown only now)", html_for="admin-contact-invite-link"),
            dbc.Input(id="admin-contact-invite-link", value=link, readonly=True, className="mb-2"),
            html.P(note, className="mb-0 small"),
        ],
        color=color,
    )


# --- invitations page -------------------------------------------------------------------------------

INVITATION_STATUS_LABELS = {
    "sent": "Sent",
    "redeemed": "Redeemed",
    "expired": "Expired",
    "revoked": "Revoked",
}


def invitations_table(invitations: list[dict[str, Any]], status: str = "", zone: tzinfo = UTC) -> html.Div:
    """Invitations from `data.invitations.invitations_for_listing`, optionally only one status."""
    shown = [i for i in invitations if not status or i["status"] == status]
    if not shown:
        return html.P("No invitations to show.", className="text-muted")
    header = html.Thead(
        html.Tr([html.Th(h, scope="col") for h in ("Contact", "Web roles", "Status", "Sent", "Ends", "Used")])
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td([i["name"], html.Br(), html.Small(i["email"], className="text-muted")]),
                    html.Td(role_text(i["roles"])),
                    html.Td(INVITATION_STATUS_LABELS.get(i["status"], i["status"])),
                    html.Td(when(i["created_at"], zone=zone)),
                    html.Td(
                        when(i["revoked_at"] if i["status"] == "revoked" else i["expires_at"], zone=zone)
                    ),
                    html.Td(when(i["redeemed_at"], zone=zone)),
                ]
            )
            for i in shown
        ]
    )
    return dbc.Table([header, body], striped=True, hover=True, responsive=True, size="sm")


def outbox_list(messages: list[dict[str, Any]], zone: tzinfo = UTC) -> html.Div:
    """The demo e-mail outbox, newest first, with each message's link."""
    if not messages:
        return html.P("The outbox is empty.", className="text-muted")
    return dbc.ListGroup(
        [
            dbc.ListGroupItem(
                [
                    html.Div(
                        [
                            html.Strong(m["to"]),
                            html.Small(f" · {when(m['date'], zone=zone)}", className="text-muted"),
                        ]
                    ),
                    html.Div(m["subject"], className="small"),
                    html.A(m["link"], href=m["link"], className="small text-break") if m["link"] else None,
                ]
            )
            for m in messages
        ]
    )


def contacts_page() -> html.Div:
    """The contacts page skeleton: search, the grid, the edit panel and its two confirmations."""
    search = dbc.Col(
        [
            dbc.Label("Search by e-mail, name or customer account", html_for=CONTACTS_SEARCH),
            dbc.Input(id=CONTACTS_SEARCH, type="search", value="", debounce=400),
        ],
        md=6,
    )
    return html.Div(
        [
            html.H1("Contacts and invitations"),
            html.P("Invite people, assign web roles and see who is ready to order.", className="lead"),
            dbc.Row(
                [search, dbc.Col(dbc.Button("New contact", id=CONTACTS_NEW), className="mt-auto")],
                className="mb-3",
            ),
            html.H2("Contacts", id="admin-contacts-title", className="h4"),
            html.P("Select a contact to edit it.", className="small text-muted"),
            html.Div(
                dcc.Loading(contacts_grid(), type="dot"),
                role="region",
                **{"aria-labelledby": "admin-contacts-title"},
            ),
            dcc.Store(id=CONTACTS_CHANGED, data=0),
            dbc.Offcanvas(
                contact_form(),
                id=CONTACT_PANEL,
                title="Contact",
                placement="end",
                is_open=False,
                style={"width": "min(42rem, 100vw)"},
            ),
            confirm_modal(
                DISABLE_MODAL,
                "Disable this sign-in?",
                "The person is signed out at once and cannot sign in until enabled again.",
                "Disable and save",
            ),
            confirm_modal(
                REVOKE_MODAL,
                "Revoke the open invitation?",
                "Its link stops working. You can send a new invitation later.",
                "Revoke invitation",
            ),
        ]
    )
