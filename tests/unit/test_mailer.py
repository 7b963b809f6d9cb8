"""Invitation e-mail: settings from the environment, the demo outbox, and SMTP against a local sink server."""

from __future__ import annotations

import base64
import socketserver
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from smtplib import SMTPNotSupportedError

import pytest

from data.mailer import MailSettings, list_outbox, send_invitation

LINK = "https://portal.contoso.example/invitation?code=Zm9vYmFyLWJhei1xdXV4LWNvcmdlLWdyYXVsdC1nYXJwbHk"
EXPIRES = datetime(2026, 11, 9, 14, 30)


def _send(settings: MailSettings, to="ann.lee@example.com", name="Ann Lee") -> Path | None:
    return send_invitation(settings, to=to, name=name, link=LINK, expires_at=EXPIRES)


def test_settings_from_the_environment(tmp_path):
    defaults = MailSettings.from_env({}, tmp_path)
    assert defaults == MailSettings(outbox_dir=tmp_path / "outbox")
    assert (defaults.smtp_host, defaults.smtp_port, defaults.smtp_starttls) == (None, 587, True)

    settings = MailSettings.from_env(
        {
            "SMTP_HOST": "mail.contoso.example",
            "SMTP_PORT": "2525",
            "SMTP_USER": "portal",
            "SMTP_PASSWORD": "s3cret-value",
            "SMTP_STARTTLS": "false",
            "MAIL_FROM": "orders@contoso.example",
            "MAIL_OUTBOX_DIR": str(tmp_path / "elsewhere"),
        },
        tmp_path,
    )
    assert settings == MailSettings(
        outbox_dir=tmp_path / "elsewhere",
        smtp_host="mail.contoso.example",
        smtp_port=2525,
        smtp_user="portal",
        smtp_password="s3cret-value",
        smtp_starttls=False,
        sender="orders@contoso.example",
    )
    assert "s3cret-value" not in repr(settings)
    for bad in (
        {"SMTP_PORT": "smtp"},
        {"SMTP_PORT": "70000"},
        {"SMTP_STARTTLS": "maybe"},
        {"MAIL_FROM": "x"},
    ):
        with pytest.raises(ValueError):
            MailSettings.from_env(bad, tmp_path)


def test_without_smtp_the_invitation_goes_to_a_private_outbox(tmp_path):
    settings = MailSettings(outbox_dir=tmp_path / "outbox")
    path = _send(settings, name="Ann Ölund")
    assert path is not None and path.parent == settings.outbox_dir and path.suffix == ".eml"
    assert stat.S_IMODE(settings.outbox_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "Ann Ölund <ann.lee@example.com>"
    assert message["From"].addresses[0].addr_spec == "portal@contoso.example"
    assert "invitation" in message["Subject"].lower()
    body = message.get_body(("plain",)).get_content()
    assert LINK in body
    assert "Monday 09 November 2026, 14:30 UTC" in body
    assert "Hello Ann Ölund," in body


def test_the_outbox_lists_newest_first_with_the_link(tmp_path):
    settings = MailSettings(outbox_dir=tmp_path / "outbox")
    assert list_outbox(settings) == []
    paths = [_send(settings, to=f"user{n}@example.com", name=f"User {n}") for n in range(3)]
    (settings.outbox_dir / "notes.txt").write_text("not a message")

    listed = list_outbox(settings)
    assert [m["name"] for m in listed] == [p.name for p in reversed(paths) if p]
    newest = listed[0]
    assert newest["to"] == "User 2 <user2@example.com>"
    assert newest["link"] == LINK
    assert newest["subject"] == "Your invitation to the Contoso customer portal"
    assert isinstance(newest["date"], datetime) and newest["date"].tzinfo is None
    assert [m["to"] for m in list_outbox(settings, limit=2)] == [
        "User 2 <user2@example.com>",
        "User 1 <user1@example.com>",
    ]


@pytest.mark.parametrize(
    ("to", "name"),
    [("ann@example.com\r\nBcc: eve@example.com", "Ann"), ("ann@example.com", "Ann\nBcc: eve@x")],
)
def test_header_injection_is_refused(tmp_path, to, name):
    settings = MailSettings(outbox_dir=tmp_path / "outbox")
    with pytest.raises(ValueError):
        _send(settings, to=to, name=name)
    assert list_outbox(settings) == []


# --- SMTP -------------------------------------------------------------------------------------------


class _Sink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to receive messages: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    daemon_threads = False  # server_close() waits for the conversations to end

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.received: list[dict] = []
        self.logins: list[str] = []


class _SinkHandler(socketserver.StreamRequestHandler):
    server: _Sink

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        envelope: dict = {"rcpt": []}
        self.reply("220 sink ESMTP")
        while line := self.rfile.readline(4096):
            command, _, argument = line.decode("ascii").rstrip("\r\n").partition(" ")
            command = command.upper()
            if command == "EHLO":
                self.reply("250-sink")
                self.reply("250-AUTH PLAIN")
                self.reply("250 8BITMIME")
            elif command == "HELO":
                self.reply("250 sink")
            elif command == "AUTH":
                _mechanism, _, initial = argument.partition(" ")
                self.server.logins.append(base64.b64decode(initial).decode())
                self.reply("235 2.7.0 Authentication successful")
            elif command == "MAIL":
                envelope["from"] = argument
                self.reply("250 OK")
            elif command == "RCPT":
                envelope["rcpt"].append(argument)
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                envelope["data"] = bytes(data)
                self.server.received.append(envelope)
                envelope = {"rcpt": []}
                self.reply("250 OK queued")
            elif command in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif command == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


@contextmanager
def smtp_sink() -> Iterator[_Sink]:
    server = _Sink()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_with_smtp_the_invitation_is_sent_and_nothing_is_written(tmp_path):
    with smtp_sink() as sink:
        settings = MailSettings(
            outbox_dir=tmp_path / "outbox",
            smtp_host="127.0.0.1",
            smtp_port=sink.server_address[1],
            smtp_user="portal",
            smtp_password="s3cret-value",
            smtp_starttls=False,
        )
        assert _send(settings) is None

    assert not settings.outbox_dir.exists()
    assert sink.logins == ["\0portal\0s3cret-value"]
    [envelope] = sink.received
    assert envelope["from"] == "FROM:<portal@contoso.example>"
    assert envelope["rcpt"] == ["TO:<ann.lee@example.com>"]
    message = message_from_bytes(envelope["data"], policy=policy.default)
    assert message["To"] == "Ann Lee <ann.lee@example.com>"
    body = message.get_body(("plain",)).get_content()
    assert LINK in body and "14:30 UTC" in body


def test_smtp_without_starttls_support_fails_closed(tmp_path):
    """With SMTP_STARTTLS on (the default) a server that cannot encrypt gets neither password nor link."""
    with smtp_sink() as sink:
        settings = MailSettings(
            outbox_dir=tmp_path / "outbox",
            smtp_host="127.0.0.1",
            smtp_port=sink.server_address[1],
            smtp_user="portal",
            smtp_password="s3cret-value",
        )
        with pytest.raises(SMTPNotSupportedError):
            _send(settings)
    assert sink.logins == [] and sink.received == []
    assert not settings.outbox_dir.exists()
