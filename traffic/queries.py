"""Read-only queries over a store's current traffic figures."""

import datetime

from traffic.dimensions import Granularity, Terminal, period_end, period_start_of
from traffic.models import TrafficFigure
from traffic.report.fetch import CoverageBox, coverage_for
from traffic.report.figures import plan_period
from traffic.report.periods import previous_period

METRIC_FIELDS = ("visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate")
# How far back from the newest day to look for a week or month whose days all have figures.
DERIVED_SEARCH_DAYS = 400


def current_figures(store, granularity: str, terminal: str, region: str):
    return TrafficFigure.objects.filter(
        store=store, granularity=granularity, terminal=terminal, region=region, is_current=True
    )


def available_periods(store, granularity: str, terminal: str, region: str) -> list[datetime.date]:
    """Return the period starts that have figures, newest first."""
    return list(
        current_figures(store, granularity, terminal, region)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .distinct()
    )


def newest_period(store, granularity: str, terminal: str, region: str) -> datetime.date | None:
    """Return the newest period start that has figures or can be derived, or None.

    Falls back to PC and Wireless for All, then to the last whole period of days for a
    week or month, as traffic.report.figures derives them.
    """
    newest = _newest_start(store, granularity, terminal, region)
    if newest is None and terminal == Terminal.ALL:
        pc = _newest_start(store, granularity, Terminal.PC, region)
        wireless = _newest_start(store, granularity, Terminal.WIRELESS, region)
        newest = min(pc, wireless) if pc and wireless else None
    if newest is not None or granularity == Granularity.DAY:
        return newest

    newest_day = newest_period(store, Granularity.DAY, terminal, region)
    if newest_day is None:
        return None
    return _newest_period_of_days(store, granularity, terminal, region, newest_day)


def _newest_period_of_days(store, granularity, terminal, region, newest_day) -> datetime.date | None:
    """Return the newest week or month that the report can sum from its days, or None.

    Every day of it needs figures, as plan_period requires. The search goes back at most
    DERIVED_SEARCH_DAYS from the newest day, which is enough to cover a year of monthly periods.
    """
    first_day = newest_day - datetime.timedelta(days=DERIVED_SEARCH_DAYS)
    terminals = (Terminal.ALL, Terminal.PC, Terminal.WIRELESS) if terminal == Terminal.ALL else (terminal,)
    coverage = coverage_for(store, [CoverageBox((Granularity.DAY,), terminals, (region,), first_day, newest_day)])

    start = period_start_of(granularity, newest_day)
    while start >= first_day:
        if period_end(granularity, start) <= newest_day and plan_period(coverage, granularity, terminal, region, start):
            return start
        start = previous_period(granularity, start)
    return None


def _newest_start(store, granularity, terminal, region):
    return (
        current_figures(store, granularity, terminal, region)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )


def granularity_with_data(store, terminal: str, region: str) -> str | None:
    """Return the finest granularity that has figures for this terminal and region."""
    for granularity in Granularity.values:
        if current_figures(store, granularity, terminal, region).exists():
            return granularity
    return None


def api_rows(store, granularity: str, terminal: str, region: str, start=None, end=None) -> list[dict]:
    figures = current_figures(store, granularity, terminal, region)
    if start:
        figures = figures.filter(period_start__gte=start)
    if end:
        figures = figures.filter(period_start__lte=end)

    rows = []
    for figure in figures.order_by("period_start", "source", "sub_source", "raw_label").values(
        "period_start", "source", "sub_source", "raw_label", *METRIC_FIELDS
    ):
        rate = figure["feedback_conversion_rate"]
        rows.append(
            {
                "period_start": figure["period_start"].isoformat(),
                "source": figure["source"],
                "sub_source": figure["sub_source"] or None,
                "raw_label": figure["raw_label"] or None,
                "visitors": figure["visitors"],
                "inquiry_customers": figure["inquiry_customers"],
                "tm_customers": figure["tm_customers"],
                "feedback_conversion_rate": float(rate) if rate is not None else None,
            }
        )
    return rows
