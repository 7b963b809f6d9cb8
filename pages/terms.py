"""Terms and conditions of sale and of portal use: public."""

import dash
from dash import html

from components.company import COMPANY

dash.register_page(
    __name__, path="/terms", name="Terms", title="Terms and conditions", nav=True, public=True, order=2
)

SECTIONS = (
    (
        "1. Who may use the portal",
        "Access is by invitation only. Your company's administrator at "
        f"{COMPANY.name} creates your contact and sends you an invitation. Keep your password to "
        "yourself; you are responsible for orders placed with your sign-in.",
    ),
    (
        "2. Orders",
        "An order placed in the portal is an offer to buy. It becomes binding when our ERP confirms "
        "it and assigns a sales order number, which the portal shows on the order. Until then it is "
        "shown as waiting for confirmation.",
    ),
    (
        "3. Prices and currency",
        "Prices are those of your agreed price list on the day the order is confirmed, in your "
        "account's currency, excluding taxes and freight unless stated otherwise.",
    ),
    (
        "4. Delivery",
        "Requested receipt dates are requests. The confirmed receipt date on the order is the date we "
        "commit to. Partial deliveries are possible and are shown line by line.",
    ),
    (
        "5. Invoicing and payment",
        "Invoices are issued when goods are shipped and are payable according to your account's "
        "payment terms. Accounts on hold cannot place new orders.",
    ),
    (
        "6. Data",
        "We store the data needed to process your orders and keep the portal secure. Contact "
        f"{COMPANY.email} to correct or remove personal data.",
    ),
)


def layout(**_):
    return html.Article(
        [html.H1("Terms and conditions")]
        + [html.Section([html.H2(title, className="h5"), html.P(text)]) for title, text in SECTIONS]
    )
