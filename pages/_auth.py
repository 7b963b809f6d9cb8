"""Sign-in and sign-out as plain Flask routes (they work without JavaScript), and the session user.

Sessions end on the server side: the session id carries the contact's session version, which signing
out, disabling the contact or changing its roles moves on, so an older cookie stops working at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from data.access import Principal, current_principal, principal_for
from data.db import current_sessions, session_scope
from data.models import Contact
from data.passwords import hash_password, verify_password

SIGN_IN_FAILED = "The e-mail address or password is not right, or this sign-in is not active."
_DUMMY_HASH = hash_password("not a real password, only for equal timing")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Contoso customer portal</title><link rel="stylesheet" href="/assets/bootstrap.min.css">
</head><body class="bg-light"><main class="container py-5" style="max-width: 28rem">
<h1 class="h3 mb-4">{{ title }}</h1>{{ body | safe }}
<p class="mt-4 small"><a href="/">Back to the home page</a></p></main></body></html>"""

LOGIN_FORM = """
{% if message %}<div class="alert alert-danger" role="alert" id="login-error">{{ message }}</div>{% endif %}
<form method="post" action="/login{% if next_url %}?next={{ next_url | urlencode }}{% endif %}" novalidate>
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <div class="mb-3">
    <label for="email" class="form-label">E-mail address</label>
    <input type="email" class="form-control" id="email" name="email" value="{{ email }}" required
           autocomplete="username" autofocus maxlength="254"
           {% if message %}aria-invalid="true" aria-describedby="login-error"{% endif %}>
  </div>
  <div class="mb-3">
    <label for="password" class="form-label">Password</label>
    <input type="password" class="form-control" id="password" name="password" required
           autocomplete="current-password" maxlength="256">
  </div>
  <button type="submit" class="btn btn-primary w-100">Sign in</button>
</form>
<p class="mt-3 small text-muted">Access is by invitation. Ask your account manager if you need one.</p>
"""


REDEEM_FORM = """
<p>Choose a password to finish setting up your sign-in. Use 12 to 64 characters; a few unrelated words
make a good one.</p>
{% if errors.code %}
<div class="alert alert-danger" role="alert" id="code-error">{{ errors.code }}</div>
{% endif %}
<form method="post" action="/redeem" novalidate>
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="code" value="{{ code }}">
  <div class="mb-3">
    <label for="password" class="form-label">New password</label>
    <input type="password" class="form-control{% if errors.password %} is-invalid{% endif %}" id="password"
           name="password" required autocomplete="new-password" maxlength="256" autofocus
           aria-describedby="password-feedback">
    <div class="invalid-feedback" id="password-feedback">{{ errors.password or "" }}</div>
  </div>
  <div class="mb-3">
    <label for="confirm" class="form-label">Repeat the password</label>
    <input type="password" class="form-control{% if errors.confirm %} is-invalid{% endif %}" id="confirm"
           name="confirm" required autocomplete="new-password" maxlength="256"
           aria-describedby="confirm-feedback">
    <div class="invalid-feedback" id="confirm-feedback">{{ errors.confirm or "" }}</div>
  </div>
  <button type="submit" class="btn btn-primary w-100">Set password and sign in</button>
</form>
"""


class SessionUser(UserMixin):
    """What flask-login keeps for a signed-in contact."""

    def __init__(self, principal: Principal, session_version: int) -> None:
        self.principal = principal
        self.session_version = session_version

    def get_id(self) -> str:
        return f"{self.principal.contact_id}:{self.session_version}"


def load_session_user(user_id: str) -> SessionUser | None:
    """Rebuild the user from the database on every request; a stale session version signs it out."""
    contact_part, _, version_part = user_id.partition(":")
    if not (contact_part.isdigit() and version_part.isdigit()):
        return None
    with current_sessions()() as db:
        contact = db.get(Contact, int(contact_part))
        if contact is None or not contact.is_enabled or contact.session_version != int(version_part):
            return None
        principal = principal_for(contact)
        if principal.is_anonymous:
            return None
        return SessionUser(principal, contact.session_version)


def safe_next(target: str | None) -> str:
    """Only local paths: never another host, scheme or a protocol-relative URL."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    return target


def _render_login(email: str = "", message: str = "", status: int = 200) -> tuple[str, int]:
    body = render_template_string(
        LOGIN_FORM,
        email=email,
        message=message,
        csrf_token=generate_csrf(),
        next_url=safe_next(request.args.get("next")) if request.args.get("next") else "",
    )
    return render_template_string(PAGE, title="Sign in", body=body), status


def login() -> Response | tuple[str, int]:
    if request.method == "GET":
        if not current_principal().is_anonymous:
            return redirect(safe_next(request.args.get("next")))
        return _render_login()
    email = (request.form.get("email") or "").strip().lower()[:254]
    password = request.form.get("password") or ""
    with session_scope(current_sessions()) as db:
        contact = db.scalar(select(Contact).where(Contact.email == email)) if email else None
        valid = verify_password(contact.password_hash if contact else _DUMMY_HASH, password)
        if contact is None or not valid or not contact.is_enabled or not contact.web_roles:
            return _render_login(email, SIGN_IN_FAILED, 200)
        contact.last_sign_in_at = datetime.now(UTC).replace(tzinfo=None)
        user = SessionUser(principal_for(contact), contact.session_version)
    session.clear()  # a new session on sign-in: nothing from before survives (no fixation)
    login_user(user, remember=False)
    return redirect(safe_next(request.args.get("next")))


def _render_redeem(code: str, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    body = render_template_string(REDEEM_FORM, code=code, errors=errors, csrf_token=generate_csrf())
    return render_template_string(PAGE, title="Welcome to the customer portal", body=body), status


def redeem() -> Response | tuple[str, int]:
    """The invitation link: set a password, and be signed in."""
    from data.invitations import InvitationError, redeem_invitation

    code = (request.values.get("code") or "")[:200]
    if request.method == "GET":
        return _render_redeem(code, {})
    password = request.form.get("password") or ""
    if password != (request.form.get("confirm") or ""):
        return _render_redeem(code, {"confirm": "The two passwords are not the same."})
    try:
        with session_scope(current_sessions()) as db:
            contact = redeem_invitation(db, code, password)
            user = SessionUser(principal_for(contact), contact.session_version)
    except InvitationError as exc:
        field = exc.field if exc.field in ("password", "code") else "code"
        return _render_redeem(code, {field: str(exc)})
    session.clear()
    login_user(user, remember=False)
    return redirect("/")


def logout() -> Response:
    principal = current_principal()
    if principal.contact_id is not None:
        with session_scope(current_sessions()) as db:
            contact = db.get(Contact, principal.contact_id)
            if contact is not None:
                contact.session_version += 1  # every copy of this session's cookie stops working
    logout_user()
    session.clear()
    return redirect("/")


def init_auth(server: Flask) -> LoginManager:
    manager = LoginManager()
    manager.init_app(server)
    manager.user_loader(load_session_user)
    manager.session_protection = None  # the session version does this job, across workers
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout, methods=["POST"])
    server.add_url_rule("/redeem", "redeem", redeem, methods=["GET", "POST"])
    return manager
