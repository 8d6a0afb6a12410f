"""Invitations: sending, accepting as a new or an existing user, expiry, withdrawal and reuse."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import actions
from accounts.models import AuditEvent, Invitation, Membership, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and new passphrase"


def invite(client, store, email="new@example.com", role="analyst"):
    return client.post(reverse("accounts:invite", args=[store.slug]), {"email": email, "role": role})


def link_from_mail():
    return re.search(r"http://testserver(/accounts/invitations/\S+/)", mail.outbox[-1].body).group(1)


def test_owner_invites_by_email(client, owner, store):
    client.force_login(owner)

    response = invite(client, store)

    invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert invitation.email == "new@example.com"
    assert invitation.role == "analyst"
    assert invitation.invited_by == owner
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert store.name in mail.outbox[0].subject
    assert AuditEvent.objects.filter(store=store, event_type="invitation_sent", actor=owner).exists()


def test_link_token_is_not_stored(client, owner, store):
    client.force_login(owner)
    invite(client, store)

    token = link_from_mail().rstrip("/").rsplit("/", 1)[1]

    assert token not in Invitation.objects.get().token_hash


def test_invite_existing_member_rejected(client, owner, analyst, store):
    client.force_login(owner)

    response = invite(client, store, email="ANALYST@example.com")

    assert response.status_code == 400
    assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_new_user_accepts_with_name_and_password(client, owner, store):
    client.force_login(owner)
    invite(client, store)
    client.logout()
    link = link_from_mail()

    page = client.get(link)
    response = client.post(link, {"name": "Li Lei", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    user = User.objects.get(email="new@example.com")
    assert page.status_code == 200
    assert response.status_code == 302
    assert response.url == reverse("traffic:report", args=[store.slug])
    assert user.first_name == "Li Lei"
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, store=store).role == "analyst"
    assert int(client.session["_auth_user_id"]) == user.id
    assert Invitation.objects.get().accepted_by == user
    assert AuditEvent.objects.filter(event_type="invitation_accepted", actor=user, store=store).exists()


def test_new_user_weak_password_rejected(client, owner, store):
    client.force_login(owner)
    invite(client, store)
    client.logout()

    response = client.post(link_from_mail(), {"name": "Li Lei", "password1": "12345678", "password2": "12345678"})

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(email="new@example.com").exists()


def test_existing_user_logs_in_then_accepts(client, owner, outsider, store):
    client.force_login(owner)
    invite(client, store, email=outsider.email, role="viewer")
    client.logout()
    link = link_from_mail()

    anonymous = client.get(link)
    login = client.post(f"{reverse('accounts:login')}?next={link}", {"username": outsider.email, "password": PASSWORD, "next": link})
    accepted = client.post(link)

    assert "login_first" in anonymous.context
    assert login.status_code == 302
    assert login.url == link
    assert accepted.status_code == 302
    assert Membership.objects.get(user=outsider, store=store).role == "viewer"


def test_other_logged_in_user_cannot_accept(client, owner, analyst, store):
    client.force_login(owner)
    invite(client, store, email="someone@example.com")
    link = link_from_mail()
    client.force_login(analyst)

    response = client.post(link)

    assert response.status_code == 403
    assert Invitation.objects.get().accepted_at is None


def test_expired_invitation_rejected(client, owner, store):
    invitation, token = actions.create_invitation(store, "late@example.com", "viewer", owner)
    Invitation.objects.filter(id=invitation.id).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = client.post(
        reverse("accounts:invitation", args=[token]), {"name": "Late", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 410
    assert response.context["reason"] == "expired"
    assert not User.objects.filter(email="late@example.com").exists()


def test_invitation_expires_after_setting(owner, store, settings):
    settings.INVITATION_MAX_AGE_DAYS = 3

    invitation, _token = actions.create_invitation(store, "a@example.com", "viewer", owner)

    lifetime = invitation.expires_at - invitation.created_at
    assert datetime.timedelta(days=3) - datetime.timedelta(seconds=5) < lifetime <= datetime.timedelta(days=3)


def test_accepted_invitation_cannot_be_reused(client, owner, store):
    _invitation, token = actions.create_invitation(store, "new@example.com", "viewer", owner)
    url = reverse("accounts:invitation", args=[token])
    client.post(url, {"name": "Li", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.logout()

    response = client.get(url)

    assert response.status_code == 410
    assert response.context["reason"] == "accepted"


def test_withdrawn_invitation_rejected(client, owner, store):
    invitation, token = actions.create_invitation(store, "new@example.com", "viewer", owner)
    client.force_login(owner)
    client.post(reverse("accounts:revoke_invitation", args=[store.slug, invitation.id]))
    client.logout()

    response = client.get(reverse("accounts:invitation", args=[token]))

    assert response.status_code == 410
    assert response.context["reason"] == "revoked"
    assert AuditEvent.objects.filter(event_type="invitation_revoked", store=store).exists()


def test_new_invitation_replaces_pending_one(owner, store):
    first, first_token = actions.create_invitation(store, "new@example.com", "viewer", owner)
    actions.create_invitation(store, "New@Example.com", "analyst", owner)

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert actions.find_invitation(first_token).is_pending is False


def test_unknown_token_is_404(client, db):
    response = client.get(reverse("accounts:invitation", args=["not-a-token"]))

    assert response.status_code == 404


def test_members_page_lists_pending_invitations(client, owner, store):
    actions.create_invitation(store, "pending@example.com", "viewer", owner)
    expired, _token = actions.create_invitation(store, "old@example.com", "viewer", owner)
    Invitation.objects.filter(id=expired.id).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    client.force_login(owner)

    response = client.get(reverse("accounts:members", args=[store.slug]))

    html = response.content.decode()
    assert "pending@example.com" in html
    assert "old@example.com" not in html


def test_invitation_mail_failure_shows_link(client, owner, store, settings):
    settings.EMAIL_BACKEND = "tests.test_accounts_invitations.FailingBackend"
    client.force_login(owner)

    response = invite(client, store)

    page = client.get(response.url)
    assert Invitation.objects.count() == 1
    assert "/accounts/invitations/" in page.content.decode()


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")
