"""Outgoing e-mail: invitations. With SMTP_HOST set, mail goes through that server; without it (the demo and
development), each message is written as an .eml file into an outbox directory that an administrator page can
list. Outbox files hold live invitation links, so the directory is private (0700) and the files 0600.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
MAX_OUTBOX_LISTING = 500
_MAX_EML_BYTES = 1_000_000
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class MailSettings:
    outbox_dir: Path
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    sender: str = "portal@contoso.example"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], data_dir: Path) -> MailSettings:
        """SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS, MAIL_FROM; the outbox is
        DATA_DIR/outbox unless MAIL_OUTBOX_DIR says otherwise."""

        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        port_text = text("SMTP_PORT") or "587"
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"SMTP_PORT must be a port number, not {port_text!r}.") from None
        if not 0 < port < 65536:
            raise ValueError(f"SMTP_PORT must be between 1 and 65535, not {port}.")
        starttls_text = (text("SMTP_STARTTLS") or "true").lower()
        if starttls_text not in _TRUE | _FALSE:
            raise ValueError(f"SMTP_STARTTLS must be true or false, not {starttls_text!r}.")
        sender = text("MAIL_FROM") or cls.sender
        Address(addr_spec=sender)  # raises on a malformed address: better at start-up than at first send
        outbox = text("MAIL_OUTBOX_DIR")
        return cls(
            outbox_dir=Path(outbox) if outbox else Path(data_dir) / "outbox",
            smtp_host=text("SMTP_HOST"),
            smtp_port=port,
            smtp_user=text("SMTP_USER"),
            smtp_password=environ.get("SMTP_PASSWORD") or None,
            smtp_starttls=starttls_text in _TRUE,
            sender=sender,
        )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def invitation_message(
    settings: MailSettings, *, to: str, name: str, link: str, expires_at: datetime
) -> EmailMessage:
    """The invitation e-mail. `expires_at` is naive UTC (as stored) or aware. Raises ValueError for an
    address that is malformed or would inject headers."""
    expires = _utc(expires_at)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = Address("Contoso customer portal", addr_spec=settings.sender)
    message["To"] = Address(name.strip(), addr_spec=to.strip())  # raises on CR/LF or a malformed address
    message["Subject"] = "Your invitation to the Contoso customer portal"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    greeting = f"Hello {name.strip()}," if name.strip() else "Hello,"
    message.set_content(
        f"{greeting}\n"
        "\n"
        "you have been invited to the Contoso customer portal, where you can place\n"
        "orders and follow them from confirmation to invoice.\n"
        "\n"
        "Open this link to choose your password and sign in:\n"
        "\n"
        f"{link}\n"
        "\n"
        f"The link works once, until {expires:%A %d %B %Y, %H:%M} UTC.\n"
        "If it has expired, ask your administrator to send you a new one.\n"
        "\n"
        "If you did not expect this invitation, you can ignore this e-mail.\n"
        "\n"
        "Contoso customer service\n"
    )
    return message


def send_invitation(
    settings: MailSettings, *, to: str, name: str, link: str, expires_at: datetime
) -> Path | None:
    """Send the invitation through SMTP (returns None) or write it into the outbox (returns the file)."""
    message = invitation_message(settings, to=to, name=name, link=link, expires_at=expires_at)
    if settings.smtp_host:
        _send_smtp(settings, message)
        log.info("Invitation e-mail to %s handed to %s:%s", to, settings.smtp_host, settings.smtp_port)
        return None
    path = _write_outbox(settings.outbox_dir, message)
    log.info("Invitation e-mail to %s written to the outbox as %s", to, path.name)
    return path


def _send_smtp(settings: MailSettings, message: EmailMessage) -> None:
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls:
            # Fails (SMTPNotSupportedError) rather than sending credentials or links in clear text.
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def _write_outbox(outbox_dir: Path, message: EmailMessage) -> Path:
    outbox_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox_dir / f"{stamp}-{secrets.token_hex(4)}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(message.as_bytes())
    return path


def list_outbox(settings: MailSettings, limit: int = 50) -> list[dict[str, Any]]:
    """The newest outbox messages first: file name, to, subject, date (naive UTC) and the first link."""
    limit = max(1, min(int(limit), MAX_OUTBOX_LISTING))
    if not settings.outbox_dir.is_dir():
        return []
    names = sorted((p.name for p in settings.outbox_dir.glob("*.eml")), reverse=True)
    messages: list[dict[str, Any]] = []
    parser = BytesParser(policy=policy.default)
    for name in names:
        if len(messages) >= limit:
            break
        path = settings.outbox_dir / name
        try:
            if path.stat().st_size > _MAX_EML_BYTES:
                continue
            with path.open("rb") as file:
                message = parser.parse(file)
        except OSError:
            continue  # removed meanwhile
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        found = _LINK.search(text)
        messages.append(
            {
                "name": name,
                "to": str(message.get("To", "")),
                "subject": str(message.get("Subject", "")),
                "date": _header_date(message.get("Date")),
                "link": found.group(0) if found else None,
            }
        )
    return messages


def _header_date(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return _utc(moment).replace(tzinfo=None)
