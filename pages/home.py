"""Home: who we are and public notices for everyone; role tiles come with sign-in."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.company import COMPANY
from components.notices import notice_cards, tile_cards
from data.access import current_principal
from data.db import current_sessions, session_scope
from data.notices import public_notices
from data.order_entry import order_context
from pages._guard import may_open

dash.register_page(__name__, path="/", name="Home", title="Customer portal", nav=True, public=True, order=0)

HOME_NOTICES = "home-notices"
HOME_TILES = "home-tiles"


def layout(**_):
    offices = [html.Li(f"{o.code}: {o.name}, {o.city} (prices in {o.currency})") for o in COMPANY.offices]
    return html.Div(
        [
            html.H1(f"Welcome to the {COMPANY.name} customer portal"),
            html.P(COMPANY.tagline, className="lead"),
            dbc.Row(id=HOME_TILES, className="my-3"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.H2("Place and follow your orders", className="h4"),
                            html.P(
                                "Business customers sign in to see their company's sales orders, "
                                "follow confirmations, deliveries and invoices as our ERP records "
                                "them, and place new orders at their agreed prices. Access is by "
                                "invitation from your account manager."
                            ),
                            html.H2("Our companies", className="h4"),
                            html.Ul(offices),
                            html.H2("Contact", className="h4"),
                            html.P(
                                [
                                    COMPANY.address,
                                    html.Br(),
                                    f"Phone {COMPANY.phone} · ",
                                    html.A(COMPANY.email, href=f"mailto:{COMPANY.email}"),
                                    html.Br(),
                                    COMPANY.hours,
                                ]
                            ),
                        ],
                        md=7,
                    ),
                    dbc.Col(
                        html.Section(
                            [
                                html.H2("Notices", className="h4", id="home-notices-title"),
                                dcc.Loading(
                                    html.Div(id=HOME_NOTICES, **{"aria-live": "polite"}),
                                    type="dot",
                                ),
                            ],
                            **{"aria-labelledby": "home-notices-title"},
                        ),
                        md=5,
                    ),
                ]
            ),
        ]
    )


@callback(Output(HOME_NOTICES, "children"), Input(HOME_NOTICES, "id"))
def update_home_notices(_):
    with session_scope(current_sessions()) as session:
        notices = [
            {"title": n.title, "body": n.body, "published_on": n.published_on.strftime("%d %b %Y")}
            for n in public_notices(session)
        ]
    return notice_cards(notices)


@callback(Output(HOME_TILES, "children"), Input(HOME_TILES, "id"))
def update_home_tiles(_):
    """Tiles for what the signed-in person may use; none for anonymous visitors."""
    principal = current_principal()
    if principal.is_anonymous:
        return []
    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order") or 0)
    tiles = [
        {**page["tile"], "title": _tile_title(page["tile"], principal), "href": page["relative_path"]}
        for page in pages
        if page.get("tile") and may_open(principal, page)
    ]
    if any(t.get("readiness") for t in tiles) and not principal.is_admin:
        with session_scope(current_sessions()) as session:
            readiness = order_context(session, principal)
        for tile in tiles:
            if tile.get("readiness") and readiness.context is None:
                tile["warning"] = readiness.message  # which setup fields are missing, and who sets them
    return tile_cards(tiles)


def _tile_title(tile: dict, principal) -> str:
    """A tile may name itself per role ("My orders", "Company orders"): the first role that has one."""
    for role, title in (tile.get("titles") or {}).items():
        if principal.has_any([role]):
            return title
    return tile["title"]
