"""Orders: the role's orders in an infinitely scrolling grid, paged, sorted and filtered by the database."""

from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html

import components.orders as ui
from data.access import Principal
from data.db import current_sessions, session_scope
from data.models import WebRole
from data.orders import (
    COUNT_CAP,
    QueryError,
    any_orders,
    as_params,
    customer_choices,
    erp_data_as_of,
    fetch_page,
    parse_query,
    placer_choices,
    status_counts,
)
from pages._guard import require_roles

CUSTOMER_ROLES = (WebRole.AUTHORIZED_USER, WebRole.CUSTOMER_REPRESENTATIVE, WebRole.ADMINISTRATOR)

dash.register_page(
    __name__,
    path="/orders",
    name="Orders",
    title="Orders",
    roles=tuple(CUSTOMER_ROLES),
    nav=True,
    order=10,
    tile={
        "title": "Orders",
        "text": "Follow confirmations, deliveries and invoices, and export what you see.",
        "titles": {  # the widest scope first
            WebRole.ADMINISTRATOR: "All orders",
            WebRole.CUSTOMER_REPRESENTATIVE: "Company orders",
            WebRole.AUTHORIZED_USER: "My orders",
        },
    },
)

GRID = "orders-grid"
QUERY = "orders-query"  # a store: the filters as validated parameters
CURSORS = "orders-cursors"  # a store: {"signature": ..., "cursors": {start row: key of the row before}}
TITLE = "orders-title"
FRESHNESS = "orders-freshness"
FRESHNESS_TICK = "orders-freshness-tick"
MESSAGE = "orders-message"
STATUS = "orders-status"
TEXT = "orders-text"
ORDERED_FROM, ORDERED_TO = "orders-ordered-from", "orders-ordered-to"
RECEIPT_FROM, RECEIPT_TO = "orders-receipt-from", "orders-receipt-to"
CUSTOMER, CUSTOMER_FIELD = "orders-customer", "orders-customer-field"
PLACED_BY, PLACED_BY_FIELD = "orders-placed-by", "orders-placed-by-field"
CLEAR = "orders-clear"
EXPORT_CSV, EXPORT_XLSX = "orders-export-csv", "orders-export-xlsx"
EXPORT_BUTTON = "btn btn-sm btn-outline-secondary me-1"
DATE_FIELDS = {
    ORDERED_FROM: ("ordered_from", "Ordered from"),
    ORDERED_TO: ("ordered_to", "Ordered until"),
    RECEIPT_FROM: ("receipt_from", "Requested receipt from"),
    RECEIPT_TO: ("receipt_to", "Requested receipt until"),
}


def _date_field(component_id: str) -> dbc.Col:
    _, label = DATE_FIELDS[component_id]
    return dbc.Col(
        [
            dbc.Label(label, html_for=component_id, className="small mb-0"),
            dbc.Input(id=component_id, type="date", size="sm", debounce=True),
            dbc.FormFeedback(id=f"{component_id}-feedback", type="invalid"),
        ],
        xs=6,
        md=3,
        lg=2,
    )


