"""One order: every header field, the lines, the timeline and where it stands with the ERP."""

import dash
from dash import Input, Output, callback, dcc, html

import components.order_detail as ui
from data.db import current_sessions, session_scope
from data.orders import erp_data_as_of, get_order, placed_by, timeline
from pages._guard import require_roles
from pages.orders import CUSTOMER_ROLES

dash.register_page(
    __name__,
    path_template="/orders/<order_id>",
    name="Order",
    title="Order",
    roles=tuple(CUSTOMER_ROLES),
)

ORDER_ID = "order-detail-id"
BODY = "order-detail-body"


def layout(order_id=None, **_):
    return html.Div(
        [
            html.A("← Back to orders", href="/orders", className="d-inline-block mb-2"),
            dcc.Store(id=ORDER_ID, data=order_id),
            dcc.Loading(html.Div(id=BODY, children=html.P("Loading the order…")), type="dot"),
        ]
    )


@callback(Output(BODY, "children"), Input(ORDER_ID, "data"))
def update_order_detail(order_id):
    """The order, if the reader may see it; a missing order and someone else's look the same."""
    principal = require_roles(*CUSTOMER_ROLES)
    with session_scope(current_sessions()) as session:
        order = get_order(session, principal, order_id)
        if order is None:
            return ui.not_found()
        return ui.order_view(
            order,
            lines=list(order.lines),
            events=timeline(order),
            placer=placed_by(session, order),
            as_of=erp_data_as_of(session),
            show_placer=principal.is_admin or principal.is_representative,
        )
