"""What order statuses mean, in plain words (DOMAIN §4), and how money and dates are shown.

Money and dates are rendered by `assets/localize.js` in the reader's own locale and time zone: the server
writes a `<time>` or `<data>` element with the machine value and a readable fallback, the script
replaces the text. The grid uses the same formatters (`assets/dashAgGridFunctions.js`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from data.models import ProcessingStatus, SyncState

# Dual-write processing status: label, Bootstrap colour, what it means for the customer.
STATUSES: dict[str, tuple[str, str, str]] = {
    ProcessingStatus.ACTIVE: ("Active", "primary", "Received by us and open; not confirmed yet."),
    ProcessingStatus.CONFIRMED: (
        "Confirmed",
        "info",
        "We have confirmed the order; the confirmed receipt date and quantities are our commitment.",
    ),
    ProcessingStatus.PICKED: ("Picked", "info", "The goods are being picked in our warehouse."),
    ProcessingStatus.PARTIALLY_DELIVERED: (
        "Partially delivered",
        "warning",
        "Part of the order has shipped (a packing slip was posted); the rest is still open.",
    ),
    ProcessingStatus.DELIVERED: ("Delivered", "success", "Everything has shipped; the invoice follows."),
    ProcessingStatus.PARTIALLY_INVOICED: (
        "Partially invoiced",
        "success",
        "Part of the order has been invoiced.",
    ),
    ProcessingStatus.INVOICED: ("Invoiced", "secondary", "Fully invoiced: the order is complete."),
    ProcessingStatus.CANCELED: ("Canceled", "dark", "The order was canceled and will not be delivered."),
}

# Where a portal order stands with the ERP (before and after the ERP accepts it).
SYNC_STATES: dict[str, tuple[str, str, str]] = {
    SyncState.SUBMITTED: (
        "Waiting for ERP confirmation",
        "warning",
        "Placed in the portal and queued for our ERP; it gets its order number when the ERP accepts it.",
    ),
    SyncState.ACCEPTED: ("Accepted", "success", "Our ERP has accepted the order and given it its number."),
    SyncState.REJECTED: (
        "Rejected",
        "danger",
        "Our ERP refused the order; the reason is shown on the order. Nothing will be delivered.",
    ),
}

LINE_STATUSES: dict[str, str] = {
    "Backorder": "Open",
    "Delivered": "Delivered",
    "Invoiced": "Invoiced",
    "Canceled": "Canceled",
}


def status_label(status: str | None) -> str:
    return STATUSES.get(status or "", (status or "Unknown", "", ""))[0]


def status_badge(status: str | None) -> dbc.Badge:
    label, colour, meaning = STATUSES.get(status or "", (status or "Unknown", "secondary", ""))
    return dbc.Badge(label, color=colour or "secondary", title=meaning, className="me-1")


def sync_badge(state: str | None) -> dbc.Badge:
    label, colour, meaning = SYNC_STATES.get(state or "", (state or "Unknown", "secondary", ""))
    return dbc.Badge(label, color=colour, title=meaning, className="me-1")


def status_legend() -> html.Details:
    """A collapsible glossary of every status, for the orders page and the order detail."""
    items = []
    for value, (_, _, meaning) in STATUSES.items():
        items += [html.Dt(status_badge(value), className="col-sm-3"), html.Dd(meaning, className="col-sm-9")]
    for value, (_, _, meaning) in SYNC_STATES.items():
        items += [html.Dt(sync_badge(value), className="col-sm-3"), html.Dd(meaning, className="col-sm-9")]
    return html.Details(
        [
            html.Summary("What do the statuses mean?"),
            html.Dl(items, className="row mt-2 mb-0 small"),
        ],
        className="mb-3",
        id="status-legend",
    )


def money(amount: Decimal | float | None, currency: str | None) -> html.Data | str:
    """An amount in its currency; the browser formats it in the reader's locale."""
    if amount is None:
        return "—"
    text = f"{Decimal(amount):,.2f} {currency or ''}".strip()
    return html.Data(text, value=str(amount), className="js-money", **{"data-currency": currency or ""})


def day(value: date | None) -> html.Time | str:
    """A calendar date (no time zone: a receipt date is the same day everywhere)."""
    if value is None:
        return "—"
    return html.Time(value.isoformat(), dateTime=value.isoformat(), className="js-date")


def moment(value: datetime | None) -> html.Time | str:
    """A point in time, stored as UTC; the browser shows it in the reader's locale and time zone."""
    if value is None:
        return "—"
    iso = value.replace(microsecond=0).isoformat() + ("" if value.tzinfo else "Z")
    return html.Time(iso.replace("+00:00", "Z"), dateTime=iso, className="js-datetime")


