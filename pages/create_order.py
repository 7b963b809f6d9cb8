"""Create order: a three-step wizard (order information, items, review) whose submit places exactly one order.

What the person types lives in the browser (persisted fields and a local store), so a reload or an expired
sign-in loses nothing; the server rebuilds and rechecks the whole order from the principal at every step
and at submit. The items step's callbacks are in pages/_create_order_items.py.
"""

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

import components.wizard as ui
from data.db import current_sessions, session_scope
from data.order_entry import (
    NEW_ADDRESS,
    OrderEntryError,
    check_header,
    country_choices,
    delivery_addresses,
    new_key,
    next_working_day,
    place_order,
    price_lines,
)
from data.orders import customer_choices
from pages._create_order_items import items_step
from pages._guard import require_roles
from pages._wizard import ACCOUNT, LINES, REORDER, context_for, draft_lines, header_values, today, utcnow
from pages.orders import CUSTOMER_ROLES

dash.register_page(
    __name__,
    path="/create-order",
    name="Create order",
    title="Create order",
    roles=tuple(CUSTOMER_ROLES),
    nav=True,
    order=11,
    tile={
        "title": "Create order",
        "text": "Order from your price list, paste a list of items, or reorder.",
        "readiness": True,  # the home page names any missing setup field on this tile
    },
)

STEP = "wizard-step"  # a store: 1, 2, 3, or 4 once submitted
KEY = "wizard-key"  # a local store: this wizard instance's idempotency key
ERRORS = "wizard-errors"  # a store: field -> message, from the last step check or submit
FOCUS = "wizard-focus"  # a store the focus script writes to
READY = "wizard-ready"
FORM = "wizard-form"
ACCOUNT_FIELD = "wizard-account-field"
AUTOFILL = "wizard-autofill"
STEPPER = "wizard-stepper"
PANELS = ("wizard-step-1", "wizard-step-2", "wizard-step-3", "wizard-done")
RECEIPT = "wizard-receipt-date"
COUNTRY = "wizard-country"
ADDRESS, NEW_ADDRESS_FIELDS = "wizard-address", "wizard-new-address"
DESCRIPTION, STREET = "wizard-address-description", "wizard-address-street"
CITY, ZIP = "wizard-address-city", "wizard-address-zip"
REFERENCE = "wizard-reference"
NEXT_1, BACK_2, NEXT_2, BACK_3 = "wizard-next-1", "wizard-back-2", "wizard-next-2", "wizard-back-3"
LINES_MESSAGE = "wizard-lines-message"
REVIEW = "wizard-review"
SUBMIT, SUBMIT_MESSAGE = "wizard-submit", "wizard-submit-message"
CONFIRMATION = "wizard-confirmation"
#: Wizard field -> the input showing it (errors are shown next to these).
HEADER_FIELDS = {
    "receipt_date": RECEIPT,
    "country": COUNTRY,
    "address": ADDRESS,
    "address_description": DESCRIPTION,
    "address_street": STREET,
    "address_city": CITY,
    "address_zip": ZIP,
    "reference": REFERENCE,
}
HEADER_STATE = [State(component, "value") for component in HEADER_FIELDS.values()]
PERSIST = {"persistence": True, "persistence_type": "local"}


def _input(component_id: str, **kwargs) -> dbc.Input:
    return dbc.Input(id=component_id, **PERSIST, **kwargs)


