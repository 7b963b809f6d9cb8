"""Settings come from the environment with safe defaults; production refuses unsafe ones."""

import stat

import pytest

from app import ConfigurationError, Settings


def test_defaults_embedded(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'portal.sqlite'}"
    assert settings.erp_database_url == f"sqlite:///{tmp_path / 'erp.sqlite'}"
    assert settings.erp_url is None  # run the embedded simulator
    assert (settings.host, settings.port) == ("127.0.0.1", 8050)
    assert settings.scheduler and settings.demo and not settings.production and not settings.debug
    assert settings.demo_password == "demo-password-1"


def test_generated_secret_key_is_private_and_stable(tmp_path):
    first = Settings.from_env({"DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) == 64
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    other = Settings.from_env({"DATA_DIR": str(tmp_path / "other")}).secret_key
    assert other != first


def test_environment_overrides(tmp_path):
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql+psycopg://u@db/portal",
            "ERP_URL": "http://erp:8060",
            "PORT": "9000",
            "HOST": "0.0.0.0",
            "SCHEDULER": "off",
            "SECRET_KEY": "k" * 40,
            "DEMO_PASSWORD": "another-password-2",
            "PUBLIC_URL": "https://portal.example/",
        }
    )
    assert settings.public_url == "https://portal.example"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.erp_url == "http://erp:8060"
    assert (settings.host, settings.port, settings.scheduler) == ("0.0.0.0", 9000, False)
    assert settings.secret_key == "k" * 40
    assert settings.demo_password == "another-password-2"
    assert not (tmp_path / "secret_key").exists()


def test_production_requires_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "PORTAL_ENV": "production", "ERP_URL": "http://erp"})
    assert not (tmp_path / "secret_key").exists()


def test_production_requires_a_real_erp(tmp_path):
    with pytest.raises(ConfigurationError, match="ERP_URL"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "PORTAL_ENV": "production", "SECRET_KEY": "x" * 40})


def test_production_refuses_debug(tmp_path):
    env = {
        "DATA_DIR": str(tmp_path),
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "ERP_URL": "http://erp:8060",
    }
    with pytest.raises(ConfigurationError, match="DEBUG"):
        Settings.from_env({**env, "DEBUG": "1"})
    settings = Settings.from_env(env)
    assert settings.production and not settings.demo and not settings.debug
