"""The original file of an upload is served to members only, under its original name."""

import pytest
from django.urls import reverse

from tests.helpers import make_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_upload(store, upload_root):
    upload = make_upload(store, name="流量来源_周报 2026-11.xls")
    upload_root.mkdir(parents=True, exist_ok=True)
    upload.file_path.write_bytes(b"\xd0\xcf\x11\xe0 workbook bytes")
    return upload


@pytest.mark.parametrize("role", ["owner", "analyst", "viewer"])
def test_member_downloads_original(client, store, owner, analyst, viewer, stored_upload, role):
    client.force_login({"owner": owner, "analyst": analyst, "viewer": viewer}[role])

    response = client.get(reverse("traffic:upload_file", args=[store.slug, stored_upload.id]))

    disposition = response["Content-Disposition"]
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\xd0\xcf\x11\xe0 workbook bytes"
    assert disposition.startswith("attachment; ")
    assert "filename*=utf-8''%E6%B5%81%E9%87%8F%E6%9D%A5%E6%BA%90_%E5%91%A8%E6%8A%A5%202026-11.xls" in disposition
    assert stored_upload.stored_name not in disposition
    assert response["Content-Type"] == "application/octet-stream"


def test_outsider_gets_404(client, outsider, store, stored_upload):
    client.force_login(outsider)

    response = client.get(reverse("traffic:upload_file", args=[store.slug, stored_upload.id]))

    assert response.status_code == 404


def test_upload_of_other_store_is_404(client, outsider, other_store, stored_upload):
    client.force_login(outsider)

    response = client.get(reverse("traffic:upload_file", args=[other_store.slug, stored_upload.id]))

    assert response.status_code == 404


def test_missing_file_is_404(client, owner, store, stored_upload):
    stored_upload.file_path.unlink()
    client.force_login(owner)

    response = client.get(reverse("traffic:upload_file", args=[store.slug, stored_upload.id]))

    assert response.status_code == 404


def test_header_injection_in_name_is_neutralised(client, owner, store, upload_root):
    upload = make_upload(store, name='evil"\r\nSet-Cookie: a=b.csv')
    upload_root.mkdir(parents=True, exist_ok=True)
    upload.file_path.write_bytes(b"x")
    client.force_login(owner)

    response = client.get(reverse("traffic:upload_file", args=[store.slug, upload.id]))

    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"]
    assert "\r" not in response["Content-Disposition"]
    assert "a" not in response.cookies
