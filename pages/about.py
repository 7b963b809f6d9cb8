"""About the company: public information."""

import dash
from dash import html

from components.company import COMPANY

dash.register_page(__name__, path="/about", name="About us", title="About us", nav=True, public=True, order=1)


def layout(**_):
    return html.Article(
        [
            html.H1(f"About {COMPANY.name}"),
            html.P(COMPANY.tagline, className="lead"),
            html.P(
                "We design and distribute professional audio, video and stage equipment through "
                "three companies, each with its own currency, price lists and warehouses. Our "
                "customers are retailers, installers and rental houses who order by the pallet and "
                "expect to know, at any moment, where each order stands."
            ),
            html.P(
                "This portal shows the orders, confirmations, deliveries and invoices recorded in our "
                "ERP system, and lets authorised people at our customers place orders at their "
                "agreed prices, any time of day."
            ),
            html.H2("Offices", className="h4"),
            html.Ul(
                [html.Li(f"{o.name}, {o.city}: orders and invoices in {o.currency}") for o in COMPANY.offices]
            ),
            html.P(["Questions: ", html.A(COMPANY.email, href=f"mailto:{COMPANY.email}")]),
        ]
    )
