"""The create-order wizard's items step: the item dialog, lines, CSV lines and reorder (not a page).

Every line change rewrites the local draft store; prices shown are always looked up again on the server.
"""

import base64
import binascii

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

import components.wizard as ui
from components.orders import money, portal_reference
from data.catalog import get_orderable, search_products
from data.db import current_sessions, session_scope
from data.order_entry import (
    MAX_CSV_BYTES,
    MAX_LINES,
    import_csv,
    item_line,
    parse_id,
    price_line,
    price_lines,
    reorder,
)
from data.orders import fetch_page, parse_query
from pages._guard import require_roles
from pages._wizard import ACCOUNT, LINES, REORDER, context_for, draft_lines, text, today
from pages.orders import CUSTOMER_ROLES

ADD = "wizard-add-item"
DIALOG = "wizard-item-dialog"
PRODUCT, UNIT, QUANTITY = "wizard-item-product", "wizard-item-unit", "wizard-item-quantity"
PRICE = "wizard-item-price"
INDEX = "wizard-item-index"  # a store: the line being edited, or None for a new one
WANTED_UNIT = "wizard-item-wanted-unit"  # a store: the unit to select once the product's units are known
SAVE, CANCEL = "wizard-item-save", "wizard-item-cancel"
ITEM_MESSAGE = "wizard-item-message"
TABLE = "wizard-lines-table"
CSV_UPLOAD, CSV_TEXT, CSV_ADD = "wizard-csv-upload", "wizard-csv-text", "wizard-csv-add"
CSV_RESULTS = "wizard-csv-results"
PAST_ORDER, COPY, REORDER_NOTES = "wizard-reorder-order", "wizard-reorder-copy", "wizard-reorder-notes"
EDIT_LINE, REMOVE_LINE = "wizard-edit-line", "wizard-remove-line"


def _dialog() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Item", id=f"{DIALOG}-title")),
            dbc.ModalBody(
                [
                    ui.field(
                        "Product",
                        dcc.Dropdown(id=PRODUCT, placeholder="Type an item number or name", optionHeight=50),
                        PRODUCT,
                        "Products of your price list.",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(ui.field("Unit", dbc.Select(id=UNIT, options=[]), UNIT), md=6),
                            dbc.Col(
                                ui.field(
                                    "Quantity",
                                    dbc.Input(id=QUANTITY, inputMode="decimal", debounce=True),
                                    QUANTITY,
                                ),
                                md=6,
                            ),
                        ]
                    ),
                    html.Div(id=PRICE, **{"aria-live": "polite"}),
                    html.Div(id=ITEM_MESSAGE, className="text-danger", role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=CANCEL, color="secondary", outline=True),
                    dbc.Button("Save item", id=SAVE, color="primary"),
                ]
            ),
        ],
        id=DIALOG,
        is_open=False,
        labelledby=f"{DIALOG}-title",
    )


