"""Callbacks of the page frame (not a page): the navigation for whoever is signed in."""

from datetime import UTC, tzinfo
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dash
from dash import Input, Output, callback
from flask import request
from flask_wtf.csrf import generate_csrf

from components.shell import ROLE_CHOICES, SHELL_NAV, NavUser, nav_items
from data.access import current_principal
from pages._guard import may_open


def role_label(roles) -> str:
    return ", ".join(label for role, label in ROLE_CHOICES if role in roles)


TIME_ZONE_COOKIE = "tz"  # set by assets/timezone.js from the browser's own setting


def user_zone() -> tzinfo:
    """The reader's time zone (from their browser), for showing times; UTC when unknown or invalid."""
    name = unquote(request.cookies.get(TIME_ZONE_COOKIE, ""))[:64]  # the script URI-encodes it
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@callback(Output(SHELL_NAV, "children"), Input("_pages_location", "pathname"))
def update_shell_nav(_pathname):
    principal = current_principal()
    links = [
        (page["name"], page["relative_path"])
        for page in sorted(dash.page_registry.values(), key=lambda p: p.get("order") or 0)
        if page.get("nav") and may_open(principal, page)
    ]
    user = None
    if not principal.is_anonymous:
        user = NavUser(principal.name, role_label(principal.roles), generate_csrf())
    return nav_items(links, user)
