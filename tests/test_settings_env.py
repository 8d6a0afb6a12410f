"""The typed environment readers in config/env.py and the start-up checks in settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, parse_database_url

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_DIR = Path("/srv/app")


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_true_words(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)

    assert env_bool("FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_env_bool_false_words(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)

    assert env_bool("FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_gives_default(monkeypatch, default):
    monkeypatch.delenv("FLAG", raising=False)

    assert env_bool("FLAG", default) is default


@pytest.mark.parametrize("raw", ["2", "maybe", "enabled", "y"])
def test_env_bool_rejects_other_words(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_bool("FLAG", False)

    assert "FLAG" in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


def test_env_int_reads_value(monkeypatch):
    monkeypatch.setenv("LIMIT", "42")

    assert env_int("LIMIT", 7) == 42


def test_env_int_unset_gives_default(monkeypatch):
    monkeypatch.delenv("LIMIT", raising=False)

    assert env_int("LIMIT", 7) == 7


def test_env_int_accepts_minimum(monkeypatch):
    monkeypatch.setenv("LIMIT", "1")

    assert env_int("LIMIT", 7, minimum=1) == 1


@pytest.mark.parametrize("raw", ["", "ten", "1.5", "0x10", "5MB"])
def test_env_int_rejects_non_integers(monkeypatch, raw):
    monkeypatch.setenv("LIMIT", raw)

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("LIMIT", 7)

    assert "LIMIT" in str(excinfo.value)
    assert "not an integer" in str(excinfo.value)


def test_env_int_rejects_below_minimum(monkeypatch):
    monkeypatch.setenv("LIMIT", "0")

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("LIMIT", 7, minimum=1)

    assert "minimum of 1" in str(excinfo.value)


def test_env_str_default_and_value(monkeypatch):
    monkeypatch.delenv("NAME", raising=False)
    assert env_str("NAME") is None
    assert env_str("NAME", "fallback") == "fallback"

    monkeypatch.setenv("NAME", "value")
    assert env_str("NAME", "fallback") == "value"


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,,")

    assert env_list("HOSTS", ["default"]) == ["a.example", "b.example"]


def test_env_list_unset_gives_default(monkeypatch):
    monkeypatch.delenv("HOSTS", raising=False)

    assert env_list("HOSTS", ["default"]) == ["default"]


def test_database_url_sqlite_relative():
    config = parse_database_url("sqlite:///data/db.sqlite3", BASE_DIR)

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/srv/app/data/db.sqlite3"


def test_database_url_sqlite_absolute():
    config = parse_database_url("sqlite:////var/lib/app/db.sqlite3", BASE_DIR)

    assert config["NAME"] == "/var/lib/app/db.sqlite3"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:////"])
def test_database_url_sqlite_without_file(url):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url(url, BASE_DIR)

    assert "names no SQLite file" in str(excinfo.value)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_database_url_postgres_schemes(scheme):
    config = parse_database_url(f"{scheme}://app@db.internal/traffic", BASE_DIR)

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "traffic"
    assert config["USER"] == "app"
    assert config["PASSWORD"] == ""
    assert config["HOST"] == "db.internal"
    assert config["PORT"] == ""


def test_database_url_postgres_all_parts_decoded():
    config = parse_database_url("postgres://app%40corp:p%2Fss%3Aw@127.0.0.1:6543/traffic%20dev", BASE_DIR)

    assert config["USER"] == "app@corp"
    assert config["PASSWORD"] == "p/ss:w"
    assert config["HOST"] == "127.0.0.1"
    assert config["PORT"] == "6543"
    assert config["NAME"] == "traffic dev"


def test_database_url_postgres_without_name():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url("postgres://app@127.0.0.1:5432/", BASE_DIR)

    assert "names no database" in str(excinfo.value)


@pytest.mark.parametrize("url", ["mysql://app@127.0.0.1/traffic", "db.sqlite3", "redis://127.0.0.1:6379/0"])
def test_database_url_unsupported_scheme(url):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url(url, BASE_DIR)

    assert "is not supported" in str(excinfo.value)


def _load_settings(tmp_path, **variables):
    """Import the settings in a fresh interpreter with only the given variables set."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),
        **variables,
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_require_secret_key_without_debug(tmp_path):
    result = _load_settings(tmp_path, DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_settings_require_secret_key_when_debug_unset(tmp_path):
    result = _load_settings(tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_settings_load_with_secret_key(tmp_path):
    result = _load_settings(
        tmp_path, DEBUG="0", SECRET_KEY="a-long-random-production-key", ALLOWED_HOSTS="traffic.example.com"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_settings_load_in_debug_without_secret_key(tmp_path):
    result = _load_settings(tmp_path, DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_settings_reject_invalid_boolean(tmp_path):
    result = _load_settings(tmp_path, DEBUG="maybe", SECRET_KEY="key")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_settings_reject_invalid_database_url(tmp_path):
    result = _load_settings(tmp_path, DEBUG="1", DATABASE_URL="mysql://app@127.0.0.1/traffic")

    assert result.returncode != 0
    assert "DATABASE_URL scheme 'mysql' is not supported" in result.stderr
