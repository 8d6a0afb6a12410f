"""Who may open benchmark pages: members see their store, outsiders get 404, staff pages need staff."""

import pytest
from django.urls import reverse

from tests.benchmark_fixtures import make_cohort, recompute

pytestmark = pytest.mark.django_db

STORE_PAGES = [
    ("benchmarks:comparison", "get"),
    ("benchmarks:export_csv", "get"),
    ("benchmarks:export_xlsx", "get"),
    ("benchmarks:sharing", "post"),
]
STAFF_PAGES = [
    ("benchmarks:staff_home", {}, "get"),
    ("benchmarks:staff_industries", {}, "get"),
    ("benchmarks:staff_industry", {"industry_id": "industry"}, "get"),
    ("benchmarks:staff_stores", {}, "get"),
    ("benchmarks:staff_method", {}, "get"),
    ("benchmarks:staff_recompute", {}, "get"),
    ("benchmarks:staff_run", {"run_id": "run"}, "get"),
    ("benchmarks:staff_run_publish", {"run_id": "run"}, "post"),
    ("benchmarks:staff_snapshots", {}, "get"),
    ("benchmarks:staff_snapshot", {"snapshot_id": "snapshot"}, "get"),
    ("benchmarks:staff_snapshot_publish", {"snapshot_id": "snapshot"}, "post"),
    ("benchmarks:staff_snapshot_unpublish", {"snapshot_id": "snapshot"}, "post"),
    ("benchmarks:staff_peer_figures", {}, "get"),
    ("benchmarks:staff_unmapped", {}, "get"),
]


@pytest.fixture
def staff_objects(industry):
    make_cohort(industry, 3, slug_prefix="access")
    run = recompute(publish=False)
    return {"industry": industry.pk, "run": run.pk, "snapshot": run.snapshots.first().pk}


def staff_url(name, kwargs, objects):
    return reverse(name, kwargs={key: objects[value] for key, value in kwargs.items()})


@pytest.mark.parametrize(("name", "method"), STORE_PAGES)
def test_store_pages_hide_store_from_outsider(client, outsider, store, name, method):
    client.force_login(outsider)

    response = getattr(client, method)(reverse(name, args=[store.slug]))

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method"), STORE_PAGES)
def test_store_pages_send_anonymous_to_login(client, store, name, method):
    response = getattr(client, method)(reverse(name, args=[store.slug]))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_viewer_cannot_change_sharing(client, viewer, store):
    client.force_login(viewer)

    response = client.post(reverse("benchmarks:sharing", args=[store.slug]), {"contributes": ""})

    assert response.status_code == 403


def test_staff_outsider_gets_404(client, store, django_user_model):
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(reverse("benchmarks:comparison", args=[store.slug]))

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "kwargs", "method"), STAFF_PAGES)
def test_staff_pages_forbid_non_staff(client, owner, staff_objects, name, kwargs, method):
    client.force_login(owner)

    response = getattr(client, method)(staff_url(name, kwargs, staff_objects))

    assert response.status_code == 403


@pytest.mark.parametrize(("name", "kwargs", "method"), STAFF_PAGES)
def test_staff_pages_send_anonymous_to_login(client, staff_objects, name, kwargs, method):
    response = getattr(client, method)(staff_url(name, kwargs, staff_objects))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(("name", "kwargs", "method"), [page for page in STAFF_PAGES if page[2] == "get"])
def test_staff_pages_open_for_staff(client, staff_objects, django_user_model, name, kwargs, method):
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(staff_url(name, kwargs, staff_objects))

    assert response.status_code == 200


def test_api_hides_other_store(client, outsider, store):
    client.force_login(outsider)

    response = client.get(f"/api/v1/stores/{store.slug}/benchmarks")

    assert response.status_code == 404


def test_api_needs_credentials(client, store):
    response = client.get(f"/api/v1/stores/{store.slug}/benchmarks")

    assert response.status_code == 401
