"""Login, logout, throttling, sessions, password reset and change, and deactivation."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, Membership
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def log_in(client, email, password=PASSWORD, address="10.0.0.1", language="en"):
    return client.post(
        LOGIN_URL,
        {"username": email, "password": password},
        REMOTE_ADDR=address,
        headers={"Accept-Language": language},
    )


def test_login_success_redirects_home(client, owner):
    response = log_in(client, owner.email)

    assert response.status_code == 302
    assert response.url == reverse("traffic:home")


def test_login_cycles_session_key(client, owner):
    client.get(LOGIN_URL)
    client.session["marker"] = "before"
    session = client.session
    session.save()
    before = session.session_key

    log_in(client, owner.email)

    assert client.session.session_key != before


def test_logout_ends_session(client, owner, store):
    log_in(client, owner.email)
    old_key = client.session.session_key

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert not client.session.get("_auth_user_id")
    from django.contrib.sessions.models import Session
    assert not Session.objects.filter(session_key=old_key).exists()
    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 302


def test_session_timeout_settings():
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert settings.SESSION_REFRESH_SECONDS == 5 * 60
    assert settings.SESSION_COOKIE_AGE == 2 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_session_saved_once_per_refresh_interval(client, owner, store):
    from django.contrib.sessions.models import Session

    from accounts.middleware import REFRESHED_AT

    page = reverse("traffic:report", args=[store.slug])
    client.force_login(owner)
    client.get(page)
    session = Session.objects.get(session_key=client.session.session_key)
    first_expiry = session.expire_date

    client.get(page)
    assert Session.objects.get(pk=session.pk).expire_date == first_expiry  # saved a moment ago: not again

    stored = client.session
    stored[REFRESHED_AT] -= settings.SESSION_REFRESH_SECONDS
    stored.save()
    saved_expiry = Session.objects.get(pk=session.pk).expire_date
    client.get(page)
    assert Session.objects.get(pk=session.pk).expire_date >= saved_expiry
    assert client.session[REFRESHED_AT] > stored[REFRESHED_AT]


def test_anonymous_request_creates_no_session(client):
    from django.contrib.sessions.models import Session

    client.get(reverse("accounts:login"))

    assert not Session.objects.exists()


def test_password_hasher_is_argon2_in_production_settings():
    import config.settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_failed_login_writes_audit_event(client, owner):
    log_in(client, owner.email, password="wrong password", address="10.0.0.7")

    event = AuditEvent.objects.get(event_type=AuditEvent.Type.LOGIN_FAILED)
    assert event.details == {"email": owner.email}
    assert event.ip_address == "10.0.0.7"
    assert "wrong password" not in str(event.details)


def test_lockout_after_failure_limit(client, owner):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, owner.email, password="wrong password")
    lockouts_at_limit = AuditEvent.objects.filter(event_type=AuditEvent.Type.LOCKED_OUT).count()

    response = log_in(client, owner.email)

    assert lockouts_at_limit == 1
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_message_in_chinese(client, owner):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, owner.email, password="wrong password", language="zh-CN")

    response = log_in(client, owner.email, language="zh-CN")

    with translation.override("zh-hans"):
        expected = translation.gettext("Too many failed logins")
    assert response.status_code == 429
    assert '<html lang="zh-hans">' in response.content.decode()
    assert expected in response.content.decode()


def test_lockout_keyed_on_username_and_address(client, owner, analyst):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, owner.email, password="wrong password", address="10.0.0.1")

    from_elsewhere = log_in(client, owner.email, address="10.0.0.2")
    client.logout()
    other_user_same_address = log_in(client, analyst.email, address="10.0.0.1")

    assert from_elsewhere.status_code == 302
    assert other_user_same_address.status_code == 302


def test_deactivated_user_loses_access_at_once(client, owner, store):
    client.force_login(owner)
    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 200

    owner.is_active = False
    owner.save(update_fields=["is_active"])
    response = client.get(reverse("traffic:report", args=[store.slug]))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_deactivated_user_cannot_log_in(client, owner):
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    response = log_in(client, owner.email)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_removed_member_loses_access_at_once(client, analyst, store):
    client.force_login(analyst)
    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 200

    Membership.objects.filter(user=analyst, store=store).delete()

    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 404


def test_password_reset_sends_link_that_sets_password(client, owner):
    response = client.post(reverse("accounts:password_reset"), {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1

    link = re.search(r"https?://testserver(\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a fresh passphrase 42", "new_password2": "a fresh passphrase 42"})

    assert done.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a fresh passphrase 42")


def test_password_reset_unknown_address_sends_nothing(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_password_change_validates_and_keeps_session(client, owner):
    client.force_login(owner)

    weak = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    strong = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "another long passphrase", "new_password2": "another long passphrase"},
    )

    assert weak.status_code == 200
    assert weak.context["form"].errors["new_password2"]
    assert strong.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another long passphrase")
    assert client.get(reverse("accounts:stores")).status_code == 200


def test_login_page_has_reset_link(client, db):
    response = client.get(LOGIN_URL)

    assert reverse("accounts:password_reset") in response.content.decode()
