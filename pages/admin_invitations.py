"""Invitations: every invitation with its status, and the demo e-mail outbox with the links it holds."""

import os

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from flask import current_app

import components.admin as ui
from data.db import current_sessions, session_scope
from data.invitations import invitations_for_listing
from data.mailer import MailSettings, list_outbox
from data.models import WebRole
from pages._guard import require_roles
from pages._shell import user_zone

dash.register_page(
    __name__,
    path="/admin/invitations",
    name="Invitations",
    title="Invitations",
    roles=("administrator",),
    nav=True,
    order=21,
)

INVITATIONS_STATUS = "admin-invitations-status"
INVITATIONS_TABLE = "admin-invitations-table"
INVITATIONS_OUTBOX = "admin-invitations-outbox"
STATUS_CHOICES = [{"label": "All statuses", "value": ""}] + [
    {"label": label, "value": value} for value, label in ui.INVITATION_STATUS_LABELS.items()
]


def layout(**_):
    return html.Div(
        [
            html.H1("Invitations"),
            html.P(
                ["Invite people from ", html.A("Contacts and invitations", href="/admin/contacts"), "."],
                className="lead",
            ),
            dbc.Row(
                dbc.Col(
                    [
                        dbc.Label("Show invitations that are", html_for=INVITATIONS_STATUS),
                        dbc.Select(id=INVITATIONS_STATUS, options=STATUS_CHOICES, value=""),
                    ],
                    md=4,
                ),
                className="mb-3",
            ),
            html.Section(
                [
                    html.H2("Invitations", id="admin-invitations-title", className="h4"),
                    dcc.Loading(html.Div(id=INVITATIONS_TABLE), type="dot"),
                ],
                **{"aria-labelledby": "admin-invitations-title"},
            ),
            html.Section(
                [
                    html.H2("E-mail outbox", id="admin-outbox-title", className="h4 mt-4"),
                    html.P(
                        "Without an SMTP server (the demo), invitation e-mails are written here instead of "
                        "being sent. The newest 50 are shown.",
                        className="small text-muted",
                    ),
                    dcc.Loading(html.Div(id=INVITATIONS_OUTBOX), type="dot"),
                ],
                **{"aria-labelledby": "admin-outbox-title"},
            ),
        ]
    )


@callback(Output(INVITATIONS_TABLE, "children"), Input(INVITATIONS_STATUS, "value"))
def update_invitations_table(status):
    require_roles(WebRole.ADMINISTRATOR)
    status = status if status in ui.INVITATION_STATUS_LABELS else ""
    with session_scope(current_sessions()) as session:
        invitations = invitations_for_listing(session, limit=500)
    return ui.invitations_table(invitations, status, user_zone())


@callback(Output(INVITATIONS_OUTBOX, "children"), Input(INVITATIONS_OUTBOX, "id"))
def update_invitations_outbox(_):
    require_roles(WebRole.ADMINISTRATOR)
    settings = MailSettings.from_env(os.environ, current_app.config["PORTAL_SETTINGS"].data_dir)
    return ui.outbox_list(list_outbox(settings, limit=50), user_zone())
