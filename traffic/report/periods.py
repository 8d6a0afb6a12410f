"""Natural periods of a granularity: stepping, shifting by a year, and ranges of them."""

import datetime

from traffic.dimensions import Granularity, period_end, period_start_of

ONE_DAY = datetime.timedelta(days=1)


def next_period(granularity: str, start: datetime.date) -> datetime.date:
    return period_end(granularity, start) + ONE_DAY


def previous_period(granularity: str, start: datetime.date) -> datetime.date:
    return period_start_of(granularity, start - ONE_DAY)


def periods_between(granularity: str, first_day: datetime.date, last_day: datetime.date) -> list[datetime.date]:
    """Return the starts of the natural periods that overlap first_day..last_day, oldest first."""
    starts = []
    start = period_start_of(granularity, first_day)
    while start <= last_day:
        starts.append(start)
        start = next_period(granularity, start)
    return starts


def periods_before(granularity: str, first: datetime.date, count: int) -> list[datetime.date]:
    """Return the count periods that end just before the period starting at first, oldest first."""
    starts = []
    start = first
    for _index in range(count):
        start = previous_period(granularity, start)
        starts.append(start)
    return starts[::-1]


def year_before(granularity: str, start: datetime.date) -> datetime.date:
    """Return the period a year before: the same date, the week 52 weeks earlier, or the same month.

    February 29 maps to February 28. Weeks move by 364 days so they stay Monday to Sunday.
    """
    if granularity == Granularity.WEEK:
        return start - datetime.timedelta(weeks=52)
    if start.month == 2 and start.day == 29:
        return start.replace(year=start.year - 1, day=28)
    return start.replace(year=start.year - 1)


def days_of(granularity: str, start: datetime.date) -> list[datetime.date]:
    end = period_end(granularity, start)
    return [start + datetime.timedelta(days=offset) for offset in range((end - start).days + 1)]


def contiguous_runs(granularity: str, starts: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Group sorted period starts into (first, last) runs of consecutive periods."""
    runs = []
    for start in sorted(starts):
        if runs and next_period(granularity, runs[-1][1]) == start:
            runs[-1] = (runs[-1][0], start)
        else:
            runs.append((start, start))
    return runs
