"""The account summary page's building blocks: picker, master data, KPI cards, charts, contacts.

Pure: plain data in (the dataclasses of `data.accounts`, read by attribute), Dash components and plotly
figures out. No database, no flask_login. Every chart comes with its numbers as text and a table, so the
page reads the same without seeing the chart.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.orders import money, status_label
from components.shell import ROLE_LABELS

ACCOUNT_REQUESTED = "account-requested"  # a store: the ?account= query argument, as sent (untrusted)
ACCOUNT_PICKER = "account-picker"
ACCOUNT_SEARCH = "account-search"
ACCOUNT_MATCHES = "account-matches"
ACCOUNT_SUMMARY = "account-summary"
ACCOUNT_NOT_FOUND = "account-not-found"
CHART_MONTHS = "account-chart-months"
CHART_STATUSES = "account-chart-statuses"
CHART_PRODUCTS = "account-chart-products"

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
NO_ORDERS = "No orders in the last 12 months."
NO_PRODUCTS = "No products ordered in the last 12 months."
BAR_COLOUR = "#0d6efd"
LINE_COLOUR = "#d63384"
GRID_COLOUR = "#e9ecef"


def account_href(account_id: int) -> str:
    return f"/account?account={account_id}"


# --- page frame --------------------------------------------------------------------------------------


def account_page(requested: str) -> html.Div:
    """The skeleton every visitor gets: the picker (hidden until a callback shows it to administrators)
    and an empty summary area."""
    return html.Div(
        [
            html.H1("Account summary"),
            html.P(
                "Addresses, currency, price list, credit, order figures and contacts of a customer account.",
                className="lead",
            ),
            dcc.Store(id=ACCOUNT_REQUESTED, data=requested),
            html.Section(
                [
                    dbc.Label("Find a customer account", html_for=ACCOUNT_SEARCH),
                    dbc.Input(
                        id=ACCOUNT_SEARCH,
                        type="search",
                        value="",
                        debounce=300,
                        maxlength=100,
                        autocomplete="off",
                        placeholder="Account number or name",
                    ),
                    dbc.FormText("Type part of an account number or name, then choose the account."),
                    html.Div(id=ACCOUNT_MATCHES, className="mt-2", **{"aria-live": "polite"}),
                ],
                id=ACCOUNT_PICKER,
                hidden=True,
                className="mb-4",
                **{"aria-label": "Choose an account"},
            ),
            dcc.Loading(html.Div(id=ACCOUNT_SUMMARY), type="dot"),
        ]
    )


def account_matches(choices: list[Any], search: str, limit: int = 20) -> list:
    """The picker's results: one link per account (`data.accounts.AccountChoice`); a message for none."""
    if not search:
        return []
    if not choices:
        return [html.P(f"No account matches “{search}”.", className="text-muted mb-0")]
    count = (
        f"{len(choices)} accounts match “{search}”" if len(choices) > 1 else f"1 account matches “{search}”"
    )
    return [
        html.P(
            count + (" (the first ones shown; type more to narrow)" if len(choices) >= limit else "") + ".",
            className="small text-muted mb-1",
        ),
        dbc.ListGroup(
            [
                dbc.ListGroupItem(choice.label, href=account_href(choice.id), action=True)
                for choice in choices
            ],
            className="account-matches",
            tag="div",  # the items are links, not list items
        ),
    ]


def choose_prompt() -> dbc.Alert:
    return dbc.Alert(
        "Find a customer account above to see its summary.",
        color="info",
        id="account-choose",
        className="py-2",
    )


def not_found() -> dbc.Alert:
    """The same panel for a missing account and one outside the reader's scope."""
    return dbc.Alert(
        [
            html.H2("Account not found", className="h5 alert-heading"),
            html.P(
                "There is no customer account with this id that you can see. Check the link, or "
                "ask your administrator.",
                className="mb-0",
            ),
        ],
        color="warning",
        id=ACCOUNT_NOT_FOUND,
    )


# --- the summary -------------------------------------------------------------------------------------


