"""What each role may do in its store: owner, analyst and viewer, and staff across stores."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from tests.helpers import make_upload

pytestmark = pytest.mark.django_db

OWNER_PAGES = ["accounts:members", "accounts:tokens", "accounts:store_settings", "accounts:store_audit", "accounts:export_store"]


@pytest.mark.parametrize("name", OWNER_PAGES)
def test_owner_opens_owner_pages(client, owner, store, name):
    client.force_login(owner)

    assert client.get(reverse(name, args=[store.slug])).status_code == 200


@pytest.mark.parametrize("name", OWNER_PAGES)
@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_non_owner_gets_403_on_owner_pages(client, store, analyst, viewer, role, name):
    client.force_login(analyst if role == "analyst" else viewer)

    assert client.get(reverse(name, args=[store.slug])).status_code == 403


@pytest.mark.parametrize("role", ["owner", "analyst", "viewer"])
def test_every_role_views_report_and_uploads(client, store, owner, analyst, viewer, role):
    user = {"owner": owner, "analyst": analyst, "viewer": viewer}[role]
    upload = make_upload(store)
    client.force_login(user)

    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 200
    assert client.get(reverse("traffic:uploads", args=[store.slug])).status_code == 200
    assert client.get(reverse("traffic:upload_detail", args=[store.slug, upload.id])).status_code == 200
    assert client.get(reverse("traffic:upload_problems", args=[store.slug, upload.id])).status_code == 200


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("analyst", True), ("viewer", False)])
def test_upload_open_to_owner_and_analyst(client, store, owner, analyst, viewer, role, allowed):
    # A POST without files is handled by the upload form (error or redirect); a viewer is stopped before it.
    client.force_login({"owner": owner, "analyst": analyst, "viewer": viewer}[role])

    response = client.post(reverse("traffic:uploads", args=[store.slug]), {})

    assert (response.status_code != 403) is allowed


@pytest.mark.parametrize(("role", "expected"), [("owner", 302), ("analyst", 403), ("viewer", 403)])
def test_only_owner_deletes_upload(client, store, owner, analyst, viewer, role, expected):
    upload = make_upload(store)
    client.force_login({"owner": owner, "analyst": analyst, "viewer": viewer}[role])

    response = client.post(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    assert response.status_code == expected
    assert store.uploads.filter(id=upload.id).exists() is (expected != 302)


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_non_owner_cannot_invite_or_create_token(client, store, analyst, viewer, role):
    client.force_login(analyst if role == "analyst" else viewer)

    invite = client.post(reverse("accounts:invite", args=[store.slug]), {"email": "x@example.com", "role": "owner"})
    token = client.post(reverse("accounts:tokens", args=[store.slug]), {"name": "script"})

    assert invite.status_code == 403
    assert token.status_code == 403
    assert not store.invitations.exists()
    assert not store.api_tokens.exists()


def test_analyst_cannot_promote_self(client, store, analyst):
    client.force_login(analyst)
    own = Membership.objects.get(user=analyst, store=store)

    response = client.post(reverse("accounts:change_role", args=[store.slug, own.id]), {"role": "owner"})

    own.refresh_from_db()
    assert response.status_code == 403
    assert own.role == "analyst"


def test_staff_sees_platform_audit_log(client, store, owner, django_user_model):
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get(reverse("accounts:audit")).status_code == 200


def test_owner_without_staff_flag_denied_platform_audit_log(client, owner):
    client.force_login(owner)

    assert client.get(reverse("accounts:audit")).status_code == 403


def test_staff_without_membership_gets_404_on_store(client, store, django_user_model):
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get(reverse("accounts:members", args=[store.slug])).status_code == 404
    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 404
