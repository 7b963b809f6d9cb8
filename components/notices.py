"""Public notices as cards. Pure: takes plain dicts."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def notice_cards(notices: list[dict[str, str]]) -> list[html.Div] | html.P:
    """One card per notice ({"title", "body", "published_on"}); an empty state when there are none."""
    if not notices:
        return html.P("There are no notices at the moment.", className="text-muted")
    return [
        dbc.Card(
            dbc.CardBody(
                [
                    html.H3(n["title"], className="h6 card-title"),
                    html.P(n["body"], className="card-text mb-1"),
                    html.Small(f"Published {n['published_on']}", className="text-muted"),
                ]
            ),
            className="mb-2",
        )
        for n in notices
    ]


def tile_cards(tiles: list[dict[str, str]]) -> list:
    """One card per tile ({"title", "text", "href"}, optional "warning"): what the signed-in person can do."""
    return [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(
                            html.A(t["title"], href=t["href"], className="stretched-link"), className="h5"
                        ),
                        html.P(t["text"], className="card-text text-muted mb-0"),
                        html.P(t["warning"], className="card-text text-danger small mt-2 mb-0")
                        if t.get("warning")
                        else None,
                    ]
                ),
                className="h-100",
            ),
            md=4,
            className="mb-3",
        )
        for t in tiles
    ]
