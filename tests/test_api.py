import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.helpers import add_figure, make_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(store):
    upload = make_upload(store)
    add_figure(upload, "search", 205, 4, 2, Decimal("0.029268"))
    add_figure(upload, "search", 70, 3, 1, Decimal("0.057143"), sub_source="text_search")
    add_figure(upload, "direct", None, None, None, None)
    add_figure(upload, "search", 100, 1, 1, None, period_start=datetime.date(2026, 11, 1))
    add_figure(upload, "search", 999, 1, 1, None, terminal="pc")
    return upload


def api_url(store, query=""):
    return reverse("api:traffic", args=[store.slug]) + query


def test_api_returns_rows(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(api_url(store, "?granularity=day&start=2026-11-02&end=2026-11-03"))

    body = response.json()
    assert response.status_code == 200
    assert body["store"] == "solar"
    assert body["granularity"] == "day"
    assert body["terminal"] == "all"
    assert body["region"] == "all"
    assert body["rows"] == [
        {"period_start": "2026-11-03", "source": "direct", "sub_source": None, "raw_label": None,
         "visitors": None, "inquiry_customers": None, "tm_customers": None, "feedback_conversion_rate": None},
        {"period_start": "2026-11-03", "source": "search", "sub_source": None, "raw_label": None,
         "visitors": 205, "inquiry_customers": 4, "tm_customers": 2, "feedback_conversion_rate": 0.029268},
        {"period_start": "2026-11-03", "source": "search", "sub_source": "text_search", "raw_label": None,
         "visitors": 70, "inquiry_customers": 3, "tm_customers": 1, "feedback_conversion_rate": 0.057143},
    ]


def test_api_filters_terminal(client, owner, store, figures):
    client.force_login(owner)

    body = client.get(api_url(store, "?terminal=pc")).json()

    assert [row["visitors"] for row in body["rows"]] == [999]


def test_api_rejects_bad_parameters(client, owner, store, figures):
    client.force_login(owner)

    bad_terminal = client.get(api_url(store, "?terminal=tablet"))
    bad_date = client.get(api_url(store, "?start=2026-13-01"))

    assert bad_terminal.status_code == 400
    assert "terminal" in bad_terminal.json()["error"]
    assert bad_date.status_code == 400
    assert "2026-13-01" in bad_date.json()["error"]


def test_api_anonymous_gets_401(client, store, figures):
    response = client.get(api_url(store))

    assert response.status_code == 401


def test_api_outsider_gets_404(client, outsider, store, figures):
    client.force_login(outsider)

    response = client.get(api_url(store))

    assert response.status_code == 404


def test_api_unknown_store_gets_404(client, owner):
    client.force_login(owner)

    response = client.get("/api/v1/stores/no-such-store/traffic")

    assert response.status_code == 404
