import subprocess
import sys

import pytest

from web.settings import Settings, SettingsError

GOOD = {"SECRET_KEY": "k" * 32, "DATABASE_URL": "sqlite:///var/x.sqlite"}


def test_defaults_are_embedded():
    settings = Settings.from_env(GOOD)
    assert settings.is_sqlite
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.redis_is_default
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.log_level == "INFO"


def test_explicit_values_are_kept():
    settings = Settings.from_env(
        {
            **GOOD,
            "DATABASE_URL": "postgresql://u@db/app",
            "REDIS_URL": "redis://cache:6380/2",
            "PUBLIC_URL": "https://meet.example.com/",
            "LOG_LEVEL": "debug",
        }
    )
    assert not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6380/2"
    assert not settings.redis_is_default
    assert settings.public_url == "https://meet.example.com"
    assert settings.secure_cookies
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("REDIS_URL", "http://nope", "REDIS_URL"),
        ("SECRET_KEY", "short", "SECRET_KEY"),
        ("PUBLIC_URL", "not a url", "PUBLIC_URL"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ],
)
def test_invalid_settings_name_the_variable(name, value, mentions):
    with pytest.raises(SettingsError, match=mentions):
        Settings.from_env({**GOOD, name: value})


def test_secret_key_is_not_in_repr():
    assert "k" * 32 not in repr(Settings.from_env(GOOD))


def test_cli_reports_bad_settings_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "web.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://x", "SECRET_KEY": "k" * 32},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("punctual: error: DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_every_command_has_help():
    for command in ("serve", "worker", "migrate", "seed", "createadmin", "sim", "demo"):
        result = subprocess.run(
            [sys.executable, "-m", "web.cli", command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "usage: punctual" in result.stdout
