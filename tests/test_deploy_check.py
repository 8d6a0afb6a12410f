"""Production settings: `manage.py check --deploy` passes, HTTPS is enforced, and unsafe start-ups fail."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_manage(tmp_path, *args, **variables):
    """Run manage.py in a fresh interpreter with only these environment variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production_env(**overrides):
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "traffic.example.com",
        **overrides,
    }


def test_check_deploy_has_no_warnings(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env())

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_behind_proxy(tmp_path):
    env = production_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto,https", TRUSTED_PROXY_COUNT="1")

    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 0, result.stderr + result.stdout


def test_check_deploy_flags_debug(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env(DEBUG="1"))

    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def test_allowed_hosts_required_without_debug(tmp_path):
    env = production_env()
    del env["ALLOWED_HOSTS"]

    result = run_manage(tmp_path, "check", **env)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_invalid_proxy_header_rejected(tmp_path):
    result = run_manage(tmp_path, "check", **production_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"))

    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto' is invalid" in result.stderr


def test_unknown_email_backend_rejected(tmp_path):
    result = run_manage(tmp_path, "check", **production_env(EMAIL_BACKEND="carrier-pigeon"))

    assert result.returncode != 0
    assert "EMAIL_BACKEND='carrier-pigeon' is unknown" in result.stderr


def settings_value(tmp_path, expression, **variables):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),
        **variables,
    }
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_development_stays_on_plain_http(tmp_path):
    value = settings_value(
        tmp_path, "(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)", DEBUG="1"
    )

    assert value == "(False, False, 0)"


def test_production_security_settings(tmp_path):
    value = settings_value(
        tmp_path,
        "(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SESSION_COOKIE_HTTPONLY, settings.SECURE_HSTS_SECONDS >= 31536000, settings.X_FRAME_OPTIONS, "
        "settings.SECURE_PROXY_SSL_HEADER)",
        **production_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto,https"),
    )

    assert value == "(True, True, True, True, True, 'DENY', ('HTTP_X_FORWARDED_PROTO', 'https'))"


def test_email_backend_from_env(tmp_path):
    value = settings_value(
        tmp_path, "(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS)",
        DEBUG="1", EMAIL_BACKEND="smtp", EMAIL_HOST="smtp.example.com", EMAIL_PORT="587", EMAIL_USE_TLS="1",
    )

    assert value == "('django.core.mail.backends.smtp.EmailBackend', 'smtp.example.com', 587, True)"


@pytest.mark.django_db
def test_responses_carry_security_headers(client):
    response = client.get("/accounts/login/")

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_pages_have_no_inline_script_or_style(client, owner, store):
    client.force_login(owner)

    for url in ["/accounts/login/", f"/stores/{store.slug}/", f"/accounts/stores/{store.slug}/members/"]:
        html = client.get(url).content.decode()
        for tag in html.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert " src=" in opening or 'type="application/json"' in opening, f"inline script on {url}: <script{opening}>"
        assert "<style" not in html, url
        assert ' style="' not in html, url
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html
