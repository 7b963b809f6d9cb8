"""Pieces of the create-order wizard: readiness, the auto-filled fields, lines, review and confirmation.

Plain data in (the data layer's dataclasses, passed through by the page), Dash components out.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.orders import day, money, portal_reference

STEPS = ("Order information", "Items", "Review and submit")


def field(label: str, control: Any, component_id: str, hint: str = "") -> html.Div:
    """A labelled control with its hint and the message shown when it is wrong."""
    return html.Div(
        [
            dbc.Label(label, html_for=component_id, className="mb-1"),
            control,
            dbc.FormText(hint, id=f"{component_id}-hint") if hint else None,
            dbc.FormFeedback(id=f"{component_id}-feedback", type="invalid"),
        ],
        className="mb-3",
    )


def stepper(current: int) -> html.Ol:
    items = []
    for number, title in enumerate(STEPS, start=1):
        state = "active fw-semibold" if number == current else ("text-success" if number < current else "")
        items.append(
            html.Li(
                f"{number}. {title}",
                className=f"list-inline-item me-3 {state}",
                **({"aria-current": "step"} if number == current else {}),
            )
        )
    return html.Ol(items, className="list-inline mb-3", **{"aria-label": "Steps"})


def not_ready(message: str, is_admin: bool) -> dbc.Alert | None:
    """Why the signed-in person cannot order yet, and who can fix it."""
    if not message:
        return None
    who = (
        "Set them on the contacts page, or in the ERP for the account, then come back."
        if is_admin
        else "Please ask your administrator to complete your setup; nothing has been created."
    )
    return dbc.Alert([html.Strong("You cannot place orders yet. "), message, html.Br(), who], color="warning")


def autofill(ctx: Any) -> html.Div:
    """The fields filled from the contact (or the chosen account), shown so nothing is a surprise."""
    rows = [
        ("Company", f"{ctx.company_name} ({ctx.legal_entity_id})"),
        ("Customer", f"{ctx.account_number} · {ctx.account_name}"),
        ("Invoice customer", ctx.invoice_account_number),
        ("Currency", ctx.currency_code),
        ("Price list", ctx.price_list_code),
        ("Language", ctx.language_id),
        ("Contact person", ctx.contact_name),
    ]
    return html.Details(
        [
            html.Summary("Filled in for you", className="fw-semibold"),
            html.Dl(
                [
                    part
                    for name, value in rows
                    for part in (html.Dt(name, className="col-sm-4"), html.Dd(value, className="col-sm-8"))
                ],
                className="row small mb-0 mt-2",
            ),
        ],
        open=True,
        className="border rounded p-2 mb-3 bg-light",
    )


def lines_table(
    lines: Sequence[Any], problems: dict[int, str], currency: str, *, editable: bool, table_id: str
) -> html.Div:
    """The order lines with price, amount and the running total; `problems` marks lines that cannot be
    ordered as they are."""
    if not lines:
        return html.P(
            "No items yet. Add an item, paste a list, or copy a past order.", className="text-muted"
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("Item", scope="col"),
                html.Th("Unit", scope="col"),
                html.Th("Quantity", scope="col", className="text-end"),
                html.Th("Price", scope="col", className="text-end"),
                html.Th("Amount", scope="col", className="text-end"),
                html.Th(html.Span("Actions", className="visually-hidden"), scope="col") if editable else None,
            ]
        )
    )
    body = []
    for index, line in enumerate(lines):
        problem = problems.get(index)
        actions = None
        if editable:
            actions = html.Td(
                [
                    html.Button(
                        "Edit",
                        id={"type": "wizard-edit-line", "index": index},
                        type="button",
                        className="btn btn-link btn-sm",
                        **{"aria-label": f"Edit line {index + 1}, {line.item_number}"},
                    ),
                    html.Button(
                        "Remove",
                        id={"type": "wizard-remove-line", "index": index},
                        type="button",
                        className="btn btn-link btn-sm text-danger",
                        **{"aria-label": f"Remove line {index + 1}, {line.item_number}"},
                    ),
                ],
                className="text-nowrap",
            )
        body.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Span(line.item_number, className="fw-semibold me-1"),
                            line.name,
                            html.Div(problem, className="text-danger small") if problem else None,
                        ]
                    ),
                    html.Td(line.unit),
                    html.Td(str(line.quantity) if not problem else "", className="text-end"),
                    html.Td(money(line.price, currency) if not problem else "", className="text-end"),
                    html.Td(money(line.amount, currency) if not problem else "", className="text-end"),
                    actions,
                ],
                className="table-danger" if problem else "",
            )
        )
    total = sum((line.amount for index, line in enumerate(lines) if index not in problems), Decimal(0))
    foot = html.Tfoot(
        html.Tr(
            [
                html.Th("Total", colSpan=4, scope="row", className="text-end"),
                html.Th(money(total, currency), className="text-end", id=f"{table_id}-total"),
                html.Td() if editable else None,
            ]
        )
    )
    return html.Div(
        html.Table(
            [
                html.Caption(f"Order lines ({len(lines)})", className="caption-top"),
                head,
                html.Tbody(body),
                foot,
            ],
            className="table table-sm align-middle",
            id=table_id,
        ),
        className="table-responsive",
    )


def import_results(results: Sequence[Any]) -> html.Div | None:
    if not results:
        return None
    added = sum(1 for r in results if r.added)
    items = [
        html.Li(
            [
                html.Span(f"Row {r.row}: " if r.row else "", className="text-muted"),
                html.Code(r.text) if r.text else None,
                " added" if r.added else f" not added: {r.reason}",
            ],
            className="text-success" if r.added else "text-danger",
        )
        for r in results
    ]
    return html.Div(
        [
            html.P(f"{added} of {len(results)} row(s) added.", className="mb-1 fw-semibold"),
            html.Ul(items, className="small"),
        ],
        role="status",
    )


def notes(messages: Sequence[str]) -> dbc.Alert | None:
    if not messages:
        return None
    return dbc.Alert(
        html.Ul([html.Li(m) for m in messages], className="mb-0"), color="info", className="small"
    )


def review(ctx: Any, header: Any, lines: Sequence[Any], problems: dict[int, str]) -> html.Div:
    """Step 3: every header field, including the auto-filled ones, and the lines with totals."""
    address = ", ".join(filter(None, (header.street, f"{header.zip_code} {header.city}".strip())))
    rows = [
        ("Company", f"{ctx.company_name} ({ctx.legal_entity_id})"),
        ("Customer (potential customer)", f"{ctx.account_number} · {ctx.account_name}"),
        ("Invoice customer", ctx.invoice_account_number),
        ("Sales order name", ctx.account_name),
        ("Contact person", ctx.contact_name),
        ("Language", ctx.language_id),
        ("Currency", ctx.currency_code),
        ("Price list", ctx.price_list_code),
        ("Requested receipt date", day(header.requested_receipt_date)),
        (
            "Delivery address",
            f"{header.address_description}: {address}" if address else header.address_description,
        ),
        ("Ship-to country/region", header.ship_to_country),
        ("Your reference", header.reference or "—"),
    ]
    return html.Div(
        [
            html.H3("Order information", className="h5"),
            html.Dl(
                [
                    part
                    for name, value in rows
                    for part in (html.Dt(name, className="col-sm-4"), html.Dd(value, className="col-sm-8"))
                ],
                className="row",
                id="wizard-review-header",
            ),
            html.H3("Items", className="h5"),
            lines_table(lines, problems, ctx.currency_code, editable=False, table_id="wizard-review-lines"),
        ]
    )


def confirmation(reference: str, order_id: int, created: bool) -> dbc.Alert:
    short = portal_reference(reference, order_id)
    return html.Div(
        dbc.Alert(
            [
                html.H2("Order submitted" if created else "This order was already submitted", className="h4"),
                html.P(
                    [
                        "Portal reference ",
                        html.Strong(short, id="wizard-reference-number"),
                        ". It is waiting for ERP confirmation: the ERP's sales order number appears on "
                        "the order as soon as the ERP has accepted it.",
                    ]
                ),
                html.A("Open the order", href=f"/orders/{order_id}", className="btn btn-primary me-2"),
                html.A("Go to orders", href="/orders", className="btn btn-outline-secondary me-2"),
                html.A("Place another order", href="/create-order", className="btn btn-outline-secondary"),
            ],
            color="success",
            id="wizard-confirmation-alert",
        ),
        role="status",
    )
