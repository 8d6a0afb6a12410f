"""The traffic page's figures for each filter, checked against hand-computed values."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.helpers import add_figure, make_upload
from traffic.models import TrafficFigure
from traffic.report.figures import DERIVED_DAYS, DERIVED_LABELS, DERIVED_RANGE, DERIVED_TERMINALS, PARTIAL

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 2)
WEEK = [MONDAY + datetime.timedelta(days=offset) for offset in range(7)]


def url(store, view="traffic:report", **params):
    path = reverse(view, args=[store.slug])
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{path}?{query}" if query else path


@pytest.fixture
def week_of_days(store):
    """Search has 10..16 visitors on Monday..Sunday, 1 inquiry and 0 TM customers a day; the total is 20 a day."""
    upload = make_upload(store)
    for offset, day in enumerate(WEEK):
        add_figure(upload, "search", 10 + offset, 1, 0, period_start=day)
        add_figure(upload, "search", 5, 1, 0, sub_source="text_search", period_start=day)
        add_figure(upload, "direct", 4, 0, 1, period_start=day)
        add_figure(upload, "total", 20, 1, 1, period_start=day)
    return upload


def row(response, source, sub_source=""):
    report = response.context["report"]
    for category in report.categories:
        if category.source == source and not sub_source:
            return category
        for child in category.children:
            if child.source == source and child.sub_source == sub_source:
                return child
    raise AssertionError(f"no row {source}.{sub_source}")


def test_single_day_shows_uploaded_figures(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"))

    search = row(response, "search")
    assert search.current.visitors == 11
    assert search.current.note("visitors") == frozenset()
    assert search.current.feedback_conversion_rate == Decimal("0.090909")  # (1 + 0) / 11, by the formula
    assert search.share == Decimal("0.5500")  # 11 of the store total 20
    assert response.context["report"].share_basis == "total"


def test_running_week_left_out_of_range(client, owner, store, week_of_days, monkeypatch):
    # On Wednesday November 11 the week of November 9 is still running.
    monkeypatch.setattr("traffic.views.store_today", lambda store: datetime.date(2026, 11, 11))
    client.force_login(owner)

    response = client.get(url(store, granularity="week", range="last_7_days"), headers={"Accept-Language": "en"})

    assert response.context["filters"].periods == [MONDAY]
    assert response.context["report"].periods_with_data == 1
    assert "Periods that have not ended yet are left out, so the range ends on 2026-11-08." in response.content.decode()


def test_share_ignores_total_missing_a_day(client, owner, store, week_of_days):
    TrafficFigure.objects.filter(source="total", period_start=WEEK[-1]).delete()
    client.force_login(owner)

    response = client.get(url(store, granularity="week", period="2026-11-02"))

    report = response.context["report"]
    assert report.share_basis == "categories_incomplete_total"
    # Search 10 + 11 + ... + 16 = 91 of the categories' 91 + 7 × 4 = 119, not of the six days' total of 120.
    assert row(response, "search").share == Decimal("0.7647")
    assert report.total.share is None


def test_custom_range_sums_days_and_marks_them(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", range="custom", start="2026-11-02", end="2026-11-03"))

    search = row(response, "search")
    assert search.current.visitors == 21  # 10 + 11
    assert search.current.inquiry_customers == 2
    assert search.current.note("visitors") == frozenset({DERIVED_RANGE})
    # (2 + 0) / 21, recomputed from the sums
    assert search.current.feedback_conversion_rate == Decimal("0.095238")
    assert response.context["report"].total.current.visitors == 40
    assert 'class="mark"' in response.content.decode()
    # A tap on a mark leads to its explanation in the legend.
    assert '<a href="#derived-legend"' in response.content.decode()
    assert 'id="derived-legend"' in response.content.decode()


def test_week_derived_from_its_days(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="week", period="2026-11-02"))

    search = row(response, "search")
    assert search.current.visitors == 91  # 10 + 11 + ... + 16
    assert DERIVED_DAYS in search.current.note("visitors")
    assert DERIVED_RANGE not in search.current.note("visitors")


def test_uploaded_week_beats_its_days(client, owner, store, week_of_days):
    upload = make_upload(store, "week.csv")
    add_figure(upload, "search", 80, 6, 1, Decimal("0.0875"), granularity="week", period_start=MONDAY)
    client.force_login(owner)

    response = client.get(url(store, granularity="week", period="2026-11-02"))

    search = row(response, "search")
    assert search.current.visitors == 80
    assert search.current.feedback_conversion_rate == Decimal("0.0875")
    assert search.current.note("visitors") == frozenset()


def test_week_with_a_missing_day_is_not_derived(client, owner, store):
    upload = make_upload(store)
    for day in WEEK[:6]:
        add_figure(upload, "search", 10, period_start=day)
    client.force_login(owner)

    response = client.get(url(store, granularity="week", period="2026-11-02"))

    assert not response.context["report"].has_data
    assert "—" not in response.context["report"].comparisons.values()


def test_all_terminals_derived_from_pc_and_wireless(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 30, 2, 1, terminal="pc")
    add_figure(upload, "search", 50, 1, 1, terminal="wireless")
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03", terminal="all"))

    search = row(response, "search")
    assert search.current.visitors == 80
    assert search.current.note("visitors") == frozenset({DERIVED_TERMINALS})
    assert search.current.feedback_conversion_rate == Decimal("0.062500")  # (3 + 2) / 80


def test_terminal_and_region_filters(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 100, terminal="all", region="all")
    add_figure(upload, "search", 30, terminal="pc", region="all")
    add_figure(upload, "search", 25, terminal="pc", region="exclude_cn")
    add_figure(upload, "search", 90, terminal="all", region="exclude_cn")
    client.force_login(owner)

    cases = [("all", "all", 100), ("pc", "all", 30), ("pc", "exclude_cn", 25), ("all", "exclude_cn", 90)]
    for terminal, region, expected in cases:
        response = client.get(url(store, granularity="day", period="2026-11-03", terminal=terminal, region=region))
        assert row(response, "search").current.visitors == expected, (terminal, region)


def test_wireless_without_data_is_empty(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", terminal="wireless"))

    html = response.content.decode()
    assert not response.context["report"].has_data
    assert 'id="no-data"' in html
    assert "range=latest" not in html[html.index('id="no-data"'):].split("</section>")[0]


def test_empty_range_links_to_latest_period(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-10-01"))

    assert not response.context["report"].has_data
    assert response.context["latest_with_data"] == WEEK[-1]
    assert "range=latest" in response.content.decode()


def test_share_of_categories_without_total(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 30)
    add_figure(upload, "direct", 10)
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"))

    assert response.context["report"].share_basis == "categories"
    assert row(response, "search").share == Decimal("0.7500")
    assert response.context["report"].total is None


def test_change_on_previous_range(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", range="custom", start="2026-11-04", end="2026-11-05"))

    search = row(response, "search")
    change = search.changes["visitors:previous"]
    assert change.value == Decimal("0.1905")  # (12 + 13 - 10 - 11) / 21
    assert not change.is_points
    assert search.changes["visitors:year_before"] is None  # no data a year before
    assert response.context["report"].comparisons["previous"] == "2026-11-02 ~ 2026-11-03"


def test_change_on_year_before(client, owner, store, week_of_days):
    upload = make_upload(store, "last-year.csv")
    add_figure(upload, "search", 8, 2, 0, period_start=datetime.date(2025, 11, 3))
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"))

    change = row(response, "search").changes["visitors:year_before"]
    assert change.value == Decimal("0.3750")  # (11 - 8) / 8


def test_rate_change_in_points(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 100, 5, 0, Decimal("0.05"), period_start=datetime.date(2026, 11, 2))
    add_figure(upload, "search", 100, 7, 0, Decimal("0.07"), period_start=datetime.date(2026, 11, 3))
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"))

    change = row(response, "search").changes["feedback_conversion_rate:previous"]
    assert change.is_points
    assert change.value == Decimal("0.0200")
    assert "+2.00 pp" in response.content.decode()


def test_no_change_when_earlier_range_has_gaps(client, owner, store, week_of_days):
    client.force_login(owner)

    # 2026-10-31 and 2026-11-01 have no data.
    response = client.get(url(store, granularity="day", range="custom", start="2026-11-02", end="2026-11-03"))

    assert row(response, "search").changes["visitors:previous"] is None


def test_partial_sum_is_marked(client, owner, store, week_of_days):
    add_figure(week_of_days, "other", 3, raw_label="Live stream", period_start=MONDAY)
    client.force_login(owner)

    response = client.get(url(store, granularity="day", range="custom", start="2026-11-02", end="2026-11-03"))

    live = row(response, "other", "")
    unmapped = next(child for child in live.children if child.raw_label == "Live stream")
    assert unmapped.current.visitors == 3
    assert PARTIAL in unmapped.current.note("visitors")
    assert unmapped.current.feedback_conversion_rate is None


def test_unmapped_labels_count_under_others(client, owner, store, week_of_days):
    for day in WEEK:
        add_figure(week_of_days, "other", 2, 1, 0, period_start=day)
        add_figure(week_of_days, "other", 3, 0, 1, raw_label="Live stream", period_start=day)
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"), headers={"Accept-Language": "en"})

    others = row(response, "other")
    live = next(child for child in others.children if child.raw_label == "Live stream")
    assert others.current.visitors == 5
    assert others.current.inquiry_customers == 1
    assert others.current.tm_customers == 1
    assert others.current.feedback_conversion_rate == Decimal("0.400000")  # (1 + 1) / 5
    assert DERIVED_LABELS in others.current.note("visitors")
    assert live.current.visitors == 3
    assert live.current.note("visitors") == frozenset()
    # The day before had the same figures, so the change is computed on the added-up values.
    assert others.changes["visitors:previous"].value == 0
    assert DERIVED_LABELS in response.context["report"].reasons
    assert ">§</a>" in response.content.decode()


def test_others_of_labels_alone_in_trend(client, owner, store, week_of_days):
    for day in WEEK:
        add_figure(week_of_days, "other", 4, raw_label="Live stream", period_start=day)
        add_figure(week_of_days, "other", 1, raw_label="Trade show", period_start=day)
    client.force_login(owner)

    response = client.get(url(store, granularity="day", range="custom", start="2026-11-02", end="2026-11-08"))

    report = response.context["report"]
    others = row(response, "other")
    assert others.current.visitors == 35  # (4 + 1) a day for 7 days
    assert others.current.note("visitors") >= {DERIVED_LABELS, DERIVED_RANGE}
    dataset = next(dataset for dataset in report.chart["datasets"] if dataset["key"] == "other")
    assert dataset["data"][-7:] == [5] * 7
    mix = next(dataset for dataset in report.chart["mix"] if dataset["key"] == "other")
    assert mix["data"][-1] is not None


def test_missing_figures_show_dash_not_zero(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", None, None, None)
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03"))

    search = row(response, "search")
    assert search.current.visitors is None
    html = response.content.decode()
    cell = html.split('data-source="search"', 1)[1].split('data-metric="visitors"', 1)[1][:80]
    assert '<span class="value">—</span>' in cell


def test_sort_by_visitors_descending(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03", sort="-visitors"))

    order = [category.source for category in response.context["report"].categories]
    assert order[:2] == ["search", "direct"]
    assert 'aria-sort="descending"' in response.content.decode()


def test_sort_ascending_puts_missing_last(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-03", sort="visitors"))

    order = [category.source for category in response.context["report"].categories]
    assert order[:2] == ["direct", "search"]


def test_trend_series_and_metric(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(
        url(store, granularity="day", period="2026-11-08", metric="inquiry_customers", series="search.text_search")
    )

    chart = response.context["report"].chart
    assert chart["metric"] == "inquiry_customers"
    assert [dataset["key"] for dataset in chart["datasets"]] == ["search.text_search"]
    assert chart["labels"][-7:] == [day.isoformat() for day in WEEK]
    assert chart["datasets"][0]["data"][-7:] == [1] * 7
    assert chart["datasets"][0]["data"][0] is None  # before the first upload: missing, not 0
    html = response.content.decode()
    assert 'id="chart-data" type="application/json"' in html
    assert "<script>" not in html


def test_source_mix_shares(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-02"))

    mix = {dataset["key"]: dataset["data"][-1] for dataset in response.context["report"].chart["mix"]}
    assert mix["search"] == round(100 * 10 / 14, 2)
    assert mix["direct"] == round(100 * 4 / 14, 2)
    assert mix["venue"] is None


def test_what_changed_flags_outlier(client, owner, store):
    upload = make_upload(store)
    first = datetime.date(2026, 11, 1)
    history = [50, 52, 48, 51, 49, 50, 53, 47]
    for offset, visitors in enumerate(history + [90]):
        add_figure(upload, "search", visitors, 1, 0, period_start=first + datetime.timedelta(days=offset))
        add_figure(upload, "direct", 10, 0, 0, period_start=first + datetime.timedelta(days=offset))
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-09"))

    changes = response.context["report"].changes
    flagged = [(change.source_key, change.metric, change.direction) for change in changes]
    assert ("search", "visitors", "up") in flagged
    assert all(source != "direct" for source, _metric, _direction in flagged)
    search = next(change for change in changes if change.source_key == "search" and change.metric == "visitors")
    assert (search.low, search.high) == (47, 53)
    assert "90" in search.sentence
    assert "47" in search.sentence


def test_what_changed_needs_four_earlier_periods(client, owner, store):
    upload = make_upload(store)
    for offset, visitors in enumerate([50, 50, 50, 500]):
        add_figure(upload, "search", visitors, period_start=datetime.date(2026, 11, 1) + datetime.timedelta(days=offset))
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-04"))

    assert response.context["report"].changes == []


def test_what_changed_sentence_in_english(client, owner, store):
    upload = make_upload(store)
    for offset, visitors in enumerate([50, 51, 52, 53, 10]):
        add_figure(upload, "search", visitors, period_start=datetime.date(2026, 11, 1) + datetime.timedelta(days=offset))
    client.force_login(owner)

    response = client.get(url(store, granularity="day", period="2026-11-05"), headers={"Accept-Language": "en"})

    sentence = response.context["report"].changes[0].sentence
    assert sentence == (
        "Search: visitors fell to 10 on 2026-11-05, below the range of the previous 4 days (50 to 53)."
    )


def test_coverage_calendar_shows_gaps(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="day", range="custom", start="2026-11-01", end="2026-11-08"))

    coverage = response.context["report"].coverage
    shown = next(item for item in coverage if item.is_shown)
    days = shown.strips[0]
    assert [has_data for _start, _label, has_data in days.cells] == [False] + [True] * 7
    pc = next(item for item in coverage if item.terminal == "pc" and item.region == "all")
    assert pc.strips[0].with_data == 0
    assert response.context["report"].periods_with_data == 7


def test_latest_is_the_default_range(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store))

    filters = response.context["filters"]
    assert filters.preset == "latest"
    assert (filters.first_day, filters.last_day) == (WEEK[-1], WEEK[-1])


def test_latest_week_of_days_is_whole(client, owner, store, week_of_days):
    # The week of November 9 has every day but its Monday, so it cannot be summed from its days.
    upload = make_upload(store, "later.csv")
    for day in range(10, 16):
        add_figure(upload, "search", 7, period_start=datetime.date(2026, 11, day))
    client.force_login(owner)

    response = client.get(url(store, granularity="week", range="latest"))

    assert response.context["filters"].periods == [MONDAY]
    assert response.context["report"].has_data


def test_latest_month_without_whole_month_of_days(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="month", range="latest"))

    html = response.content.decode()
    empty_section = html[html.index('id="no-data"'):].split("</section>")[0]
    assert not response.context["report"].has_data
    assert response.context["latest_with_data"] is None
    assert "range=latest" not in empty_section


def test_granularity_defaults_to_one_with_data(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 300, granularity="month", period_start=datetime.date(2026, 10, 1))
    client.force_login(owner)

    response = client.get(url(store))

    assert response.context["filters"].granularity == "month"
    assert row(response, "search").current.visitors == 300


def test_invalid_custom_range_falls_back_with_message(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, range="custom", start="2026-11-05", end="2026-11-01"))

    html = response.content.decode()
    assert response.context["filters"].preset == "latest"
    assert 'id="filter-errors"' in html
    # The dates stay as typed, so the user can correct them.
    assert 'name="start" value="2026-11-05"' in html
    assert 'name="end" value="2026-11-01"' in html
    assert '<option value="custom" selected>' in html


def test_invalid_date_gets_one_message(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, range="custom", start="2026-02-30", end="2026-03-05"))

    errors = response.context["form"].errors
    assert list(errors) == ["start"]
    assert len(errors["start"]) == 1


def test_invalid_values_fall_back_to_defaults(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, granularity="year", terminal="tv", sort="nonsense", metric="x"))

    filters = response.context["filters"]
    assert (filters.granularity, filters.terminal, filters.sort, filters.metric) == ("day", "all", "", "visitors")


def test_htmx_history_restore_gets_whole_page(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(
        url(store, granularity="day"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    html = response.content.decode()
    assert "<html" in html
    assert 'class="topbar"' in html
    assert "HX-Push-Url" not in response
    assert "HX-History-Restore-Request" in response["Vary"]


def test_htmx_partial_pushes_canonical_url(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(
        url(store, granularity="day", period="2026-11-03", sort="-visitors"), headers={"HX-Request": "true"}
    )

    assert response.content.decode().lstrip().startswith('<div id="report-body">')
    assert "HX-Request" in response["Vary"]
    assert response["HX-Push-Url"] == url(
        store, granularity="day", range="custom", terminal="all", region="all",
        start="2026-11-03", end="2026-11-03", sort="-visitors",
    )


def test_full_page_has_filters_as_plain_get_form(client, owner, store, week_of_days):
    client.force_login(owner)

    response = client.get(url(store, range="custom", start="2026-11-02", end="2026-11-08"))

    html = response.content.decode()
    assert 'method="get"' in html
    assert 'name="range"' in html
    assert 'name="start"' in html
    expected = (
        'href="/stores/solar/?granularity=day&amp;range=custom&amp;terminal=all&amp;region=all'
        '&amp;start=2026-11-02&amp;end=2026-11-08&amp;sort=-visitors"'
    )
    assert expected in html


@pytest.mark.parametrize("view", ["traffic:report", "traffic:report_csv", "traffic:report_xlsx"])
def test_outsider_gets_404(client, outsider, store, week_of_days, view):
    client.force_login(outsider)

    response = client.get(url(store, view))

    assert response.status_code == 404


@pytest.mark.parametrize("view", ["traffic:report", "traffic:report_csv", "traffic:report_xlsx"])
def test_anonymous_redirects_to_login(client, store, view):
    response = client.get(url(store, view))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("view", ["traffic:report", "traffic:report_csv", "traffic:report_xlsx"])
def test_viewer_can_read(client, viewer, store, week_of_days, view):
    client.force_login(viewer)

    response = client.get(url(store, view))

    assert response.status_code == 200


def _grow(store, first_offset, days):
    upload = make_upload(store, f"grow-{first_offset}.csv")
    for offset in range(first_offset, first_offset + days):
        day = MONDAY - datetime.timedelta(days=offset + 1)
        add_figure(upload, "search", offset, period_start=day)
        add_figure(upload, "search", offset, sub_source="photo_search", period_start=day)
        add_figure(upload, "search", offset, terminal="pc", period_start=day)


@pytest.mark.parametrize(
    "params",
    [
        {"range": "custom", "start": "2026-08-01", "end": "2026-11-08"},
        {"granularity": "week", "range": "custom", "start": "2026-08-01", "end": "2026-11-08"},
        {"granularity": "month", "range": "custom", "start": "2026-01-01", "end": "2026-11-08", "terminal": "all"},
        {},
    ],
)
@pytest.mark.parametrize("view", ["traffic:report", "traffic:report_csv", "traffic:report_xlsx"])
def test_query_count_constant_as_data_grows(client, owner, store, week_of_days, django_assert_max_num_queries, params, view):
    client.force_login(owner)
    client.get(url(store, view, **params))

    # Session, user and memberships, then the default granularity and range lookups. Then coverage,
    # which runs twice when weeks or months are summed from days, and the sums and the trend. A
    # range without data looks up the latest period with data instead of the sums and the trend.
    _grow(store, 0, 10)
    with django_assert_max_num_queries(10):
        client.get(url(store, view, **params))

    _grow(store, 10, 120)
    with django_assert_max_num_queries(10):
        client.get(url(store, view, **params))
