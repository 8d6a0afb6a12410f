import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.access import SESSION_STORE_KEY
from tests.helpers import add_figure, make_upload
from traffic.models import Upload

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 3)


@pytest.fixture
def figures(store):
    upload = make_upload(store)
    add_figure(upload, "search", 205, 4, 2, Decimal("0.0293"))
    add_figure(upload, "search", 70, 3, 1, Decimal("0.0571"), sub_source="text_search")
    add_figure(upload, "other", 5, 0, 0, None, raw_label="Live stream")
    add_figure(upload, "direct", None, None, None, None)
    add_figure(upload, "total", 700, 9, 4, Decimal("0.0186"))
    add_figure(upload, "search", 100, 1, 1, None, period_start=DAY - datetime.timedelta(days=1))
    return upload


def report_url(store, **params):
    url = reverse("traffic:report", args=[store.slug])
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def test_report_shows_category_and_sub_source(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", period="2026-11-03"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-source="search" data-sub-source="text_search"' in html
    assert "205" in html
    assert "2.93%" in html
    assert "5.71%" in html
    assert "Live stream" in html


def _category(response, source):
    return next(row for row in response.context["report"].categories if row.source == source)


def test_report_shows_missing_figures_as_dash(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", period="2026-11-03"))

    direct = _category(response, "direct")
    assert direct.has_data is False
    assert direct.current.visitors is None
    assert "—" in response.content.decode()


def test_report_shows_store_total(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", period="2026-11-03"))

    assert response.context["report"].total.current.visitors == 700
    assert _category(response, "search").share == Decimal("0.2929")  # 205 / 700


def test_report_defaults_to_newest_period_with_data(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day"))

    filters = response.context["filters"]
    assert filters.preset == "latest"
    assert filters.periods == [DAY]


def test_report_period_without_data_offers_latest(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", period="2020-01-01"))

    assert not response.context["report"].has_data
    assert "range=latest" in response.content.decode()


def test_report_chart_data_in_json_script(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", period="2026-11-03"))

    chart = response.context["report"].chart
    assert chart["labels"][-2:] == ["2026-11-02", "2026-11-03"]
    search = next(series for series in chart["datasets"] if series["key"] == "search")
    assert search["data"][-2:] == [100, 205]
    html = response.content.decode()
    assert 'id="chart-data" type="application/json"' in html
    assert "<script>" not in html


def test_report_filters_by_terminal(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", terminal="pc"))

    assert response.context["report"].has_data is False
    assert response.context["filters"].periods == []


def test_period_labels_by_granularity():
    from traffic.dimensions import period_label

    assert period_label("day", DAY) == "2026-11-03"
    assert period_label("week", datetime.date(2026, 11, 2)) == "2026-11-02 ~ 2026-11-08"
    assert period_label("month", datetime.date(2026, 10, 1)) == "2026-10"


def test_report_htmx_returns_partial(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day"), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report-body">')
    assert "<html" not in html
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_report_remembers_store_for_home(client, owner, store, figures):
    client.force_login(owner)
    client.get(report_url(store))

    response = client.get(reverse("traffic:home"))

    assert client.session[SESSION_STORE_KEY] == store.slug
    assert response.url == report_url(store)


def test_report_outsider_gets_404(client, outsider, store, figures):
    client.force_login(outsider)

    response = client.get(report_url(store))

    assert response.status_code == 404


def test_report_anonymous_redirects_to_login(client, store):
    response = client.get(report_url(store))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_report_query_count_constant(client, owner, store, figures, django_assert_max_num_queries):
    client.force_login(owner)
    upload = make_upload(store, "more.csv")
    for day in range(1, 40):
        add_figure(upload, "search", day, period_start=DAY - datetime.timedelta(days=day + 1))

    # The first page saves the session (the remembered store); later pages only read.
    client.get(report_url(store, granularity="day"))
    with django_assert_max_num_queries(7):
        client.get(report_url(store, granularity="day"))


def test_home_without_store(client, db):
    from accounts.models import User

    user = User.objects.create_user(email="lonely@example.com", password="x")
    client.force_login(user)

    response = client.get(reverse("traffic:home"))

    assert response.status_code == 200
    assert "traffic/no_store.html" in [template.name for template in response.templates]


def test_store_switcher_lists_only_own_stores(client, owner, store, other_store):
    client.force_login(owner)

    response = client.get(report_url(store))

    assert [item.slug for item in response.context["user_stores"]] == [store.slug]
    assert other_store.name not in response.content.decode()


def test_report_htmx_pushes_shown_filters(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(report_url(store, granularity="day", range="nonsense"), headers={"HX-Request": "true"})

    assert response["HX-Push-Url"] == report_url(store, granularity="day", range="latest", terminal="all", region="all")
