import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from traffic.models import LabelMapping, TrafficFigure, Upload

pytestmark = pytest.mark.django_db

REPORT = (
    "流量来源,时间周期2026-11-02~2026-11-08\n"
    "流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n"
    "导购会场,100,3,2\n"
    "直播会场,40,1,0\n"
)


@pytest.fixture
def staff(db):
    return User.objects.create_user(email="staff@example.com", password="x", is_staff=True)


def import_report(client, user, store, capture, text=REPORT, name="report.csv"):
    client.force_login(user)
    with capture(execute=True):
        client.post(reverse("traffic:uploads", args=[store.slug]), {"files": [SimpleUploadedFile(name, text.encode())]})
    return Upload.objects.latest("id")


def map_label(client, staff, label="直播会场", source="venue", sub_source="live_venue"):
    client.force_login(staff)
    return client.post(reverse("traffic:label_mappings"), {"raw_label": label, "source": source, "sub_source": sub_source})


def test_unknown_label_kept_as_other(client, owner, store, django_capture_on_commit_callbacks):
    upload = import_report(client, owner, store, django_capture_on_commit_callbacks)

    figure = TrafficFigure.objects.get(raw_label="直播会场")
    assert (figure.source, figure.sub_source, figure.visitors) == ("other", "", 40)
    assert any(message["level"] == "warning" and message["value"] == "直播会场" for message in upload.messages)


def test_mapping_moves_past_figures(client, owner, staff, store, django_capture_on_commit_callbacks):
    import_report(client, owner, store, django_capture_on_commit_callbacks)

    response = map_label(client, staff)

    figure = TrafficFigure.objects.get(visitors=40)
    assert response.status_code == 302
    assert (figure.source, figure.sub_source, figure.raw_label) == ("venue", "live_venue", "")
    assert LabelMapping.objects.get().label == "直播会场"


def test_mapping_applies_to_later_imports(client, owner, staff, store, django_capture_on_commit_callbacks):
    map_label(client, staff, label="直播会场")
    later = REPORT.replace("2026-11-02~2026-11-08", "2026-11-09~2026-11-15").replace("直播会场", "直播会场 ")

    upload = import_report(client, owner, store, django_capture_on_commit_callbacks, text=later)

    figure = TrafficFigure.objects.get(visitors=40)
    assert (figure.source, figure.sub_source, figure.period_start) == ("venue", "live_venue", datetime.date(2026, 11, 9))
    assert not [message for message in upload.messages if message["level"] == "warning"]


def test_mapping_leaves_figure_when_key_taken(client, owner, staff, store, django_capture_on_commit_callbacks):
    text = REPORT.replace("直播会场,40,1,0", "大促会场,30,1,0\nPromo venue 2,40,1,0")
    import_report(client, owner, store, django_capture_on_commit_callbacks, text=text)

    map_label(client, staff, label="Promo venue 2", sub_source="promotion_venue")

    assert TrafficFigure.objects.get(visitors=30).sub_source == "promotion_venue"
    assert TrafficFigure.objects.get(visitors=40).raw_label == "Promo venue 2"


def test_mapping_page_lists_unmapped(client, owner, staff, store, django_capture_on_commit_callbacks):
    import_report(client, owner, store, django_capture_on_commit_callbacks)
    client.force_login(staff)

    response = client.get(reverse("traffic:label_mappings"))

    assert [row["raw_label"] for row in response.context["unmapped"]] == ["直播会场"]
    assert response.context["unmapped"][0]["visitors"] == 40


def test_mapping_rejects_bad_code(client, owner, staff, store, django_capture_on_commit_callbacks):
    import_report(client, owner, store, django_capture_on_commit_callbacks)

    map_label(client, staff, sub_source="not a code!")

    assert not LabelMapping.objects.exists()
    assert TrafficFigure.objects.get(visitors=40).raw_label == "直播会场"


def test_mapping_page_needs_staff(client, owner):
    client.force_login(owner)

    get = client.get(reverse("traffic:label_mappings"))
    post = client.post(reverse("traffic:label_mappings"), {"raw_label": "x", "source": "venue", "sub_source": "y"})

    assert get.status_code == 403
    assert post.status_code == 403
    assert not LabelMapping.objects.exists()


def test_mapping_page_anonymous_redirects(client):
    response = client.get(reverse("traffic:label_mappings"))

    assert response.status_code == 302