def items_step(hidden: bool) -> html.Section:
    return html.Section(
        [
            html.H2("2. Items", className="h4", tabIndex="-1", id="wizard-step-2-title"),
            dcc.Store(id=INDEX),
            dcc.Store(id=WANTED_UNIT),
            dbc.Button("Add item", id=ADD, color="primary", className="mb-3"),
            _dialog(),
            dcc.Loading(html.Div(id=TABLE), type="dot"),
            html.Div(id="wizard-lines-message"),
            html.Details(
                [
                    html.Summary("Paste or upload a list of items (CSV)"),
                    html.P(
                        "One item per row: item number, quantity and, if not the usual one, the unit. "
                        "Separate them with commas, semicolons or tabs.",
                        className="small text-muted mt-2",
                    ),
                    dbc.Label("Items to paste", html_for=CSV_TEXT, className="visually-hidden"),
                    dbc.Textarea(
                        id=CSV_TEXT, rows=4, placeholder="A0001, 5\nA0171; 2,5; m", className="mb-2"
                    ),
                    dbc.Button(
                        "Add these items", id=CSV_ADD, color="secondary", outline=True, className="me-2"
                    ),
                    dcc.Upload(
                        html.Span("or upload a CSV file", className="btn btn-link"),
                        id=CSV_UPLOAD,
                        accept=".csv,.txt,text/csv,text/plain",
                        max_size=MAX_CSV_BYTES,
                        className="d-inline-block",
                    ),
                    html.Div(id=CSV_RESULTS, className="mt-2"),
                ],
                className="border rounded p-2 mb-3",
            ),
            html.Details(
                [
                    html.Summary("Reorder: copy the items of a past order"),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Past order", html_for=PAST_ORDER, className="small"),
                                    dcc.Dropdown(
                                        id=PAST_ORDER, placeholder="Search your orders by number or reference"
                                    ),
                                ],
                                md=8,
                            ),
                            dbc.Col(
                                dbc.Button("Copy its items", id=COPY, color="secondary", outline=True),
                                md=4,
                                className="align-self-end",
                            ),
                        ],
                        className="mt-2",
                    ),
                    html.Div(id=REORDER_NOTES, className="mt-2", role="status"),
                ],
                className="border rounded p-2 mb-3",
            ),
            dbc.Button("Back", id="wizard-back-2", color="secondary", outline=True, className="me-2"),
            dbc.Button("Next: review", id="wizard-next-2", color="primary"),
        ],
        id="wizard-step-2",
        hidden=hidden,
    )


def _store(principal, lines, store=None) -> dict:
    reordered = (
        store.get("reordered")
        if isinstance(store, dict) and store.get("owner") == principal.contact_id
        else []
    )
    reordered = (
        [order_id for order_id in reordered if isinstance(order_id, int)]
        if isinstance(reordered, list)
        else []
    )
    return {"owner": principal.contact_id, "lines": lines[:MAX_LINES], "reordered": reordered}


def _clicked() -> bool:
    """A pattern-matched button was really pressed (not just drawn by a new table)."""
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


@callback(Output(TABLE, "children"), Input(LINES, "data"), Input(ACCOUNT, "value"))
def update_lines_view(store, account):
    """The lines with today's price-list prices and the running total in the order's currency."""
    principal = require_roles(*CUSTOMER_ROLES)
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        if context is None:
            return None
        lines, problems = price_lines(session, principal, context, draft_lines(store, principal), today())
    return ui.lines_table(lines, problems, context.currency_code, editable=True, table_id="wizard-item-lines")


@callback(
    Output(PRODUCT, "options"),
    Input(PRODUCT, "search_value"),
    State(PRODUCT, "value"),
    State(ACCOUNT, "value"),
)
def update_product_options(search, chosen, account):
    """Type-ahead in the database: active products of the company priced on the order's price list."""
    principal = require_roles(*CUSTOMER_ROLES)
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        if context is None:
            return []
        found = search_products(session, principal, context.prices, text(search), today())
        options = [{"label": p.label, "value": p.item_number} for p in found]
        if isinstance(chosen, str) and chosen not in {p.item_number for p in found}:
            product = get_orderable(session, principal, context.prices, chosen, today())
            if product is not None:
                options.insert(
                    0, {"label": f"{product.item_number} · {product.name}", "value": product.item_number}
                )
    return options


@callback(
    Output(UNIT, "options"),
    Output(UNIT, "value"),
    Output(PRICE, "children"),
    Output(QUANTITY, "invalid"),
    Output(f"{QUANTITY}-feedback", "children"),
    Input(PRODUCT, "value"),
    Input(WANTED_UNIT, "data"),
    Input(UNIT, "value"),
    Input(QUANTITY, "value"),
    State(ACCOUNT, "value"),
)
def update_item_details(item, wanted, unit, quantity, account):
    """The product's sales units, the price-list price per unit and the line amount."""
    principal = require_roles(*CUSTOMER_ROLES)
    if not item:
        return [], None, None, False, ""
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        product = get_orderable(session, principal, context.prices, item, today()) if context else None
    if product is None or context is None:
        return [], None, html.P("This product cannot be ordered.", className="text-danger"), False, ""
    symbols = [u.unit for u in product.units]
    if ctx.triggered_id in (PRODUCT, WANTED_UNIT) or unit not in symbols:
        unit = wanted if wanted in symbols else symbols[0]
    options = [{"label": u.unit, "value": u.unit} for u in product.units]
    price = product.unit(unit)
    line, errors = price_line(product, unit, quantity) if quantity not in (None, "") else (None, {})
    text = [money(price.price, context.currency_code), f" per {unit}"] if price else []
    if line is not None:
        text += [" · line amount ", html.Strong(money(line.amount, context.currency_code))]
    problem = errors.get("quantity", "")
    return options, unit, html.P(text, className="mb-1"), bool(problem), problem


