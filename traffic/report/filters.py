"""The traffic page's filters, resolved to natural periods in the store's reporting time zone."""

import datetime
import zoneinfo
from dataclasses import dataclass, replace
from functools import cached_property
from urllib.parse import urlencode

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from traffic.dimensions import Granularity, period_end, period_start_of
from traffic.report.periods import ONE_DAY, periods_before, periods_between
from traffic.taxonomy import CATEGORIES

# The longest custom range, so one request cannot ask for a decade of daily figures.
MAX_RANGE_DAYS = 3 * 366

# The trend chart shows at least this many periods, ending at the last period of the range.
MIN_TREND_PERIODS = {Granularity.DAY: 30, Granularity.WEEK: 12, Granularity.MONTH: 12}

# "What changed" compares the latest period with this many periods before it.
CHANGE_HISTORY_PERIODS = 8


class RangePreset(models.TextChoices):
    LATEST = "latest", _("Latest period with data")
    YESTERDAY = "yesterday", _("Yesterday")
    LAST_7_DAYS = "last_7_days", _("Last 7 days")
    LAST_30_DAYS = "last_30_days", _("Last 30 days")
    LAST_FULL_WEEK = "last_week", _("Last full week")
    LAST_FULL_MONTH = "last_month", _("Last full month")
    THIS_YEAR = "this_year", _("This year")
    CUSTOM = "custom", _("Custom")


class Metric(models.TextChoices):
    VISITORS = "visitors", _("Visitors")
    INQUIRY_CUSTOMERS = "inquiry_customers", _("Inquiry customers")
    TM_CUSTOMERS = "tm_customers", _("TM customers")
    FEEDBACK_CONVERSION_RATE = "feedback_conversion_rate", _("Feedback conversion rate")


# Sort keys of the source table; a leading "-" sorts descending. "" keeps the taxonomy order.
SORT_COLUMNS = (
    "visitors",
    "share",
    "inquiry_customers",
    "tm_customers",
    "feedback_conversion_rate",
    "visitors_previous_change",
    "visitors_year_change",
)
SORT_CHOICES = [""] + [prefix + column for column in SORT_COLUMNS for prefix in ("", "-")]

DEFAULT_SERIES = tuple(category.code for category in CATEGORIES)


def series_choices() -> list[tuple[str, str]]:
    """Return the chart's selectable sources: the store total, each category and each sub-source."""
    from traffic.taxonomy import TOTAL, source_label

    choices = [(TOTAL, source_label(TOTAL))]
    for category in CATEGORIES:
        choices.append((category.code, category.label))
        for sub in category.sub_sources:
            choices.append((f"{category.code}.{sub.code}", f"{category.label} › {sub.label}"))
    return choices


