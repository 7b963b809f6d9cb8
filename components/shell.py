"""The page frame: navigation bar and footer. Pure: plain data in, components out."""

from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.company import COMPANY

#: Web roles in the order and words the portal shows them.
ROLE_CHOICES = (
    ("administrator", "Administrator"),
    ("customer_representative", "Customer representative"),
    ("authorized_user", "Authorized user"),
)
ROLE_LABELS = dict(ROLE_CHOICES)

NAVBAR = "shell-navbar"
SHELL_NAV = "shell-nav"


@dataclass(frozen=True)
class NavUser:
    name: str
    role_label: str
    csrf_token: str


def navbar() -> dbc.Navbar:
    """Brand plus a navigation area that a callback fills for whoever is signed in."""
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(f"{COMPANY.name} · Customer portal", href="/"),
                html.Nav(
                    # wraps onto a second line rather than pushing "Sign out" off a narrow window
                    id=SHELL_NAV,
                    className="ms-auto d-flex flex-wrap align-items-center justify-content-end",
                    **{"aria-label": "Main"},
                ),
            ]
        ),
        id=NAVBAR,
        color="dark",
        dark=True,
        expand="md",
        tag="header",
    )


def nav_items(links: list[tuple[str, str]], user: NavUser | None) -> list:
    """One link per (label, path), then sign-in or the signed-in user with a sign-out button."""
    items: list = [
        dbc.Nav(
            [dbc.NavItem(dbc.NavLink(label, href=path, active="exact")) for label, path in links],
            className="flex-wrap",
        )
    ]
    if user is None:
        items.append(
            html.A("Sign in", href="/login", className="btn btn-outline-light btn-sm ms-3", id="sign-in")
        )
        return items
    items.append(
        html.Span(
            [user.name, html.Small(f" ({user.role_label})", className="text-white-50")],
            className="navbar-text ms-3",
            id="signed-in-as",
        )
    )
    items.append(
        html.Form(
            [
                dcc.Input(type="hidden", name="csrf_token", value=user.csrf_token),
                html.Button(
                    "Sign out", type="submit", className="btn btn-outline-light btn-sm", id="sign-out"
                ),
            ],
            method="post",
            action="/logout",
            className="ms-3",
        )
    )
    return items


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
