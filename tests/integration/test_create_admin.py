"""The documented command that creates the first administrator (production has no demo sign-ins)."""

from sqlalchemy import select

from app import Settings, create_admin_command
from data.db import make_engine, make_session_factory
from data.models import Contact, WebRole
from data.passwords import verify_password


def test_create_admin_command(tmp_path, monkeypatch, capsys):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse battery")
    assert create_admin_command(["Boss@Example.com"], settings) == 0
    assert "boss@example.com can now sign in" in capsys.readouterr().out

    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        contact = session.scalars(select(Contact).where(Contact.email == "boss@example.com")).one()
        assert contact.web_roles == {WebRole.ADMINISTRATOR}
        assert verify_password(contact.password_hash, "correct horse battery")
    engine.dispose()


def test_create_admin_refuses_short_password(tmp_path, monkeypatch, capsys):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    monkeypatch.setenv("ADMIN_PASSWORD", "short")
    assert create_admin_command(["boss@example.com"], settings) == 1
    assert "password: Use at least 12 characters." in capsys.readouterr().err
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Contact)).all() == []
    engine.dispose()