@callback(
    Output(DIALOG, "is_open"),
    Output(INDEX, "data"),
    Output(PRODUCT, "value"),
    Output(PRODUCT, "options", allow_duplicate=True),
    Output(QUANTITY, "value"),
    Output(WANTED_UNIT, "data"),
    Output(ITEM_MESSAGE, "children"),
    Output(LINES, "data", allow_duplicate=True),
    Input(ADD, "n_clicks"),
    Input({"type": EDIT_LINE, "index": ALL}, "n_clicks"),
    Input(CANCEL, "n_clicks"),
    Input(SAVE, "n_clicks"),
    State(PRODUCT, "value"),
    State(UNIT, "value"),
    State(QUANTITY, "value"),
    State(INDEX, "data"),
    State(LINES, "data"),
    State(ACCOUNT, "value"),
    prevent_initial_call=True,
)
def update_item_dialog(_add, _edit, _cancel, _save, item, unit, quantity, index, store, account):
    """Open the dialog for a new or an existing line; save checks the line on the server first."""
    principal = require_roles(*CUSTOMER_ROLES)
    if not _clicked():
        raise PreventUpdate
    trigger = ctx.triggered_id
    lines = list(draft_lines(store, principal))
    if trigger == ADD:
        return True, None, None, [], "", None, "", no_update
    if trigger == CANCEL:
        return False, None, no_update, no_update, no_update, no_update, "", no_update
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        if context is None:
            return False, None, no_update, no_update, no_update, no_update, "", no_update
        if isinstance(trigger, dict):  # edit a line
            position = trigger.get("index")
            if not isinstance(position, int) or not 0 <= position < len(lines):
                raise PreventUpdate
            line = lines[position]
            product = get_orderable(session, principal, context.prices, line.get("item"), today())
            options = (
                [{"label": f"{product.item_number} · {product.name}", "value": product.item_number}]
                if product
                else []
            )
            return (
                True,
                position,
                line.get("item"),
                options,
                line.get("quantity"),
                line.get("unit"),
                "",
                no_update,
            )
        priced, errors = item_line(session, principal, context, item, unit, quantity, today())
    if priced is None:
        return (
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            next(iter(errors.values())),
            no_update,
        )
    if isinstance(index, int) and 0 <= index < len(lines):
        lines[index] = priced.as_draft()
    elif len(lines) >= MAX_LINES:
        return (
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            no_update,
            f"An order has at most {MAX_LINES} lines.",
            no_update,
        )
    else:
        lines.append(priced.as_draft())
    return False, None, None, no_update, "", None, "", _store(principal, lines, store)


@callback(
    Output(LINES, "data", allow_duplicate=True),
    Input({"type": REMOVE_LINE, "index": ALL}, "n_clicks"),
    State(LINES, "data"),
    prevent_initial_call=True,
)
def remove_line(_clicks, store):
    principal = require_roles(*CUSTOMER_ROLES)
    if not _clicked() or not isinstance(ctx.triggered_id, dict):
        raise PreventUpdate
    lines = list(draft_lines(store, principal))
    position = ctx.triggered_id.get("index")
    if not isinstance(position, int) or not 0 <= position < len(lines):
        raise PreventUpdate
    del lines[position]
    return _store(principal, lines, store)


