"""The page shown for any address the portal does not know."""

import dash
from dash import html

dash.register_page(__name__, path="/404", name="Page not found", title="Page not found", public=True)


def layout(**_):
    return html.Div(
        [
            html.H1("Page not found"),
            html.P(
                "We could not find the page you asked for. It may have moved, or the address may be mistyped."
            ),
            html.A("Go to the home page", href="/", className="btn btn-primary"),
        ],
        id="not-found",
    )