def summary_view(summary: Any, manage_contacts_href: str | None = None) -> html.Div:
    """The whole summary of one account (a `data.accounts.AccountSummary`)."""
    master = summary.master
    period = f"{summary.period_start:%b %Y} to {_last_month(summary.period_end):%b %Y}"
    return html.Div(
        [
            html.Header(
                [
                    html.H2([master.name, " ", on_hold_badge(master)], className="h3 mb-0"),
                    html.P(
                        f"Account {master.account_number} · {master.legal_entity_id} "
                        f"{master.legal_entity_name}".strip(),
                        className="text-muted",
                    ),
                ],
                className="mb-3",
            ),
            on_hold_alert(master),
            _section("account-kpis", "Key figures", kpi_cards(summary.kpis, master), hidden_title=True),
            dbc.Row(
                [
                    dbc.Col(_section("account-details", "Account details", master_data(master)), lg=6),
                    dbc.Col(
                        _section("account-addresses", "Delivery addresses", address_list(summary.addresses)),
                        lg=6,
                    ),
                ]
            ),
            _section(
                "account-charts",
                f"Orders in the last 12 months ({period})",
                [
                    currency_note(summary.other_currencies, master.currency_code),
                    months_chart(summary.months, master.currency_code),
                    dbc.Row(
                        [
                            dbc.Col(status_chart(summary.statuses), lg=6),
                            dbc.Col(products_chart(summary.top_products, master.currency_code), lg=6),
                        ]
                    ),
                ],
            ),
            _section(
                "account-contacts",
                "Contacts",
                [
                    contacts_table(summary.contacts),
                    html.A("Manage contacts and invitations", href=manage_contacts_href)
                    if manage_contacts_href
                    else None,
                ],
            ),
        ],
        id="account-summary-" + str(master.id),
    )


def _section(section_id: str, title: str, children: Any, hidden_title: bool = False) -> html.Section:
    heading = html.H3(
        title, id=section_id + "-title", className="visually-hidden" if hidden_title else "h5 mt-3"
    )
    return html.Section(
        [heading, *(children if isinstance(children, list) else [children])],
        id=section_id,
        className="mb-3",
        **{"aria-labelledby": section_id + "-title"},
    )


def _last_month(period_end: date) -> date:
    return date(period_end.year - (period_end.month == 1), (period_end.month - 2) % 12 + 1, 1)


def on_hold_badge(master: Any) -> dbc.Badge | None:
    if not master.on_hold:
        return None
    return dbc.Badge(f"On hold: {master.on_hold_status}", color="danger", className="align-middle fs-6")


def on_hold_alert(master: Any) -> dbc.Alert | None:
    if not master.on_hold:
        return None
    return dbc.Alert(
        f"This account is on hold ({master.on_hold_status}): new orders may be refused until it is released. "
        "Your account manager can tell you more.",
        color="danger",
        className="py-2",
    )


def kpi_cards(kpis: Any, master: Any) -> dbc.Row:
    currency = master.currency_code
    other = (
        [" + ", *_joined([money(v, c) for c, v in kpis.open_value_other.items()])]
        if kpis.open_value_other
        else []
    )
    credit_note: list = ["No credit limit on file."]
    if master.credit_limit:
        share = kpis.open_value / Decimal(master.credit_limit) * 100
        credit_note = [f"Open orders are {share:.0f} % of it."]
    cards = [
        (
            "kpi-open-orders",
            "Open orders",
            f"{kpis.open_orders:,}",
            ["Not yet delivered, invoiced or canceled."],
        ),
        (
            "kpi-open-value",
            "Open order value",
            money(kpis.open_value, currency),
            other or ["Of the open orders."],
        ),
        (
            "kpi-late-orders",
            "Late orders",
            f"{kpis.late_orders:,}",
            ["Open orders confirmed for a later date than requested."],
        ),
        (
            "kpi-credit-limit",
            "Credit limit",
            money(master.credit_limit, currency) if master.credit_limit else "None",
            credit_note,
        ),
        (
            "kpi-orders-period",
            "Orders, last 12 months",
            f"{kpis.orders_in_period:,}",
            ["Worth ", money(kpis.value_in_period, currency), " (canceled orders left out)."],
        ),
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.H4(label, className="h6 text-muted mb-1", id=kpi_id + "-label"),
                            html.P(value, className="fs-4 fw-semibold mb-1", id=kpi_id),
                            html.P(note, className="small text-muted mb-0"),
                        ]
                    ),
                    className="h-100",
                ),
                sm=6,
                lg=True,
                className="mb-3",
            )
            for kpi_id, label, value, note in cards
        ]
    )


def _joined(parts: list, separator: str = ", ") -> list:
    out: list = []
    for index, part in enumerate(parts):
        out += [separator, part] if index else [part]
    return out