def _step_one() -> html.Section:
    return html.Section(
        [
            html.H2("1. Order information", className="h4", tabIndex="-1", id="wizard-step-1-title"),
            dbc.Row(
                [
                    dbc.Col(
                        ui.field(
                            "Requested receipt date",
                            _input(RECEIPT, type="date", required=True),
                            RECEIPT,
                            "When you want to receive the goods; the next working day is suggested.",
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        ui.field(
                            "Ship-to country/region",
                            dbc.Select(id=COUNTRY, options=[], **PERSIST),
                            COUNTRY,
                            "Set from your account.",
                        ),
                        md=6,
                    ),
                ]
            ),
            ui.field(
                "Delivery address",
                dbc.Select(id=ADDRESS, options=[], placeholder="Choose a delivery address", **PERSIST),
                ADDRESS,
            ),
            html.Fieldset(
                [
                    html.Legend("New delivery address", className="h6"),
                    ui.field(
                        "Description",
                        _input(DESCRIPTION, maxLength=120),
                        DESCRIPTION,
                        "For example: Warehouse Berlin",
                    ),
                    ui.field("Street and number", _input(STREET, maxLength=250), STREET),
                    dbc.Row(
                        [
                            dbc.Col(ui.field("Postal code", _input(ZIP, maxLength=10), ZIP), md=4),
                            dbc.Col(ui.field("City", _input(CITY, maxLength=60), CITY), md=8),
                        ]
                    ),
                ],
                id=NEW_ADDRESS_FIELDS,
                hidden=True,
                className="border rounded p-3 mb-3",
            ),
            ui.field(
                "Your reference (optional)",
                _input(REFERENCE, maxLength=60),
                REFERENCE,
                "Your purchase order number, shown on the order and the invoice.",
            ),
            dbc.Button("Next: items", id=NEXT_1, color="primary"),
        ],
        id=PANELS[0],
    )


def layout(reorder=None, **_):
    return html.Div(
        [
            html.H1("Create order"),
            dcc.Store(id=STEP, data=1),
            dcc.Store(id=KEY, storage_type="local"),
            dcc.Store(id=LINES, storage_type="local"),
            dcc.Store(id=ERRORS, data={}),
            dcc.Store(id=REORDER, data=reorder),
            dcc.Store(id=FOCUS),
            dcc.Loading(html.Div(id=READY), type="dot"),
            html.Div(
                [
                    html.Div(
                        ui.field(
                            "Customer account",
                            dcc.Dropdown(
                                id=ACCOUNT, placeholder="Search by account number or name", **PERSIST
                            ),
                            ACCOUNT,
                            "Choose the customer to order for; its defaults are used.",
                        ),
                        id=ACCOUNT_FIELD,
                        hidden=True,
                    ),
                    html.Div(id=AUTOFILL),
                    html.Div(ui.stepper(1), id=STEPPER),
                    _step_one(),
                    items_step(hidden=True),
                    html.Section(
                        [
                            html.H2(
                                "3. Review and submit",
                                className="h4",
                                tabIndex="-1",
                                id="wizard-step-3-title",
                            ),
                            dcc.Loading(html.Div(id=REVIEW), type="dot"),
                            html.Div(id=SUBMIT_MESSAGE, role="alert"),
                            dbc.Button("Back", id=BACK_3, color="secondary", outline=True, className="me-2"),
                            dbc.Button("Submit order", id=SUBMIT, color="success"),
                        ],
                        id=PANELS[2],
                        hidden=True,
                    ),
                    html.Section(
                        dcc.Loading(html.Div(id=CONFIRMATION), type="dot"), id=PANELS[3], hidden=True
                    ),
                ],
                id=FORM,
                hidden=True,
            ),
        ]
    )


@callback(
    Output(READY, "children"),
    Output(FORM, "hidden"),
    Output(ACCOUNT_FIELD, "hidden"),
    Output(AUTOFILL, "children"),
    Output(ADDRESS, "options"),
    Output(COUNTRY, "options"),
    Output(COUNTRY, "value"),
    Output(COUNTRY, "disabled"),
    Output(RECEIPT, "min"),
    Output(RECEIPT, "value"),
    Output(KEY, "data"),
    Input(ACCOUNT, "value"),
    Input(COUNTRY, "value"),
    State(RECEIPT, "value"),
    State(KEY, "data"),
)
def update_wizard_setup(account, country, receipt, key):
    """Readiness and the auto-filled fields; for administrators, those of the chosen account (and the
    addresses in the ship-to country/region they choose)."""
    principal = require_roles(*CUSTOMER_ROLES)
    key = no_update if isinstance(key, str) and key else new_key()
    first_day = today()
    with session_scope(current_sessions()) as session:
        readiness = context_for(principal, session, account)
        ctx = readiness.context
        if ctx is None:
            choosing = principal.is_admin and not readiness.missing
            message = None if choosing else ui.not_ready(readiness.message, principal.is_admin)
            hint = html.P(readiness.message, className="text-muted") if choosing else None
            return (
                message,
                not principal.is_admin,
                not principal.is_admin,
                hint,
                [],
                [],
                None,
                True,
                first_day.isoformat(),
                no_update,
                key,
            )
        countries = country_choices(session, ctx) if ctx.country_choice else [ctx.ship_to_country]
        book = delivery_addresses(session, ctx)
    if not ctx.country_choice or country not in countries:
        country = ctx.ship_to_country
    addresses = [{"label": a.label, "value": str(a.id)} for a in book if a.country_region_id == country]
    addresses.append({"label": "A new delivery address…", "value": NEW_ADDRESS})
    return (
        None,
        False,
        not principal.is_admin,
        ui.autofill(ctx),
        addresses,
        [{"label": c, "value": c} for c in countries],
        country,
        not ctx.country_choice,
        first_day.isoformat(),
        no_update if _is_date(receipt) else next_working_day(first_day).isoformat(),
        key,
    )


def _is_date(value) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


@callback(Output(ACCOUNT, "options"), Input(ACCOUNT, "search_value"), State(ACCOUNT, "value"))
def update_wizard_accounts(search, chosen):
    """Administrators' account picker, searched in the database (the chosen one stays listed)."""
    principal = require_roles(*CUSTOMER_ROLES)
    if not principal.is_admin:
        return []
    with session_scope(current_sessions()) as session:
        choices = customer_choices(session, principal, search, chosen)
    return [{"label": label, "value": account_id} for account_id, label in choices]


@callback(Output(NEW_ADDRESS_FIELDS, "hidden"), Input(ADDRESS, "value"))
def update_new_address_fields(address):
    require_roles(*CUSTOMER_ROLES)
    return address != NEW_ADDRESS


@callback(
    Output(STEP, "data"),
    Output(ERRORS, "data"),
    Input(NEXT_1, "n_clicks"),
    Input(BACK_2, "n_clicks"),
    Input("wizard-next-2", "n_clicks"),
    Input(BACK_3, "n_clicks"),
    State(ACCOUNT, "value"),
    *HEADER_STATE,
    State(LINES, "data"),
    prevent_initial_call=True,
)
def update_step(_next1, _back2, _next2, _back3, account, *values):
    """Moving forward checks the step being left, on the server; moving back always works."""
    principal = require_roles(*CUSTOMER_ROLES)
    *header, store = values
    trigger = dash.ctx.triggered_id
    if trigger == BACK_2:
        return 1, {}
    if trigger == BACK_3:
        return 2, {}
    with session_scope(current_sessions()) as session:
        ctx = context_for(principal, session, account).context
        if ctx is None:
            return 1, {}
        _, errors = check_header(session, ctx, header_values(header), today())
        if errors:
            return 1, errors
        if trigger == NEXT_1:
            return 2, {}
        lines, problems = price_lines(session, principal, ctx, draft_lines(store, principal), today())
    if not lines:
        return 2, {"lines": "Add at least one item before you continue."}
    if problems:
        index, problem = next(iter(problems.items()))
        return 2, {"lines": f"Line {index + 1} ({lines[index].item_number}): {problem} Edit or remove it."}
    return 3, {}


@callback(*(Output(panel, "hidden") for panel in PANELS), Output(STEPPER, "children"), Input(STEP, "data"))
def update_step_view(step):
    require_roles(*CUSTOMER_ROLES)
    step = step if step in (1, 2, 3, 4) else 1
    return (*(number != step for number in (1, 2, 3, 4)), ui.stepper(step) if step < 4 else None)


# Keyboard and screen-reader users land on the new step's heading.
clientside_callback(
    ClientsideFunction(namespace="wizard", function_name="focusStep"),
    Output(FOCUS, "data"),
    Input(STEP, "data"),
    prevent_initial_call=True,
)


@callback(
    *(Output(component, "invalid") for component in HEADER_FIELDS.values()),
    *(Output(f"{component}-feedback", "children") for component in HEADER_FIELDS.values()),
    Output(LINES_MESSAGE, "children"),
    Output(SUBMIT_MESSAGE, "children"),
    Input(ERRORS, "data"),
)
def update_wizard_feedback(errors):
    """Each message next to the field that caused it."""
    require_roles(*CUSTOMER_ROLES)
    errors = errors if isinstance(errors, dict) else {}
    messages = [str(errors.get(name) or "") for name in HEADER_FIELDS]
    lines = errors.get("lines")
    problem = errors.get("key") or errors.get("setup") or errors.get("submit")
    return (
        *(bool(m) for m in messages),
        *messages,
        dbc.Alert(str(lines), color="danger", className="py-2") if lines else None,
        dbc.Alert(str(problem), color="danger") if problem else None,
    )


@callback(
    Output(REVIEW, "children"),
    Input(STEP, "data"),
    State(ACCOUNT, "value"),
    *HEADER_STATE,
    State(LINES, "data"),
)
def update_review(step, account, *values):
    """Step 3 shows the order exactly as the server would place it."""
    principal = require_roles(*CUSTOMER_ROLES)
    if step != 3:
        return no_update
    *header, store = values
    with session_scope(current_sessions()) as session:
        ctx = context_for(principal, session, account).context
        if ctx is None:
            return None
        checked, _ = check_header(session, ctx, header_values(header), today())
        lines, problems = price_lines(session, principal, ctx, draft_lines(store, principal), today())
    if checked is None:
        return html.P("Go back to step 1: some order information is missing.", className="text-danger")
    return ui.review(ctx, checked, lines, problems)


@callback(
    Output(CONFIRMATION, "children"),
    Output(STEP, "data", allow_duplicate=True),
    Output(ERRORS, "data", allow_duplicate=True),
    Output(KEY, "data", allow_duplicate=True),
    Output(LINES, "data", allow_duplicate=True),
    Output(REFERENCE, "value"),
    Input(SUBMIT, "n_clicks"),
    State(ACCOUNT, "value"),
    *HEADER_STATE,
    State(LINES, "data"),
    State(KEY, "data"),
    prevent_initial_call=True,
    running=[(Output(SUBMIT, "disabled"), True, False)],
)
def submit_order(clicks, account, *values):
    """Place the order once: the server rebuilds it from the principal and the draft and checks it all."""
    principal = require_roles(*CUSTOMER_ROLES)
    if not clicks:
        return (no_update,) * 6
    *header, store, key = values
    try:
        placed = place_order(
            current_sessions(),
            principal,
            account_id=account if principal.is_admin else None,
            header=header_values(header),
            lines=draft_lines(store, principal),
            key=key,
            now=utcnow(),
            today=today(),
        )
    except OrderEntryError as exc:
        step = 1 if set(exc.errors) & set(HEADER_FIELDS) else 2 if "lines" in exc.errors else 3
        return no_update, step, exc.errors, no_update, no_update, no_update
    except (IntegrityError, OperationalError):
        busy = {"submit": "The order could not be saved just now. Nothing is lost: press Submit order again."}
        return no_update, 3, busy, no_update, no_update, no_update
    push_now = current_app.extensions.get("portal.push_now")
    if push_now is not None:
        push_now()
    cleared = {"owner": principal.contact_id, "lines": [], "reordered": []}
    done = ui.confirmation(placed.portal_reference, placed.order_id, placed.created)
    return done, 4, {}, new_key(), cleared, ""
