"""Every string marked for translation has a Chinese translation, and both languages are served."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def untranslated_entries(po_text):
    """Return msgids whose msgstr is empty or marked fuzzy."""
    missing = []
    for block in po_text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        msgid = "".join(_quoted(line) for line in _section(lines, "msgid"))
        if not msgid:
            continue
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        translations = [line for line in lines if line.startswith("msgstr")]
        values = []
        for translation in translations:
            key = translation.split(" ", 1)[0]
            values.append("".join(_quoted(line) for line in _section(lines, key)))
        if fuzzy or not values or not all(values):
            missing.append(msgid)
    return missing


def _section(lines, key):
    collected = []
    inside = False
    for line in lines:
        if line.startswith(key + " "):
            inside = True
            collected.append(line[len(key) + 1:])
        elif inside and line.startswith('"'):
            collected.append(line)
        elif inside:
            break
    return collected


def _quoted(text):
    text = text.strip()
    return text[1:-1] if text.startswith('"') and text.endswith('"') else ""


def test_catalog_has_every_marked_string(tmp_path):
    """Regenerate the catalog in a copy of the source tree and check that every entry is translated."""
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT, copy,
        ignore=shutil.ignore_patterns(".venv", "node_modules", "data", ".git", "staticfiles", "test-artifacts", "tests", "__pycache__"),
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-obsolete", "--no-location"],
        cwd=copy, capture_output=True, text=True, env={**os.environ, "DEBUG": "1"},
    )

    assert result.returncode == 0, result.stderr
    regenerated = (copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert untranslated_entries(regenerated) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("zh-CN,zh;q=0.9", "登录"), ("en-US,en;q=0.8", "Log in"), ("", "登录")],
)
def test_login_page_language(client, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}

    response = client.get(reverse("accounts:login"), headers=headers)

    assert expected in response.content.decode()


@pytest.mark.django_db
def test_language_switch_sets_english(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    response = client.get(reverse("accounts:login"))

    assert "Log in" in response.content.decode()


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_catalog_compiles_with_format_checks(language, tmp_path):
    catalog = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"

    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(catalog)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