@dataclass(frozen=True)
class ReportFilters:
    """The filters of one traffic page, with the range resolved to days and periods."""

    granularity: str
    terminal: str
    region: str
    preset: str
    # The days the range asks for; None when the preset found no data ("latest" on an empty store).
    first_day: datetime.date | None
    last_day: datetime.date | None
    sort: str = ""
    metric: str = Metric.VISITORS
    series: tuple[str, ...] = DEFAULT_SERIES
    # The last day whose figures can be complete: yesterday in the store's time zone. None keeps every period.
    last_complete_day: datetime.date | None = None

    @property
    def granularity_label(self) -> str:
        return Granularity(self.granularity).label

    @cached_property
    def periods(self) -> list[datetime.date]:
        """Return the starts of the natural periods that overlap the range, oldest first.

        Periods that end after last_complete_day are left out, because their figures cannot be
        complete yet, unless the range has no other period. So "this year" by month stops at
        the last full month. Computed once per filters object; callers must not change the list.
        """
        if self.first_day is None:
            return []
        periods = periods_between(self.granularity, self.first_day, self.last_day)
        if self.last_complete_day is not None:
            ended = [start for start in periods if period_end(self.granularity, start) <= self.last_complete_day]
            if ended:
                periods = ended
        return periods

    @property
    def covered_first_day(self):
        periods = self.periods
        return periods[0] if periods else None

    @property
    def covered_last_day(self):
        periods = self.periods
        return period_end(self.granularity, periods[-1]) if periods else None

    @property
    def is_snapped(self) -> bool:
        """Return whether whole periods cover more days than the range asks for."""
        return bool(self.periods) and (
            self.covered_first_day < self.first_day or self.covered_last_day > self.last_day
        )

    @property
    def is_cut_short(self) -> bool:
        """Return whether periods that have not ended were left out of the range."""
        return bool(self.periods) and self.covered_last_day < self.last_day

    def previous_periods(self) -> list[datetime.date]:
        """Return the periods just before the range that the change on the previous period (环比) compares with.

        These are as many periods as the range has, except for days that make up whole calendar
        months: they compare with as many whole months, so November's days compare with October 1
        to 31 rather than with the 30 days before.
        """
        periods = self.periods
        if not periods:
            return []
        first, last = periods[0], periods[-1]
        if self.granularity == Granularity.DAY and first.day == 1 and (last + ONE_DAY).day == 1:
            months = len(periods_between(Granularity.MONTH, first, last))
            previous_first = periods_before(Granularity.MONTH, first, months)[0]
            return periods_between(Granularity.DAY, previous_first, first - ONE_DAY)
        return periods_before(self.granularity, first, len(periods))

    def trend_periods(self) -> list[datetime.date]:
        """Return the trend's periods: the range, or at least the minimum, ending at the range's end.

        Eight more periods come first, so "what changed" can compare any period of the range.
        """
        periods = self.periods
        if not periods:
            return []
        shown = max(len(periods), MIN_TREND_PERIODS[self.granularity])
        return periods_before(self.granularity, periods[-1], shown - 1 + CHANGE_HISTORY_PERIODS) + [periods[-1]]

    def chart_periods(self) -> list[datetime.date]:
        trend = self.trend_periods()
        return trend[CHANGE_HISTORY_PERIODS:]

    def query(self, **overrides) -> dict:
        """Return the canonical query parameters of these filters, with overrides applied."""
        filters = replace(self, **overrides) if overrides else self
        query = {
            "granularity": filters.granularity,
            "range": filters.preset,
            "terminal": filters.terminal,
            "region": filters.region,
        }
        if filters.preset == RangePreset.CUSTOM and filters.first_day:
            query["start"] = filters.first_day.isoformat()
            query["end"] = filters.last_day.isoformat()
        if filters.sort:
            query["sort"] = filters.sort
        if filters.metric != Metric.VISITORS:
            query["metric"] = filters.metric
        if filters.series != DEFAULT_SERIES:
            query["series"] = list(filters.series)
        return query

    def query_string(self, **overrides) -> str:
        return urlencode(self.query(**overrides), doseq=True)


def store_today(store) -> datetime.date:
    """Return today's date in the store's reporting time zone."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(store.reporting_time_zone)).date()


def preset_days(preset: str, today: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """Return the first and last day of a preset range, or None for "latest" and "custom"."""
    yesterday = today - datetime.timedelta(days=1)

    if preset == RangePreset.YESTERDAY:
        return yesterday, yesterday
    if preset == RangePreset.LAST_7_DAYS:
        return yesterday - datetime.timedelta(days=6), yesterday
    if preset == RangePreset.LAST_30_DAYS:
        return yesterday - datetime.timedelta(days=29), yesterday
    if preset == RangePreset.LAST_FULL_WEEK:
        # The last Sunday on or before yesterday closes the last full week.
        sunday = yesterday - datetime.timedelta(days=(yesterday.weekday() + 1) % 7)
        return sunday - datetime.timedelta(days=6), sunday
    if preset == RangePreset.LAST_FULL_MONTH:
        month = period_start_of(Granularity.MONTH, yesterday)
        if period_end(Granularity.MONTH, month) != yesterday:
            month = period_start_of(Granularity.MONTH, month - datetime.timedelta(days=1))
        return month, period_end(Granularity.MONTH, month)
    if preset == RangePreset.THIS_YEAR:
        # On January 1 no day of the year is complete yet, so the range is that one empty day.
        first_day = today.replace(month=1, day=1)
        return first_day, max(first_day, yesterday)
    return None
