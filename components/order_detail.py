"""The order detail page's parts (pure UI): header fields, lines, timeline, sync state."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html

from components.orders import (
    LINE_STATUSES,
    day,
    freshness,
    moment,
    money,
    portal_reference,
    status_badge,
    status_legend,
    sync_badge,
)
from data.models import Contact, OrderEvent, SalesOrder, SalesOrderLine, SyncState

EVENT_LABELS = {
    "submitted": "Submitted in the portal",
    "accepted": "Accepted by the ERP",
    "created_in_erp": "Entered in the ERP",
    "status_changed": "Status changed",
    "rejected": "Rejected by the ERP",
}


def not_found() -> html.Div:
    return html.Div(
        [
            html.H1("Order not found"),
            html.P("There is no order at this address that you can see. It may belong to another account."),
            html.A("Go to your orders", href="/orders", className="btn btn-primary"),
        ],
        id="order-not-found",
    )


def order_title(order: SalesOrder) -> str:
    if order.sales_order_number:
        return f"Order {order.sales_order_number}"
    return f"Portal order {portal_reference(order.portal_order_id, order.id)}"


def _field(label: str, value) -> list:
    return [
        html.Dt(label, className="col-sm-5 col-lg-4"),
        html.Dd(value or "—", className="col-sm-7 col-lg-8"),
    ]


def _address(order: SalesOrder) -> list:
    parts = [order.delivery_address_street, order.delivery_address_zip_code, order.delivery_address_city]
    lines: list = [html.Strong(order.delivery_address_description)]
    rest = ", ".join(p for p in parts if p)
    if rest:
        lines += [html.Br(), rest]
    return [*lines, html.Br(), order.delivery_address_country_region_id]


def _sync_state(order: SalesOrder) -> html.Div:
    if order.sync_state == SyncState.REJECTED:
        body = [
            html.Strong("Our ERP rejected this order. "),
            f"Reason: {order.reject_reason or 'no reason was given'}. Nothing will be delivered; "
            "contact us or place a corrected order.",
        ]
        return dbc.Alert(body, color="danger", id="order-sync-state")
    if order.sync_state == SyncState.SUBMITTED:
        return dbc.Alert(
            "Waiting for ERP confirmation: the order is saved and queued; it gets its order number when "
            "the ERP accepts it.",
            color="warning",
            id="order-sync-state",
        )
    return dbc.Alert(
        f"Accepted by the ERP as {order.sales_order_number}.", color="success", id="order-sync-state"
    )


def _header(order: SalesOrder, placer: Contact | None, show_placer: bool) -> html.Dl:
    items = [
        *_field("Sales order number", order.sales_order_number or "Not assigned yet"),
        *_field("Portal reference", order.portal_order_id),
        *_field("Sales order name", order.sales_order_name),
        *_field("Company", order.legal_entity_id),
        *_field("Customer", order.ordering_customer_account_number),
        *_field("Invoice customer", order.invoice_customer_account_number),
        *_field("Your reference", order.customer_requisition_number),
        *_field("Contact person", order.contact_person_id),
    ]
    if show_placer:
        who = placer.full_name if placer else f"Entered in the ERP ({order.origin_code or 'ERP'})"
        items += _field("Placed by", who)
    items += [
        *_field("Ordered", moment(order.order_date)),
        *_field("Requested receipt", day(order.requested_receipt_date)),
        *_field("Confirmed receipt", day(order.confirmed_receipt_date)),
        *_field("Delivery address", _address(order)),
        *_field("Ship-to country/region", order.delivery_address_country_region_id),
        *_field("Currency", order.currency_code),
        *_field("Language", order.language_id),
        *_field("Price list", order.price_list_code),
        *_field("Origin", order.origin_code or order.origin),
        *_field("ERP sales status", order.sales_status),
        *_field("ERP document status", order.document_status),
        *_field("Total", money(order.total_amount, order.currency_code)),
    ]
    return html.Dl(items, className="row mb-0")


def _differs(requested, confirmed) -> bool:
    return confirmed is not None and confirmed != requested


def _lines_table(lines: list[SalesOrderLine]) -> html.Div:
    if not lines:
        return html.P("This order has no lines yet.", className="text-muted")
    head = html.Thead(
        html.Tr(
            [
                html.Th(h, scope="col", className=c)
                for h, c in (
                    ("Line", ""),
                    ("Item", ""),
                    ("Quantity requested / confirmed", "text-end"),
                    ("Unit", ""),
                    ("Unit price", "text-end"),
                    ("Amount", "text-end"),
                    ("Receipt requested / confirmed", ""),
                    ("Line status", ""),
                )
            ]
        )
    )
    rows = []
    for line in lines:
        quantity_changed = _differs(line.quantity, line.confirmed_quantity)
        date_changed = _differs(line.requested_receipt_date, line.confirmed_receipt_date)
        rows.append(
            html.Tr(
                [
                    html.Td(line.line_number),
                    html.Td(
                        [html.Span(line.item_number, className="fw-semibold"), html.Br(), line.description]
                    ),
                    html.Td(
                        [
                            f"{line.quantity.normalize():f}",
                            " / ",
                            html.Span(
                                f"{line.confirmed_quantity.normalize():f}"
                                if line.confirmed_quantity
                                else "—",
                                className="text-warning-emphasis fw-semibold" if quantity_changed else "",
                            ),
                        ],
                        className="text-end",
                    ),
                    html.Td(line.unit_symbol),
                    html.Td(money(line.unit_price, line.currency_code), className="text-end"),
                    html.Td(money(line.line_amount, line.currency_code), className="text-end"),
                    html.Td(
                        [
                            day(line.requested_receipt_date),
                            " / ",
                            html.Span(
                                day(line.confirmed_receipt_date),
                                className="text-warning-emphasis fw-semibold" if date_changed else "",
                            ),
                        ]
                    ),
                    html.Td(LINE_STATUSES.get(line.line_status, line.line_status)),
                ]
            )
        )
    return html.Div(
        html.Table(
            [html.Caption("Order lines", className="visually-hidden"), head, html.Tbody(rows)],
            className="table table-sm align-middle",
            id="order-lines",
        ),
        className="table-responsive",
    )


def _timeline(events: list[OrderEvent]) -> html.Ol:
    if not events:
        return html.P("Nothing has happened to this order yet.", className="text-muted")
    items = []
    for event in events:
        what = EVENT_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
        change = []
        if event.kind == "status_changed" and event.from_status and event.to_status:
            change = [" ", status_badge(event.from_status), "→ ", status_badge(event.to_status)]
        items.append(
            html.Li(
                [
                    html.Span(moment(event.occurred_at), className="text-muted small me-2"),
                    html.Strong(what),
                    *change,
                    html.Div(event.detail, className="small") if event.detail else None,
                ],
                className="list-group-item",
            )
        )
    return html.Ol(items, className="list-group list-group-numbered", id="order-timeline")


def order_view(
    order: SalesOrder,
    *,
    lines: list[SalesOrderLine],
    events: list[OrderEvent],
    placer: Contact | None,
    as_of: datetime | None,
    show_placer: bool,
) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H1(order_title(order), className="me-3 mb-0"),
                    status_badge(order.processing_status),
                    sync_badge(order.sync_state),
                    html.A(
                        "Reorder",
                        href=f"/create-order?reorder={order.id}",
                        className="btn btn-sm btn-outline-primary ms-auto",
                        id="order-reorder",
                        title="Start a new order with these items at today's prices",
                    ),
                ],
                className="d-flex flex-wrap align-items-center mb-1",
            ),
            html.P(freshness(as_of), className="small text-muted"),
            _sync_state(order),
            status_legend(),
            dbc.Row(
                [
                    dbc.Col(
                        html.Section([html.H2("Order", className="h5"), _header(order, placer, show_placer)]),
                        lg=7,
                    ),
                    dbc.Col(html.Section([html.H2("Timeline", className="h5"), _timeline(events)]), lg=5),
                ],
                className="mb-3",
            ),
            html.Section([html.H2("Lines", className="h5"), _lines_table(lines)]),
        ],
        id="order-detail",
    )