def layout(**_):
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Orders", id=TITLE, className="me-3 mb-0"),
                    html.Span(id=FRESHNESS, className="small text-muted", **{"aria-live": "polite"}),
                ],
                className="d-flex flex-wrap align-items-baseline mb-3",
            ),
            dcc.Interval(id=FRESHNESS_TICK, interval=60_000),
            html.Div(
                [
                    html.Fieldset(
                        [
                            html.Legend("Status", className="small mb-1 fw-semibold"),
                            dbc.Checklist(
                                id=STATUS,
                                options=[{"label": ui.status_label(s), "value": s} for s in ui.STATUSES],
                                value=[],
                                inline=True,
                                inputClassName="btn-check",
                                labelClassName="btn btn-sm btn-outline-primary rounded-pill me-1 mb-1",
                                labelCheckedClassName="active",
                            ),
                        ],
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Search", html_for=TEXT, className="small mb-0"),
                                    dbc.Input(
                                        id=TEXT,
                                        type="search",
                                        size="sm",
                                        debounce=True,
                                        maxLength=100,
                                        placeholder="Order number, name or your reference",
                                    ),
                                ],
                                xs=12,
                                md=6,
                                lg=4,
                            ),
                            _date_field(ORDERED_FROM),
                            _date_field(ORDERED_TO),
                            _date_field(RECEIPT_FROM),
                            _date_field(RECEIPT_TO),
                            dbc.Col(
                                [
                                    dbc.Label("Customer", html_for=CUSTOMER, className="small mb-0"),
                                    dcc.Dropdown(
                                        id=CUSTOMER,
                                        placeholder="Type a customer number or name",
                                        searchable=True,
                                        clearable=True,
                                        options=[],
                                    ),
                                ],
                                id=CUSTOMER_FIELD,
                                xs=12,
                                md=6,
                                lg=4,
                                className="d-none",
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Placed by", html_for=PLACED_BY, className="small mb-0"),
                                    dbc.Select(id=PLACED_BY, size="sm", options=[], value=""),
                                ],
                                id=PLACED_BY_FIELD,
                                xs=12,
                                md=6,
                                lg=3,
                                className="d-none",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    html.Div(
                        [
                            dbc.Button("Clear filters", id=CLEAR, color="link", size="sm", className="ps-0"),
                            html.Span("Export this view:", className="small text-muted ms-3 me-1"),
                            html.A(
                                "CSV",
                                id=EXPORT_CSV,
                                href="/export/orders.csv",
                                className="btn btn-sm btn-outline-secondary me-1",
                                download="",
                            ),
                            html.A(
                                "Excel",
                                id=EXPORT_XLSX,
                                href="/export/orders.xlsx",
                                className="btn btn-sm btn-outline-secondary",
                                download="",
                            ),
                        ],
                        className="d-flex align-items-center flex-wrap",
                    ),
                ],
                role="search",
                **{"aria-label": "Filter orders"},
                className="mb-2",
            ),
            ui.status_legend(),
            html.Div(id=MESSAGE, role="status", className="mb-2"),
            dcc.Store(id=QUERY, data={}),
            dcc.Store(id=CURSORS, data={}),
            html.Section(
                dag.AgGrid(
                    id=GRID,
                    rowModelType="infinite",
                    columnDefs=ui.grid_columns(show_customer=False, show_placed_by=False),
                    defaultColDef={"sortable": True, "resizable": True, "filter": False},
                    getRowId="String(params.data.id)",
                    className="ag-theme-alpine",
                    dashGridOptions={
                        "theme": "themeAlpine",
                        "rowBuffer": 0,
                        "cacheBlockSize": 100,
                        "maxBlocksInCache": 20,
                        "maxConcurrentDatasourceRequests": 1,
                        "infiniteInitialRowCount": 1,
                        "tooltipShowDelay": 300,
                        "ensureDomOrder": True,
                        "suppressColumnVirtualisation": True,  # 13 columns: all in the DOM, for readers
                        "localeText": {"noRowsToShow": "No orders to show."},
                    },
                    style={"height": "62vh"},
                    eventListeners={"cellKeyDown": ["openOrderOnEnter(params)"]},
                ),
                **{"aria-label": ui.GRID_LABEL},
            ),
        ]
    )


def _role_title(principal: Principal) -> str:
    if principal.is_admin:
        return "All orders"
    if principal.is_representative:
        return "Company orders"
    return "My orders"


@callback(
    Output(TITLE, "children"),
    Output(GRID, "columnDefs"),
    Output(CUSTOMER_FIELD, "className"),
    Output(PLACED_BY_FIELD, "className"),
    Input(TITLE, "id"),
)
def update_orders_frame(_):
    """What differs by role: the title, the Customer and Placed by columns and filters."""
    principal = require_roles(*CUSTOMER_ROLES)
    columns = ui.grid_columns(
        show_customer=principal.is_admin,
        show_placed_by=principal.is_admin or principal.is_representative,
    )
    return (
        _role_title(principal),
        columns,
        "" if principal.is_admin else "d-none",
        "" if principal.is_admin or principal.is_representative else "d-none",
    )


@callback(Output(FRESHNESS, "children"), Input(FRESHNESS_TICK, "n_intervals"))
def update_orders_freshness(_):
    require_roles(*CUSTOMER_ROLES)
    with session_scope(current_sessions()) as session:
        as_of = erp_data_as_of(session)
    return ui.freshness(as_of)


@callback(
    Output(QUERY, "data"),
    Output(EXPORT_CSV, "href"),
    Output(EXPORT_XLSX, "href"),
    *[Output(component_id, "invalid") for component_id in DATE_FIELDS],
    *[Output(f"{component_id}-feedback", "children") for component_id in DATE_FIELDS],
    Input(STATUS, "value"),
    Input(TEXT, "value"),
    *[Input(component_id, "value") for component_id in DATE_FIELDS],
    Input(CUSTOMER, "value"),
    Input(PLACED_BY, "value"),
)
def update_orders_query(statuses, text, ordered_from, ordered_to, receipt_from, receipt_to, customer, placer):
    """Validate the filters; a date that cannot be used is named next to its field, the rest still apply."""
    require_roles(*CUSTOMER_ROLES)
    raw = {
        "status": statuses,
        "text": text,
        "ordered_from": ordered_from,
        "ordered_to": ordered_to,
        "receipt_from": receipt_from,
        "receipt_to": receipt_to,
        "customer": customer,
        "placed_by": placer,
    }
    errors: dict[str, str] = {}
    try:
        query = parse_query(raw)
    except QueryError as error:
        errors = error.errors
        query = parse_query({k: v for k, v in raw.items() if k not in errors and _pair(k) not in errors})
    params = as_params(query)
    params.pop("sort", None)
    names = [name for name, _ in DATE_FIELDS.values()]
    return (
        params,
        f"/export/orders.csv?{urlencode(params, doseq=True)}",
        f"/export/orders.xlsx?{urlencode(params, doseq=True)}",
        *[name in errors for name in names],
        *[errors.get(name, "") for name in names],
    )