def _uploaded_text(contents) -> str:
    if not isinstance(contents, str) or "," not in contents:
        return ""
    try:
        raw = base64.b64decode(contents.split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return ""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return ""


@callback(
    Output(LINES, "data", allow_duplicate=True),
    Output(CSV_RESULTS, "children"),
    Output(CSV_TEXT, "value"),
    Input(CSV_ADD, "n_clicks"),
    Input(CSV_UPLOAD, "contents"),
    State(CSV_TEXT, "value"),
    State(LINES, "data"),
    State(ACCOUNT, "value"),
    prevent_initial_call=True,
)
def import_lines(_add, contents, pasted, store, account):
    """Lines from pasted or uploaded CSV, with a result for every row."""
    principal = require_roles(*CUSTOMER_ROLES)
    if ctx.triggered_id == CSV_UPLOAD:
        source = _uploaded_text(contents)
    else:
        source = pasted if isinstance(pasted, str) else ""
    if not source.strip():
        return (
            no_update,
            html.P("Paste some rows or choose a file first.", className="text-danger"),
            no_update,
        )
    lines = list(draft_lines(store, principal))
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        if context is None:
            raise PreventUpdate
        imported = import_csv(session, principal, context, source, today(), room=MAX_LINES - len(lines))
    lines += [line.as_draft() for line in imported.lines]
    cleared = "" if ctx.triggered_id == CSV_ADD and imported.lines else no_update
    return _store(principal, lines, store), ui.import_results(imported.results), cleared


@callback(
    Output(LINES, "data", allow_duplicate=True),
    Output(REORDER_NOTES, "children"),
    Input(REORDER, "data"),
    Input(COPY, "n_clicks"),
    Input(ACCOUNT, "value"),
    State(PAST_ORDER, "value"),
    State(LINES, "data"),
    prevent_initial_call="initial_duplicate",
)
def copy_order_lines(from_link, _copy, account, chosen, store):
    """Reorder: the past order's lines, re-priced today, with notes for changed prices and missing items.
    An order opened through ?reorder= is copied once, however often the page is reloaded."""
    principal = require_roles(*CUSTOMER_ROLES)
    by_button = ctx.triggered_id == COPY
    order_id = parse_id(chosen if by_button else from_link)
    if order_id is None:
        if by_button:
            return no_update, ui.notes(["Choose a past order first."])
        raise PreventUpdate
    store = _store(principal, list(draft_lines(store, principal)), store)
    if not by_button and order_id in store["reordered"]:
        raise PreventUpdate
    with session_scope(current_sessions()) as session:
        context = context_for(principal, session, account).context
        if context is None:
            raise PreventUpdate
        result = reorder(session, principal, context, order_id, today())
    if not result.found:
        return no_update, ui.notes(result.notes)
    room = MAX_LINES - len(store["lines"])
    store["lines"] += [line.as_draft() for line in result.lines[:room]]
    store["reordered"] = [*store["reordered"], order_id][-20:]
    copied = f"{min(len(result.lines), room)} item(s) copied with today's prices."
    return store, ui.notes([copied, *result.notes])


def _past_order_label(row) -> str:
    number = row.sales_order_number or f"Portal {portal_reference(row.portal_order_id, row.id)}"
    name = row.customer_requisition_number or row.sales_order_name
    return f"{number} · {row.order_date:%Y-%m-%d} · {name}"


@callback(Output(PAST_ORDER, "options"), Input(PAST_ORDER, "search_value"), State(PAST_ORDER, "value"))
def update_past_orders(search, chosen):
    """The reader's own visible orders, newest first, searched by number, reference or name."""
    principal = require_roles(*CUSTOMER_ROLES)
    query = parse_query({"text": text(search)})
    with session_scope(current_sessions()) as session:
        page = fetch_page(session, principal, query, 0, 20, {})
    options = [{"label": _past_order_label(row), "value": row.id} for row in page.rows]
    chosen = parse_id(chosen)
    if chosen and all(o["value"] != chosen for o in options):
        options.insert(0, {"label": f"Order {chosen}", "value": chosen})
    return options
