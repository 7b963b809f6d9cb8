"""The one request guard, CSRF, throttling, cookie flags and generic error pages.

Every callback is a public endpoint: anyone can POST any JSON to /_dash-update-component. The guard lets
anonymous requests reach only the explicit list of public callbacks and public pages; everything else
gets 401 (callbacks) or a redirect to the sign-in page (pages). Signed-in users who open a page their
roles do not allow see a 403 page; callbacks check roles themselves with `require_roles`.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from urllib.parse import quote

import dash
import plotly
from dash import html
from flask import Flask, Response, jsonify, redirect, render_template_string, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from data.access import Principal, current_principal
from data.models import WebRole
from pages._auth import PAGE

log = logging.getLogger("portal.guard")

CALLBACK_PATH = "/_dash-update-component"
ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."
# Callbacks anonymous visitors may call: page routing and the public pages' own callbacks.
PUBLIC_CALLBACKS = frozenset(
    {ROUTER_OUTPUT, "home-notices.children", "home-tiles.children", "shell-nav.children"}
)
# Dash's own assets and layout, the sign-in routes and health checks.
PUBLIC_PREFIXES = (
    "/assets/",
    "/_dash-component-suites/",
    "/_dash-layout",
    "/_dash-dependencies",
    "/_favicon",
)
PUBLIC_ROUTES = frozenset({"/login", "/logout", "/redeem", "/health", "/_reload-hash"})
CSRF_COOKIE = "_csrf_token"


class Forbidden(HTTPException):
    code = 403
    description = "You do not have access to this."


def require_roles(*roles: WebRole) -> Principal:
    """The current principal if it has one of `roles`; otherwise the callback is refused with 403."""
    principal = current_principal()
    if principal.is_anonymous or not principal.has_any(roles):
        log.warning("refused %s for %s", request.path, principal.email or "anonymous")
        raise Forbidden()
    return principal


def page_roles(page: dict[str, Any]) -> frozenset[WebRole] | None:
    """None for a public page; otherwise the roles that may open it (all signed-in roles by default)."""
    if page.get("public"):
        return None
    return frozenset(WebRole(r) for r in page.get("roles") or tuple(WebRole))


def may_open(principal: Principal, page: dict[str, Any]) -> bool:
    roles = page_roles(page)
    return roles is None or (not principal.is_anonymous and principal.has_any(roles))


def page_for_path(path: str) -> dict[str, Any] | None:
    """The registered page serving `path` (a template segment like <order_id> matches any one segment)."""
    segments = [part for part in path.split("/") if part]
    for page in dash.page_registry.values():
        template = [part for part in (page.get("path_template") or page["path"]).split("/") if part]
        if len(template) == len(segments) and all(
            t == s or (t.startswith("<") and t.endswith(">")) for t, s in zip(template, segments, strict=True)
        ):
            return page
    return None


def _router_response(component: Any, title: str) -> Response:
    body = {
        "multi": True,
        "response": {
            "_pages_content": {"children": component},
            "_pages_store": {"data": {"title": title}},
        },
    }
    return Response(json.dumps(body, cls=plotly.utils.PlotlyJSONEncoder), mimetype="application/json")


def refusal(principal: Principal, path: str) -> html.Div:
    """What the page area shows instead of a page the principal may not open."""
    if principal.is_anonymous:
        return html.Div(
            [
                html.H1("Please sign in"),
                html.P("This page is for signed-in customers and staff."),
                html.A("Sign in", href=f"/login?next={quote(path)}", className="btn btn-primary"),
            ],
            id="sign-in-required",
        )
    return html.Div(
        [
            html.H1("You don't have access to this page"),
            html.P("Your web roles do not include this page. Ask your administrator if you need it."),
            html.A("Go to the home page", href="/", className="btn btn-primary"),
        ],
        id="forbidden",
    )


def _guard() -> Response | tuple[Response, int] | None:
    path = request.path
    if path in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES):
        return None
    principal = current_principal()
    if path == CALLBACK_PATH:
        if request.method != "POST":
            return None
        if not request.is_json:
            return jsonify(error="Callbacks accept JSON only."), 415
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="Malformed callback request."), 400
        output = body.get("output")
        if output == ROUTER_OUTPUT:
            inputs = [i for i in body.get("inputs") or [] if isinstance(i, dict)]
            pathname = next((i.get("value") for i in inputs if i.get("property") == "pathname"), "/")
            if not isinstance(pathname, str) or not pathname.startswith("/"):
                return jsonify(error="Malformed page address."), 400
            page = page_for_path(pathname)
            if page is not None and not may_open(principal, page):
                return _router_response(refusal(principal, pathname), page.get("title") or "")
            return None
        if output in PUBLIC_CALLBACKS or not principal.is_anonymous:
            return None
        return jsonify(error="Please sign in."), 401
    if request.method == "GET":
        page = page_for_path(path)
        if page is not None and principal.is_anonymous and not may_open(principal, page):
            return redirect(f"/login?next={quote(path)}")
    return None


def _set_csrf_cookie(response: Response) -> Response:
    """Dash copies this cookie into an X-CSRFToken header on every callback (SETUP-NOTES)."""
    if request.path == CALLBACK_PATH or response.mimetype == "text/html":
        response.set_cookie(
            CSRF_COOKIE, generate_csrf(), samesite="Lax", secure=request.is_secure, httponly=False
        )
    return response


def _error_page(message: str, status: int) -> Response | tuple[Response, int] | tuple[str, int]:
    if request.path == CALLBACK_PATH or request.is_json:
        return jsonify(error=message), status
    body = f'<div class="alert alert-warning" role="alert">{message}</div>'
    return render_template_string(PAGE, title="Sorry", body=body), status


def _handle_unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return _error_page(exc.description or exc.name, exc.code or 500)
    error_id = uuid.uuid4().hex[:12]
    log.exception("error %s on %s %s", error_id, request.method, request.path)
    return _error_page(f"Something went wrong on our side. Error id: {error_id}.", 500)


class PortalSessionInterface(SecureCookieSessionInterface):
    """Session cookie marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_security(
    server: Flask,
    *,
    ratelimit_storage_uri: str,
    address_limit: str,
    account_limit: str,
    max_request_bytes: int,
) -> Limiter:
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=0,
        MAX_CONTENT_LENGTH=max_request_bytes,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead, which sign-in renews
    )
    server.session_interface = PortalSessionInterface()
    CSRFProtect(server)
    limiter = Limiter(
        get_remote_address,
        app=server,
        storage_uri=ratelimit_storage_uri,
        strategy="moving-window",  # no reset at a minute boundary that a guesser could time
        headers_enabled=True,
    )
    for endpoint in ("login", "redeem"):
        view = server.view_functions.get(endpoint)
        if view is None:
            continue
        view = limiter.limit(address_limit, methods=["POST"])(view)  # per client address
        view = limiter.limit(account_limit, methods=["POST"], key_func=_account_key)(view)
        server.view_functions[endpoint] = view
    server.before_request(_guard)
    server.after_request(_set_csrf_cookie)
    server.register_error_handler(CSRFError, lambda e: _error_page(_CSRF_MESSAGE, 400))
    server.register_error_handler(RateLimitExceeded, lambda e: _error_page(_THROTTLED, 429))
    server.register_error_handler(413, lambda e: _error_page("That request is too large.", 413))
    server.register_error_handler(Exception, _handle_unexpected)
    return limiter


_CSRF_MESSAGE = "Your form expired or came from another site. Reload the page and try again."
_THROTTLED = "Too many attempts. Wait a minute, then try again."


def _account_key() -> str:
    """Throttle per account: the e-mail of a sign-in, or the code of an invitation."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"account:{email}" if email else "code:" + (request.form.get("code") or "")[:200]