def _pair(name: str) -> str:
    """The 'until' field of a 'from' field: a reversed range drops both ends."""
    return name.replace("_from", "_to")


clientside_callback(
    ClientsideFunction(namespace="orders", function_name="refresh"),
    Output(CURSORS, "data", allow_duplicate=True),
    Input(QUERY, "data"),
    State(GRID, "id"),
    prevent_initial_call=True,
)


@callback(
    Output(GRID, "getRowsResponse"),
    Output(CURSORS, "data"),
    Output(MESSAGE, "children"),
    Input(GRID, "getRowsRequest"),
    State(QUERY, "data"),
    State(CURSORS, "data"),
)
def update_orders_rows(request, params, remembered):
    """One block of rows for the grid, read by keyset from the cursor remembered for its start row."""
    principal = require_roles(*CUSTOMER_ROLES)
    request = request if isinstance(request, dict) else {}
    try:
        query = parse_query(params if isinstance(params, dict) else {}, request.get("sortModel"))
    except QueryError:
        query = parse_query({}, request.get("sortModel"))
    remembered = remembered if isinstance(remembered, dict) else {}
    signature = query.signature()
    cursors = remembered.get("cursors") if remembered.get("signature") == signature else None
    cursors = cursors if isinstance(cursors, dict) else {}
    start = request.get("startRow") if isinstance(request.get("startRow"), int) else 0
    end = request.get("endRow") if isinstance(request.get("endRow"), int) else start + 100
    with session_scope(current_sessions()) as session:
        page = fetch_page(session, principal, query, start, end - start, cursors, typed=False)
        empty_everywhere = start == 0 and not page.rows and not any_orders(session, principal)
    cursors = {**cursors, **page.cursors}
    if len(cursors) > 2000:  # keep the store small: the newest cursors are the ones scrolling needs
        cursors = dict(list(cursors.items())[-2000:])
    response = {"rowData": [ui.grid_row(r) for r in page.rows]}
    if page.last_row is not None:
        response["rowCount"] = page.last_row
    message = dash.no_update
    if start == 0:
        message = ui.grid_message(len(page.rows), page.last_row, empty_everywhere, principal.is_admin)
    return response, {"signature": signature, "cursors": cursors}, message


@callback(Output(STATUS, "options"), Input(QUERY, "data"))
def update_status_chips(params):
    """Each status chip with its count under the other filters (counted up to a cap, never in full)."""
    principal = require_roles(*CUSTOMER_ROLES)
    try:
        query = parse_query(params if isinstance(params, dict) else {})
    except QueryError:
        query = parse_query({})
    with session_scope(current_sessions()) as session:
        counts = status_counts(session, principal, query)
    return [
        {"label": f"{ui.status_label(status)} {_count(count)}", "value": status}
        for status, count in counts.items()
    ]


def _count(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


@callback(Output(CUSTOMER, "options"), Input(CUSTOMER, "search_value"), State(CUSTOMER, "value"))
def update_customer_options(search, chosen):
    """Customers matching what the administrator types (searched in the database, 20 at a time)."""
    principal = require_roles(*CUSTOMER_ROLES)  # the field exists for everyone; only admins get choices
    with session_scope(current_sessions()) as session:
        found = customer_choices(session, principal, search or "", chosen)
    return [{"label": label, "value": value} for value, label in found]


@callback(Output(PLACED_BY, "options"), Input(CUSTOMER, "value"))
def update_placer_options(customer):
    """People the "Placed by" filter offers: the representative's colleagues, or the chosen customer's."""
    principal = require_roles(*CUSTOMER_ROLES)  # authorized users get no one but "Anyone"
    account_id = customer if isinstance(customer, int) else None
    with session_scope(current_sessions()) as session:
        people = placer_choices(session, principal, account_id)
    return [{"label": "Anyone", "value": ""}] + [{"label": name, "value": str(i)} for i, name in people]


@callback(
    Output(STATUS, "value"),
    Output(TEXT, "value"),
    *[Output(component_id, "value") for component_id in DATE_FIELDS],
    Output(CUSTOMER, "value"),
    Output(PLACED_BY, "value"),
    Input(CLEAR, "n_clicks"),
    prevent_initial_call=True,
)
def clear_orders_filters(_):
    require_roles(*CUSTOMER_ROLES)
    return [], "", *([""] * len(DATE_FIELDS)), None, ""