# --- the orders grid ---------------------------------------------------------------------------------

GRID_LABEL = "Sales orders"


def _column(field: str, header: str, width: int, **extra) -> dict:
    return {"field": field, "headerName": header, "minWidth": width, **extra}


def grid_columns(*, show_customer: bool, show_placed_by: bool) -> list[dict]:
    """Column definitions of the orders grid; every column sorts on the server (colId = sort key)."""
    day_format = {"function": "day(params.value)"}
    return [
        _column("order", "Order", 150, colId="order_number", cellRenderer="OrderLink", pinned="left"),
        _column("sales_order_name", "Name", 180),
        _column("customer", "Customer", 200, hide=not show_customer),
        _column("customer_reference", "Your reference", 140),
        _column("order_date", "Ordered", 170, valueFormatter={"function": "moment(params.value)"}),
        _column("requested_receipt_date", "Requested receipt", 150, valueFormatter=day_format),
        _column("confirmed_receipt_date", "Confirmed receipt", 150, valueFormatter=day_format),
        _column("status_label", "Status", 150, colId="status", tooltipField="status_meaning"),
        _column("sync_label", "ERP", 150, colId="sync_state", tooltipField="sync_meaning"),
        _column(
            "total",
            "Total",
            130,
            type="rightAligned",
            valueFormatter={"function": "money(params.value, params.data ? params.data.currency : '')"},
        ),
        _column("currency", "Currency", 100),
        _column("placed_by", "Placed by", 160, hide=not show_placed_by),
        _column("delivery_address", "Deliver to", 160),
    ]


def portal_reference(portal_order_id: str | None, order_id: int) -> str:
    """How people refer to an order the ERP has not numbered yet: the start of its portal key."""
    return portal_order_id[:8] if portal_order_id else str(order_id)


def grid_row(row: Any) -> dict:
    """One grid row from a data/orders.py row, typed or as the database driver returns it (the grid's
    pages: on SQLite dates and times are ISO text and money a float): plain JSON, labels resolved, money
    as decimal text."""
    status = STATUSES.get(row.processing_status, (row.processing_status, "", ""))
    sync = SYNC_STATES.get(row.sync_state, (row.sync_state, "", ""))
    placer = " ".join(
        filter(None, (getattr(row, "first_name", None), getattr(row, "last_name", None)))
    ) or getattr(row, "email", None)
    customer = row.ordering_customer_account_number
    if getattr(row, "name", None):
        customer = f"{customer} · {row.name}"
    return {
        "id": row.id,
        "order": row.sales_order_number or f"Portal {portal_reference(row.portal_order_id, row.id)}",
        "sales_order_name": row.sales_order_name,
        "customer": customer,
        "customer_reference": row.customer_requisition_number,
        "order_date": _iso(row.order_date),
        "requested_receipt_date": _iso(row.requested_receipt_date),
        "confirmed_receipt_date": _iso(row.confirmed_receipt_date),
        "status_label": status[0],
        "status_meaning": status[2],
        "sync_label": sync[0],
        "sync_meaning": sync[2],
        "total": str(row.total_amount),
        "currency": row.currency_code,
        "placed_by": placer or f"{row.origin_code or 'ERP'} (entered in the ERP)",
        "delivery_address": row.delivery_address_description,
    }


def _iso(value: date | str | None) -> str | None:
    """ISO text of a date or date-time; text from the database already is (SQLite separates the time with
    a space, which `assets/localize.js` reads too)."""
    return value.isoformat() if isinstance(value, date) else value


def freshness(as_of: datetime | None) -> list:
    """The freshness badge: when the ERP data on this page was last read."""
    if as_of is None:
        return [dbc.Badge("Not yet read from the ERP", color="warning", className="me-1")]
    return [
        dbc.Badge("ERP data", color="light", text_color="dark", className="me-1 border"),
        "as of ",
        moment(as_of),
    ]


def grid_message(shown: int, total: int | None, empty_everywhere: bool, is_admin: bool) -> html.Div | str:
    """What the first block says: an empty state, or how many orders (when known without counting)."""
    if empty_everywhere:
        if is_admin:
            return dbc.Alert(
                "No orders yet: the ERP has not sent any, and none were placed here.", color="info"
            )
        return dbc.Alert(
            [
                "You have no orders yet. ",
                html.A("Create an order", href="/create-order", className="alert-link"),
            ],
            color="info",
        )
    if shown == 0:
        return dbc.Alert("No orders match these filters. Clear a filter to see more.", color="secondary")
    if total is not None:
        return html.Span(f"{total:,} order{'' if total == 1 else 's'}", className="small text-muted")
    return html.Span("Scroll for more orders.", className="small text-muted")
