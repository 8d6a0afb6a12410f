"""Range presets in the store's reporting time zone, and the periods they cover."""

import datetime

import pytest

from traffic.report.filters import RangePreset, ReportFilters, preset_days, store_today
from traffic.report.periods import periods_between, year_before

TODAY = datetime.date(2026, 11, 5)  # a Thursday


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (RangePreset.YESTERDAY, ("2026-11-04", "2026-11-04")),
        (RangePreset.LAST_7_DAYS, ("2026-10-29", "2026-11-04")),
        (RangePreset.LAST_30_DAYS, ("2026-10-06", "2026-11-04")),
        (RangePreset.LAST_FULL_WEEK, ("2026-10-26", "2026-11-01")),
        (RangePreset.LAST_FULL_MONTH, ("2026-10-01", "2026-10-31")),
        (RangePreset.THIS_YEAR, ("2026-01-01", "2026-11-04")),
    ],
)
def test_preset_days(preset, expected):
    first_day, last_day = preset_days(preset, TODAY)

    assert (first_day.isoformat(), last_day.isoformat()) == expected


def test_last_full_week_on_monday_ends_yesterday():
    assert preset_days(RangePreset.LAST_FULL_WEEK, datetime.date(2026, 11, 9)) == (
        datetime.date(2026, 11, 2), datetime.date(2026, 11, 8),
    )


def test_last_full_month_on_the_first():
    assert preset_days(RangePreset.LAST_FULL_MONTH, datetime.date(2026, 11, 1)) == (
        datetime.date(2026, 10, 1), datetime.date(2026, 10, 31),
    )


def test_this_year_on_january_first_is_empty_day():
    assert preset_days(RangePreset.THIS_YEAR, datetime.date(2027, 1, 1)) == (
        datetime.date(2027, 1, 1), datetime.date(2027, 1, 1),
    )


def test_today_is_in_the_reporting_time_zone(monkeypatch, store):
    # 05:00 UTC on November 4 is still November 3 in Los Angeles and already November 4 in Shanghai.
    instant = datetime.datetime(2026, 11, 4, 5, 0, tzinfo=datetime.timezone.utc)
    monkeypatch.setattr("traffic.report.filters.timezone.now", lambda: instant)

    store.reporting_time_zone = "America/Los_Angeles"
    assert store_today(store) == datetime.date(2026, 11, 3)
    store.reporting_time_zone = "Asia/Shanghai"
    assert store_today(store) == datetime.date(2026, 11, 4)


def test_week_range_widens_to_whole_weeks():
    filters = ReportFilters("week", "all", "all", RangePreset.LAST_7_DAYS, datetime.date(2026, 10, 29), datetime.date(2026, 11, 4))

    assert filters.periods == [datetime.date(2026, 10, 26), datetime.date(2026, 11, 2)]
    assert filters.is_snapped
    assert filters.previous_periods() == [datetime.date(2026, 10, 12), datetime.date(2026, 10, 19)]


def test_days_of_whole_month_compare_with_previous_month():
    filters = ReportFilters("day", "all", "all", RangePreset.LAST_FULL_MONTH, datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))

    previous = filters.previous_periods()

    assert previous[0] == datetime.date(2026, 10, 1)
    assert previous[-1] == datetime.date(2026, 10, 31)
    assert len(previous) == 31


def test_days_of_two_months_compare_with_two_before():
    filters = ReportFilters("day", "all", "all", RangePreset.CUSTOM, datetime.date(2026, 3, 1), datetime.date(2026, 4, 30))

    previous = filters.previous_periods()

    assert (previous[0], previous[-1], len(previous)) == (datetime.date(2026, 1, 1), datetime.date(2026, 2, 28), 59)


def test_days_of_part_month_compare_with_same_count():
    filters = ReportFilters("day", "all", "all", RangePreset.CUSTOM, datetime.date(2026, 11, 2), datetime.date(2026, 11, 30))

    previous = filters.previous_periods()

    assert (previous[0], previous[-1]) == (datetime.date(2026, 10, 4), datetime.date(2026, 11, 1))


def test_this_year_by_month_ends_early():
    filters = ReportFilters(
        "month", "all", "all", RangePreset.THIS_YEAR, datetime.date(2026, 1, 1), datetime.date(2026, 12, 4),
        last_complete_day=datetime.date(2026, 12, 4),
    )

    assert filters.periods[-1] == datetime.date(2026, 11, 1)
    assert len(filters.periods) == 11
    assert filters.is_cut_short
    assert not filters.is_snapped


def test_last_week_range_drops_running_week():
    filters = ReportFilters(
        "week", "all", "all", RangePreset.LAST_7_DAYS, datetime.date(2026, 11, 28), datetime.date(2026, 12, 4),
        last_complete_day=datetime.date(2026, 12, 4),
    )

    assert filters.periods == [datetime.date(2026, 11, 23)]
    assert filters.is_cut_short
    assert filters.is_snapped


def test_running_period_kept_when_alone():
    filters = ReportFilters(
        "week", "all", "all", RangePreset.YESTERDAY, datetime.date(2026, 12, 2), datetime.date(2026, 12, 2),
        last_complete_day=datetime.date(2026, 12, 2),
    )

    assert filters.periods == [datetime.date(2026, 11, 30)]
    assert not filters.is_cut_short


def test_trend_has_eight_more_periods_for_changes():
    filters = ReportFilters("month", "all", "all", RangePreset.CUSTOM, datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))

    trend = filters.trend_periods()
    assert len(trend) == 12 + 8
    assert trend[-1] == datetime.date(2026, 10, 1)
    assert filters.chart_periods()[0] == datetime.date(2025, 11, 1)


def test_year_before_per_granularity():
    assert year_before("day", datetime.date(2028, 2, 29)) == datetime.date(2027, 2, 28)
    assert year_before("week", datetime.date(2026, 11, 2)) == datetime.date(2025, 11, 3)
    assert year_before("month", datetime.date(2026, 11, 1)) == datetime.date(2025, 11, 1)


def test_periods_between_months():
    assert periods_between("month", datetime.date(2026, 1, 15), datetime.date(2026, 3, 1)) == [
        datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1),
    ]
