"""The page frame: navigation bar and footer. Pure: plain data in, components out."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.company import COMPANY

NAVBAR = "shell-navbar"


def navbar(links: list[tuple[str, str]]) -> dbc.Navbar:
    """Brand plus one link per (label, path)."""
    items = [dbc.NavItem(dbc.NavLink(label, href=path, active="exact")) for label, path in links]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(f"{COMPANY.name} · Customer portal", href="/"),
                dbc.Nav(items, navbar=True, className="ms-auto"),
            ]
        ),
        id=NAVBAR,
        color="dark",
        dark=True,
        expand="md",
        tag="header",
    )


def footer() -> html.Footer:
    return html.Footer(
        dbc.Container(
            [
                html.Span(f"© {COMPANY.name}"),
                html.A("About us", href="/about", className="ms-3 link-light"),
                html.A("Terms and conditions", href="/terms", className="ms-3 link-light"),
                html.A(COMPANY.email, href=f"mailto:{COMPANY.email}", className="ms-3 link-light"),
            ],
            className="small",
        ),
        className="bg-dark text-light py-3 mt-auto",
    )
