"""Owner pages for a store: API tokens, settings, the data export, deletion and the audit log."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from accounts import tokens
from accounts.audit import record_event
from accounts.models import ApiToken, AuditEvent, Invitation, Membership, Store
from tests.helpers import add_figure, make_upload
from traffic.models import TrafficFigure, Upload

pytestmark = pytest.mark.django_db


def test_token_secret_shown_once(client, owner, store):
    client.force_login(owner)

    created = client.post(reverse("accounts:tokens", args=[store.slug]), {"name": "BI export"})
    listed = client.get(reverse("accounts:tokens", args=[store.slug]))

    secret = created.context["new_secret"]
    record = ApiToken.objects.get()
    assert secret.startswith("tsa_")
    assert secret in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    assert secret not in listed.content.decode()
    assert f"tsa_{record.hint}" in listed.content.decode()
    assert tokens.hash_token(secret) == record.token_hash
    assert AuditEvent.objects.get(event_type="token_created").details == {"token_id": record.id, "name": "BI export", "hint": record.hint}


def test_token_name_required(client, owner, store):
    client.force_login(owner)

    response = client.post(reverse("accounts:tokens", args=[store.slug]), {"name": ""})

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoked_token_gets_401(client, owner, store):
    record, secret = tokens.create_token(store, "script", owner)
    client.force_login(owner)

    client.post(reverse("accounts:revoke_token", args=[store.slug, record.id]))
    client.logout()
    response = client.get(reverse("api:traffic", args=[store.slug]), headers={"Authorization": f"Bearer {secret}"})

    record.refresh_from_db()
    assert record.revoked_at is not None
    assert response.status_code == 401
    assert AuditEvent.objects.filter(event_type="token_revoked", store=store).count() == 1


def test_revoke_other_store_token_is_404(client, owner, store, other_store):
    record, _secret = tokens.create_token(other_store, "theirs")
    client.force_login(owner)

    response = client.post(reverse("accounts:revoke_token", args=[store.slug, record.id]))

    record.refresh_from_db()
    assert response.status_code == 404
    assert record.revoked_at is None


def test_store_settings_saved(client, owner, store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:store_settings", args=[store.slug]),
        {"name": "深圳光伏", "main_industry": store.main_industry_id, "reporting_time_zone": "Asia/Shanghai"},
    )

    store.refresh_from_db()
    assert response.status_code == 302
    assert store.name == "深圳光伏"
    assert store.reporting_time_zone == "Asia/Shanghai"
    assert AuditEvent.objects.get(event_type="store_updated").details == {"fields": ["name", "reporting_time_zone"]}


def test_store_settings_reject_unknown_time_zone(client, owner, store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:store_settings", args=[store.slug]),
        {"name": store.name, "main_industry": "", "reporting_time_zone": "Mars/Olympus"},
    )

    store.refresh_from_db()
    assert response.status_code == 400
    assert store.reporting_time_zone == "America/Los_Angeles"


def test_store_switcher_keeps_saved_name_when_settings_fail(client, owner, store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:store_settings", args=[store.slug]),
        {"name": "Renamed but not saved", "main_industry": "", "reporting_time_zone": "Mars/Olympus"},
    )

    assert response.status_code == 400
    assert [link.name for link in response.context["user_stores"]] == [store.name]


def test_export_zip_has_csvs_with_bom(client, owner, store, other_store):
    upload = make_upload(store, name="流量来源.xls")
    add_figure(upload, "search", 1408, inquiry=12, tm=3)
    add_figure(make_upload(other_store), "search", 999)
    client.force_login(owner)

    response = client.get(reverse("accounts:export_store", args=[store.slug]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{store.slug}-export-' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["figures.csv", "members.csv", "store.csv", "uploads.csv"]
    raw = archive.read("figures.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    figures = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(figures) == 1
    assert figures[0]["visitors"] == "1408"
    assert figures[0]["feedback_conversion_rate"] == ""
    uploads = list(csv.DictReader(io.StringIO(archive.read("uploads.csv").decode("utf-8-sig"))))
    assert uploads[0]["original_name"] == "流量来源.xls"
    assert AuditEvent.objects.filter(event_type="store_exported", store=store).exists()


def test_delete_store_requires_slug(client, owner, store):
    client.force_login(owner)

    response = client.post(reverse("accounts:delete_store", args=[store.slug]), {"confirm_slug": "Solar"})

    assert response.status_code == 400
    assert Store.objects.filter(id=store.id).exists()


def test_delete_store_removes_everything(client, owner, analyst, store, other_store, upload_root, django_capture_on_commit_callbacks):
    upload = make_upload(store)
    upload_root.mkdir(parents=True, exist_ok=True)
    upload.file_path.write_bytes(b"data")
    add_figure(upload, "search", 10)
    other_upload = make_upload(other_store)
    other_upload.file_path.write_bytes(b"other")
    tokens.create_token(store, "script")
    Invitation.objects.create(store=store, email="a@example.com", token_hash="x" * 64, expires_at="2099-01-01T00:00Z")
    record_event("role_changed", store=store, actor=owner)
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete_store", args=[store.slug]), {"confirm_slug": store.slug})

    assert response.status_code == 302
    assert not Store.objects.filter(slug="solar").exists()
    assert not Upload.objects.filter(id=upload.id).exists()
    assert not TrafficFigure.objects.filter(upload_id=upload.id).exists()
    assert not ApiToken.objects.exists()
    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(user__in=[owner, analyst]).exists()
    assert not upload.file_path.exists()
    assert other_upload.file_path.exists()
    deletion = AuditEvent.objects.get(event_type="store_deleted")
    assert deletion.details["slug"] == "solar"
    assert deletion.actor == owner
    assert AuditEvent.objects.filter(event_type="role_changed", store__isnull=True).exists()


def test_owner_sees_only_own_store_audit(client, owner, store, other_store):
    record_event("token_created", store=store, details={"name": "mine"})
    record_event("token_created", store=other_store, details={"name": "theirs"})
    record_event("login_failed", details={"email": "x@example.com"})
    client.force_login(owner)

    html = client.get(reverse("accounts:store_audit", args=[store.slug])).content.decode()

    assert "name=mine" in html
    assert "name=theirs" not in html
    assert "x@example.com" not in html


def test_staff_sees_all_audit_events(client, store, other_store, django_user_model):
    record_event("token_created", store=store, details={"name": "mine"})
    record_event("token_created", store=other_store, details={"name": "theirs"})
    record_event("login_failed", details={"email": "x@example.com"})
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    html = client.get(reverse("accounts:audit")).content.decode()
    filtered = client.get(reverse("accounts:audit"), {"event": "login_failed"}).content.decode()

    assert "name=mine" in html
    assert "name=theirs" in html
    assert "x@example.com" in html
    assert "name=mine" not in filtered


def test_record_event_takes_actor_and_address_from_request(rf, owner, store):
    request = rf.post("/", REMOTE_ADDR="192.0.2.9")
    request.user = owner

    event = record_event("baseline_published", request=request, details={"industry": "consumer-electronics"})

    assert event.actor == owner
    assert event.actor_email == owner.email
    assert event.ip_address == "192.0.2.9"
    assert event.store is None


def test_record_event_rejects_unknown_type(db):
    with pytest.raises(ValueError):
        record_event("made_up_event")


def test_client_ip_uses_trusted_proxy_count(rf, settings):
    from accounts.audit import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7")

    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "10.0.0.1"


def test_upload_deletion_is_audited(client, owner, store):
    upload = make_upload(store, name="week.xls")
    client.force_login(owner)

    client.post(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    event = AuditEvent.objects.get(event_type="upload_deleted")
    assert event.store == store
    assert event.actor == owner
    assert event.details["file_name"] == "week.xls"


def test_time_zone_choices_list_common_first():
    from accounts.forms import time_zone_choices

    (common_label, common), (_all_label, every) = time_zone_choices()

    assert [name for name, _label in common] == ["America/Los_Angeles", "Asia/Shanghai", "UTC"]
    assert ("Europe/Berlin", "Europe/Berlin") in every