def master_data(master: Any) -> html.Dl:
    currency = master.currency_code
    invoice = "Same as this account"
    if master.invoice_account_number and master.invoice_account_number != master.account_number:
        invoice = " · ".join(p for p in (master.invoice_account_number, master.invoice_account_name) if p)
    rows = [
        ("Account number", master.account_number),
        ("Name", master.name),
        ("Company", " · ".join(p for p in (master.legal_entity_id, master.legal_entity_name) if p)),
        ("Currency", currency or "Not set"),
        (
            "Price list",
            " · ".join(p for p in (master.price_list_code, master.price_list_name) if p) or "Not set",
        ),
        ("Credit limit", money(master.credit_limit, currency) if master.credit_limit else "None"),
        ("On hold", master.on_hold_status if master.on_hold else "No"),
        ("Invoice account", invoice),
        ("Language", master.language_id or "Not set"),
        ("Customer group", master.customer_group or "—"),
        ("Country/region", master.country_region_id or "—"),
    ]
    items: list = []
    for label, value in rows:
        items += [html.Dt(label, className="col-sm-5"), html.Dd(value, className="col-sm-7 mb-1")]
    return html.Dl(items, className="row mb-0")


def address_list(addresses: list[Any]) -> html.Ul | html.P:
    if not addresses:
        return html.P("No delivery addresses on file.", className="text-muted")
    return html.Ul(
        [
            html.Li(
                [
                    html.Strong(a.description),
                    " ",
                    dbc.Badge("Primary", color="secondary", className="ms-1") if a.is_primary else None,
                    html.Br(),
                    ", ".join(p for p in (a.street, " ".join(q for q in (a.zip_code, a.city) if q)) if p),
                    html.Br() if a.street or a.city or a.zip_code else None,
                    a.country_region_id,
                ],
                className="mb-2",
            )
            for a in addresses
        ],
        className="list-unstyled mb-0",
    )


def currency_note(other_currencies: tuple[str, ...], currency: str) -> dbc.Alert | None:
    if not other_currencies:
        return None
    return dbc.Alert(
        f"Values are in {currency}; orders in {', '.join(other_currencies)} are counted but their values "
        "are left out.",
        color="secondary",
        className="py-2 small",
    )


# --- charts ------------------------------------------------------------------------------------------


def _axis(**settings: Any) -> dict[str, Any]:
    return {"gridcolor": GRID_COLOUR, "zerolinecolor": GRID_COLOUR, "automargin": True, **settings}


def chart(chart_id: str, title: str, figure: dict[str, Any], summary: list, table: Any) -> html.Figure:
    """A chart with an accessible name, its numbers as text (caption) and as a table (details).

    Figures are plain dicts: plotly's figure objects validate every property and copy their template,
    which took 40 ms for the three charts (more than the page's slowest query on a large account).
    """
    figure["layout"] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "margin": {"l": 10, "r": 10, "t": 45, "b": 10},
        "height": 320,
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "font": {"color": "#212529"},
        "hoverlabel": {"align": "left"},
        **figure.get("layout", {}),
    }
    return html.Figure(
        [
            dcc.Graph(id=chart_id, figure=figure, config=GRAPH_CONFIG, style={"height": "320px"}),
            html.Figcaption(summary, className="small text-muted"),
            html.Details(
                [html.Summary(f"{title}: the numbers", className="small"), table],
                className="small mt-1",
            ),
        ],
        className="mb-4",
        **{"aria-label": title},
    )


def chart_table(header: list[str], rows: list[list]) -> dbc.Table:
    """A chart's numbers as a table (first column as row headers), shown with the chart."""
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
            html.Tbody([html.Tr([html.Th(r[0], scope="row"), *[html.Td(c) for c in r[1:]]]) for r in rows]),
        ],
        size="sm",
        striped=True,
        className="mb-0",
    )


def _month(month: date) -> html.Time:
    return html.Time(f"{month:%b %Y}", dateTime=f"{month:%Y-%m}")


def months_chart(months: list[Any], currency: str) -> html.Figure | html.P:
    title = "Orders per month"
    total = sum(m.orders for m in months)
    if not total:
        return html.P(NO_ORDERS, className="text-muted", id=CHART_MONTHS + "-empty")
    x = [m.month.isoformat() for m in months]
    figure = {
        "data": [
            {
                "type": "bar",
                "x": x,
                "y": [m.orders for m in months],
                "name": "Orders",
                "marker": {"color": BAR_COLOUR},
                "hovertemplate": "%{x|%b %Y}: %{y:,} orders<extra></extra>",
            },
            {
                "type": "scatter",
                "x": x,
                "y": [float(m.value) for m in months],
                "name": f"Value ({currency})",
                "yaxis": "y2",
                "mode": "lines+markers",
                "line": {"color": LINE_COLOUR},
                "hovertemplate": "%{x|%b %Y}: %{y:,.2f} " + currency + "<extra></extra>",
            },
        ],
        "layout": {
            "xaxis": _axis(tickformat="%b %Y", dtick="M1", type="date"),
            "yaxis": _axis(title={"text": "Orders"}, rangemode="tozero"),
            "yaxis2": _axis(
                title={"text": f"Value ({currency})"},
                overlaying="y",
                side="right",
                rangemode="tozero",
                showgrid=False,
            ),
            "legend": {"orientation": "h", "y": -0.2},
        },
    }
    busiest = max(months, key=lambda m: (m.orders, m.month))
    value = sum((m.value for m in months), Decimal(0))
    summary = [
        f"{total:,} orders in 12 months, worth ",
        money(value, currency),
        f". Busiest month: {busiest.month:%B %Y} with {busiest.orders:,} orders.",
    ]
    rows = [[_month(m.month), f"{m.orders:,}", money(m.value, currency)] for m in months]
    return chart(
        CHART_MONTHS, title, figure, summary, chart_table(["Month", "Orders", f"Value ({currency})"], rows)
    )


