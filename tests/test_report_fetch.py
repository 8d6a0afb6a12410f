"""The traffic page's hand-written figure queries and its fast cell formatting."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat

from tests.helpers import add_figure, make_upload
from traffic.report.build import CURRENT, YEAR_BEFORE, build_report
from traffic.report.figures import DERIVED_DAYS
from traffic.report.filters import RangePreset, ReportFilters
from traffic.templatetags.report_tags import _chart_number, _count

pytestmark = pytest.mark.django_db


def filters_for(first_day, last_day, granularity="month", terminal="all"):
    return ReportFilters(
        granularity=granularity,
        terminal=terminal,
        region="all",
        preset=RangePreset.CUSTOM,
        first_day=first_day,
        last_day=last_day,
    )


def test_overlapping_windows_each_count_a_row(store):
    # Given 100 + n visitors in month n from 2025-01, the range 2026-01 to 2027-12 and its
    # year-before window 2025-01 to 2026-12 share the months of 2026.
    upload = make_upload(store)
    months = [datetime.date(2025 + index // 12, index % 12 + 1, 1) for index in range(36)]
    for number, month in enumerate(months):
        add_figure(upload, "search", 100 + number, 1, 0, granularity="month", period_start=month)

    report = build_report(store, filters_for(datetime.date(2026, 1, 1), datetime.date(2027, 12, 31)))

    search = report.categories[0]
    assert search.current.visitors == sum(100 + number for number in range(12, 36))
    assert search.year_before.visitors == sum(100 + number for number in range(0, 24))
    assert report.windows[CURRENT].units == 24
    assert report.windows[YEAR_BEFORE].units == 24


def test_stored_rate_is_decimal_of_column_scale(store):
    upload = make_upload(store)
    add_figure(upload, "search", 30, 1, 1, rate=Decimal("0.0611"), period_start=datetime.date(2026, 11, 3))

    report = build_report(store, filters_for(datetime.date(2026, 11, 3), datetime.date(2026, 11, 3), "day"))

    rate = report.categories[0].current.feedback_conversion_rate
    assert isinstance(rate, Decimal)
    assert rate == Decimal("0.0611")


def test_window_missing_source_has_empty_figures(store):
    # Given direct only in the previous week, the current week still gets empty Figures for it.
    upload = make_upload(store)
    monday = datetime.date(2026, 11, 2)
    add_figure(upload, "search", 10, granularity="week", period_start=monday)
    add_figure(upload, "search", 8, granularity="week", period_start=monday - datetime.timedelta(days=7))
    add_figure(upload, "direct", 4, granularity="week", period_start=monday - datetime.timedelta(days=7))

    report = build_report(store, filters_for(monday, monday + datetime.timedelta(days=6), "week"))

    direct = next(row for row in report.categories if row.source == "direct")
    assert direct.current.visitors is None
    assert direct.previous.visitors == 4
    assert direct.changes["visitors:previous"] is None


@pytest.mark.parametrize("value", [0.0, 0.05, 0.1, 1.5, 6.11, 12.35, 33.33, 99.99, 100.0])
def test_chart_percent_matches_floatformat(value):
    assert _chart_number(value, is_rate=True) == f"{floatformat(value, 2)}%"


@pytest.mark.parametrize("value", [Decimal("0.125"), Decimal("2.675"), 7])
def test_chart_percent_rounds_other_types_half_up(value):
    assert _chart_number(value, is_rate=True) == f"{floatformat(value, 2)}%"


@pytest.mark.parametrize("value", [0, 7, 999, 1000, 123456, 1234567, 10**12])
def test_count_matches_intcomma(value):
    assert _count(value) == intcomma(value, use_l10n=False)


def test_missing_chart_value_is_dash():
    assert _chart_number(None, is_rate=True) == "—"
    assert _chart_number(None, is_rate=False) == "—"


def test_days_queried_for_weeks_without_rows(store, django_assert_num_queries):
    # Given the current week uploaded as a week, and the week before it only as days
    upload = make_upload(store)
    monday = datetime.date(2026, 11, 2)
    add_figure(upload, "search", 70, granularity="week", period_start=monday)
    for offset in range(7):
        add_figure(upload, "search", 10, period_start=monday - datetime.timedelta(days=7 - offset))

    # coverage, days of the weeks without a row, sums, trend
    with django_assert_num_queries(4):
        report = build_report(store, filters_for(monday, monday + datetime.timedelta(days=6), "week"))

    search = report.categories[0]
    assert search.current.visitors == 70
    assert search.previous.visitors == 70
    assert DERIVED_DAYS in search.previous.note("visitors")


def test_weeks_with_rows_skip_day_query(store, django_assert_num_queries):
    # Given every week from well over a year before the range uploaded as a week
    upload = make_upload(store)
    monday = datetime.date(2026, 11, 2)
    for number in range(70):
        add_figure(upload, "search", 100 + number, granularity="week", period_start=monday - datetime.timedelta(weeks=number))

    # coverage, sums, trend
    with django_assert_num_queries(3):
        report = build_report(store, filters_for(monday, monday + datetime.timedelta(days=6), "week"))

    assert report.categories[0].current.visitors == 100
    assert report.categories[0].year_before.visitors == 152
