"""Members: role changes, removal, leaving and ownership transfer, with at least one owner kept."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db


def membership(user, store):
    return Membership.objects.get(user=user, store=store)


def test_owner_changes_role(client, owner, viewer, store):
    client.force_login(owner)

    response = client.post(reverse("accounts:change_role", args=[store.slug, membership(viewer, store).id]), {"role": "analyst"})

    event = AuditEvent.objects.get(event_type="role_changed")
    assert response.status_code == 302
    assert membership(viewer, store).role == "analyst"
    assert event.details == {"member": viewer.email, "old_role": "viewer", "new_role": "analyst"}
    assert event.actor == owner


def test_invalid_role_rejected(client, owner, viewer, store):
    client.force_login(owner)

    client.post(reverse("accounts:change_role", args=[store.slug, membership(viewer, store).id]), {"role": "admin"})

    assert membership(viewer, store).role == "viewer"


def test_last_owner_cannot_demote_self(client, owner, store):
    client.force_login(owner)

    client.post(reverse("accounts:change_role", args=[store.slug, membership(owner, store).id]), {"role": "viewer"})

    assert membership(owner, store).role == "owner"


def test_one_of_two_owners_can_step_down(client, owner, analyst, store):
    Membership.objects.filter(user=analyst).update(role="owner")
    client.force_login(owner)

    response = client.post(reverse("accounts:change_role", args=[store.slug, membership(owner, store).id]), {"role": "viewer"})

    assert response.url == reverse("traffic:report", args=[store.slug])
    assert membership(owner, store).role == "viewer"


def test_owner_removes_member(client, owner, analyst, store):
    client.force_login(owner)

    client.post(reverse("accounts:remove_member", args=[store.slug, membership(analyst, store).id]))

    assert not Membership.objects.filter(user=analyst, store=store).exists()
    assert AuditEvent.objects.filter(event_type="member_removed", details__member=analyst.email).exists()


def test_removed_member_gets_404_at_once(client, owner, analyst, store):
    client.force_login(analyst)
    assert client.get(reverse("traffic:uploads", args=[store.slug])).status_code == 200
    Membership.objects.get(user=analyst, store=store).delete()

    assert client.get(reverse("traffic:uploads", args=[store.slug])).status_code == 404


def test_last_owner_cannot_be_removed(client, owner, store):
    client.force_login(owner)

    client.post(reverse("accounts:remove_member", args=[store.slug, membership(owner, store).id]))

    assert membership(owner, store).role == "owner"


def test_member_leaves_store(client, viewer, store):
    client.force_login(viewer)

    response = client.post(reverse("accounts:leave_store", args=[store.slug]))

    assert response.status_code == 302
    assert not Membership.objects.filter(user=viewer, store=store).exists()
    assert AuditEvent.objects.filter(event_type="member_left", actor=viewer, store=store).exists()
    assert client.get(reverse("traffic:report", args=[store.slug])).status_code == 404


def test_last_owner_cannot_leave(client, owner, store):
    client.force_login(owner)

    response = client.post(reverse("accounts:leave_store", args=[store.slug]), follow=True, headers={"Accept-Language": "en"})

    messages = [str(message) for message in response.context["messages"]]
    assert membership(owner, store).role == "owner"
    assert any(store.name in message and message.startswith("You are the only owner") for message in messages)


def test_transfer_ownership(client, owner, analyst, store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:transfer_ownership", args=[store.slug]),
        {"new_owner": membership(analyst, store).id, "my_new_role": "viewer"},
    )

    assert response.status_code == 302
    assert membership(analyst, store).role == "owner"
    assert membership(owner, store).role == "viewer"
    assert Membership.objects.filter(store=store, role="owner").count() == 1
    event = AuditEvent.objects.get(event_type="ownership_transferred")
    assert event.details["to"] == analyst.email


def test_transfer_to_other_store_member_rejected(client, owner, outsider, store, other_store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:transfer_ownership", args=[store.slug]),
        {"new_owner": membership(outsider, other_store).id, "my_new_role": "analyst"},
    )

    assert response.status_code == 400
    assert membership(owner, store).role == "owner"
    assert membership(outsider, other_store).role == "owner"


def test_transfer_cannot_keep_owner_role_choice(client, owner, analyst, store):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:transfer_ownership", args=[store.slug]),
        {"new_owner": membership(analyst, store).id, "my_new_role": "owner"},
    )

    assert response.status_code == 400
    assert membership(analyst, store).role == "analyst"


def test_owner_cannot_touch_other_store_membership(client, owner, outsider, store, other_store):
    client.force_login(owner)
    other = membership(outsider, other_store)

    change = client.post(reverse("accounts:change_role", args=[store.slug, other.id]), {"role": "viewer"})
    remove = client.post(reverse("accounts:remove_member", args=[store.slug, other.id]))

    assert change.status_code == 404
    assert remove.status_code == 404
    assert membership(outsider, other_store).role == "owner"


def test_members_page_lists_members(client, owner, analyst, viewer, store, outsider):
    client.force_login(owner)

    html = client.get(reverse("accounts:members", args=[store.slug])).content.decode()

    assert owner.email in html
    assert analyst.email in html
    assert viewer.email in html
    assert outsider.email not in html


def test_store_switcher_lists_every_store(client, owner, store, other_store):
    Membership.objects.create(user=owner, store=other_store, role="viewer")
    client.force_login(owner)

    stores_page = client.get(reverse("accounts:stores")).content.decode()
    report = client.get(reverse("traffic:report", args=[other_store.slug]))

    assert store.name in stores_page
    assert other_store.name in stores_page
    assert report.status_code == 200
    assert client.session["current_store_slug"] == other_store.slug