def _bars(labels: list[str], values: list, hovertemplate: str, **extra: Any) -> dict[str, Any]:
    """Horizontal bars, the first at the top."""
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values,
                "y": labels,
                "marker": {"color": BAR_COLOUR},
                "hovertemplate": hovertemplate,
                **extra,
            }
        ],
        "layout": {"yaxis": _axis(autorange="reversed")},
    }


def status_chart(statuses: list[Any]) -> html.Figure | html.P:
    title = "Orders by status"
    total = sum(s.orders for s in statuses)
    if not total:
        return html.P(NO_ORDERS, className="text-muted", id=CHART_STATUSES + "-empty")
    labels = [status_label(s.status) for s in statuses]
    figure = _bars(labels, [s.orders for s in statuses], "%{y}: %{x:,} orders<extra></extra>")
    figure["layout"]["xaxis"] = _axis(title={"text": "Orders"})
    summary = [
        "Of the last 12 months' orders: "
        + "; ".join(f"{label} {s.orders:,}" for label, s in zip(labels, statuses, strict=True))
        + "."
    ]
    rows = [
        [label, f"{s.orders:,}", f"{s.orders / total:.0%}"] for label, s in zip(labels, statuses, strict=True)
    ]
    return chart(CHART_STATUSES, title, figure, summary, chart_table(["Status", "Orders", "Share"], rows))


def _quantities(quantities: tuple) -> str:
    return ", ".join(f"{q:,f} {unit}" for q, unit in quantities)


def products_chart(products: list[Any], currency: str) -> html.Figure | html.P:
    title = f"Top {len(products)} products by amount" if products else "Top products by amount"
    if not products:
        return html.P(NO_PRODUCTS, className="text-muted", id=CHART_PRODUCTS + "-empty")
    names = [f"{p.item_number} {p.description}".strip() for p in products]
    figure = _bars(
        names,
        [float(p.amount) for p in products],
        "%{y}: %{x:,.2f} " + currency + " (%{customdata})<extra></extra>",
        customdata=[_quantities(p.quantities) for p in products],
    )
    figure["layout"]["xaxis"] = _axis(title={"text": f"Amount ({currency})"})
    first = products[0]
    summary = [
        f"Largest: {first.item_number} {first.description}".rstrip() + ", ",
        money(first.amount, currency),
        ".",
    ]
    rows = [
        [name, _quantities(p.quantities), money(p.amount, currency)]
        for name, p in zip(names, products, strict=True)
    ]
    return chart(
        CHART_PRODUCTS,
        title,
        figure,
        summary,
        chart_table(["Product", "Quantity", f"Amount ({currency})"], rows),
    )


# --- contacts ----------------------------------------------------------------------------------------


def may_order_text(contact: Any) -> str:
    """'Yes', or 'No — missing: Price list, Currency' (every reason, lower-cased after the dash)."""
    if contact.may_order:
        return "Yes"
    return "No — " + "; ".join(r[:1].lower() + r[1:] for r in contact.reasons)


def contacts_table(contacts: list[Any]) -> dbc.Table | html.P:
    if not contacts:
        return html.P("This account has no contacts in the portal yet.", className="text-muted")
    header = ["Name", "E-mail", "Web roles", "Sign-in", "May place orders"]
    rows = [
        html.Tr(
            [
                html.Th(c.name, scope="row"),
                html.Td(c.email),
                html.Td(", ".join(ROLE_LABELS.get(r, r) for r in c.roles) or "None"),
                html.Td("Enabled" if c.enabled else "Disabled"),
                html.Td(may_order_text(c)),
            ]
        )
        for c in contacts
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h, scope="col") for h in header])), html.Tbody(rows)],
        striped=True,
        hover=True,
        responsive=True,
        size="sm",
        id="account-contacts-table",
    )
