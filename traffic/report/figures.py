"""Figures of a store over a range of natural periods, with every derived figure marked.

A period's figures come from the first of these that has data:
1. the figures uploaded for that period, terminal and region;
2. for the terminal All only: PC plus Wireless of that period ("terminals"), because a
   buyer who used both counts once in All but once in each of PC and Wireless;
3. for a week or month only: the sum of its days, each day by rule 1 or 2 ("days"),
   when every day of the period has data, because visitors are de-duplicated per day only.
A range of several periods is the sum of its periods ("range"). A source that has no figure
in some of the summed parts is "partial". Rules 2 and 3 and every sum are marked on screen.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum

from traffic.dimensions import Granularity, Terminal, period_start_of
from traffic.metrics import feedback_conversion_rate
from traffic.models import TrafficFigure
from traffic.report.periods import contiguous_runs, days_of

COUNT_METRICS = ("visitors", "inquiry_customers", "tm_customers")
RATE = "feedback_conversion_rate"
METRICS = COUNT_METRICS + (RATE,)

# Why a figure is not simply the one uploaded; the page explains each reason once.
DERIVED_RANGE = "range"
DERIVED_DAYS = "days"
DERIVED_TERMINALS = "terminals"
PARTIAL = "partial"

# (granularity, terminal, region, period_start) of every period that has current figures.
Coverage = set[tuple[str, str, str, datetime.date]]
# (granularity, terminal, period_start): the rows of one upload slice to add up.
Selection = tuple[str, str, datetime.date]


@dataclass(frozen=True)
class PeriodPlan:
    """Which stored rows make up one period of the chosen granularity, and why."""

    start: datetime.date
    selections: tuple[Selection, ...]
    reasons: frozenset[str]


@dataclass
class Window:
    """A run of periods (the range, the range before it, or the range a year before) and their plans."""

    periods: list[datetime.date]
    plans: list[PeriodPlan]

    @property
    def units(self) -> int:
        return sum(len(plan.selections) for plan in self.plans)

    @property
    def is_complete(self) -> bool:
        return bool(self.periods) and len(self.plans) == len(self.periods)

    @property
    def reasons(self) -> frozenset[str]:
        reasons = set()
        for plan in self.plans:
            reasons |= plan.reasons
        if len(self.plans) > 1:
            reasons.add(DERIVED_RANGE)
        return frozenset(reasons)


@dataclass
class Figures:
    """The four metrics of one source over one window; notes[metric] lists why a value is derived."""

    visitors: int | None = None
    inquiry_customers: int | None = None
    tm_customers: int | None = None
    feedback_conversion_rate: Decimal | None = None
    notes: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return any(getattr(self, metric) is not None for metric in METRICS)

    def value(self, metric: str):
        return getattr(self, metric)

    def note(self, metric: str) -> frozenset[str]:
        return self.notes.get(metric, frozenset())


def coverage_for(store, intervals: list[tuple[datetime.date, datetime.date]]) -> Coverage:
    """Return which granularity, terminal, region and period have figures, for periods starting in the intervals."""
    if not intervals:
        return set()

    days = Q()
    for first_day, last_day in merge_intervals(intervals):
        days |= Q(period_start__gte=first_day, period_start__lte=last_day)
    rows = (
        TrafficFigure.objects.filter(days, store=store, is_current=True)
        .values_list("granularity", "terminal", "region", "period_start")
        .distinct()
        .order_by()
    )
    return set(rows)


def merge_intervals(intervals):
    merged = []
    for first_day, last_day in sorted(intervals):
        if merged and first_day <= merged[-1][1] + datetime.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last_day))
        else:
            merged.append((first_day, last_day))
    return merged


def plan_period(coverage: Coverage, granularity: str, terminal: str, region: str, start: datetime.date) -> PeriodPlan | None:
    """Return how to get one period's figures (see the module docstring), or None when nothing has data."""
    direct = _plan_slice(coverage, granularity, terminal, region, start)
    if direct is not None or granularity == Granularity.DAY:
        return direct

    day_plans = [_plan_slice(coverage, Granularity.DAY, terminal, region, day) for day in days_of(granularity, start)]
    if any(plan is None for plan in day_plans):
        return None

    selections = tuple(selection for plan in day_plans for selection in plan.selections)
    reasons = frozenset({DERIVED_DAYS}).union(*(plan.reasons for plan in day_plans))
    return PeriodPlan(start, selections, reasons)


def _plan_slice(coverage, granularity, terminal, region, start) -> PeriodPlan | None:
    if (granularity, terminal, region, start) in coverage:
        return PeriodPlan(start, ((granularity, terminal, start),), frozenset())

    has_pc = (granularity, Terminal.PC, region, start) in coverage
    has_wireless = (granularity, Terminal.WIRELESS, region, start) in coverage
    if terminal == Terminal.ALL and has_pc and has_wireless:
        selections = ((granularity, Terminal.PC, start), (granularity, Terminal.WIRELESS, start))
        return PeriodPlan(start, selections, frozenset({DERIVED_TERMINALS}))
    return None


def plan_window(coverage: Coverage, granularity: str, terminal: str, region: str, periods: list[datetime.date]) -> Window:
    plans = [plan_period(coverage, granularity, terminal, region, start) for start in periods]
    return Window(periods=list(periods), plans=[plan for plan in plans if plan is not None])


def window_condition(window: Window) -> Q | None:
    """Return a filter for the rows a window adds up, or None when the window has no data.

    Consecutive periods become one date range, so a 90-day range is one BETWEEN, not 90 values.
    """
    by_slice: dict[tuple[str, str], list[datetime.date]] = {}
    for plan in window.plans:
        for granularity, terminal, start in plan.selections:
            by_slice.setdefault((granularity, terminal), []).append(start)
    if not by_slice:
        return None

    condition = Q()
    for (granularity, terminal), starts in sorted(by_slice.items()):
        for first, last in contiguous_runs(granularity, starts):
            condition |= Q(granularity=granularity, terminal=terminal, period_start__gte=first, period_start__lte=last)
    return condition


def aggregate_windows(store, region: str, windows: dict[str, Window]) -> dict[tuple[str, str, str], dict[str, Figures]]:
    """Sum every source over each window in one query.

    Returns {(source, sub_source, raw_label): {window name: Figures}}.
    """
    conditions = {name: window_condition(window) for name, window in windows.items()}
    conditions = {name: condition for name, condition in conditions.items() if condition is not None}
    if not conditions:
        return {}

    annotations = {}
    for name, condition in conditions.items():
        for metric in METRICS:
            annotations[f"{name}__{metric}__count"] = Count(metric, filter=condition)
            if metric == RATE:
                annotations[f"{name}__{metric}"] = Max(metric, filter=condition)
            else:
                annotations[f"{name}__{metric}"] = Sum(metric, filter=condition)

    any_window = Q()
    for condition in conditions.values():
        any_window |= condition
    rows = (
        TrafficFigure.objects.filter(any_window, store=store, is_current=True, region=region)
        .values("source", "sub_source", "raw_label")
        .annotate(**annotations)
        .order_by()
    )

    result = {}
    for row in rows:
        key = (row["source"], row["sub_source"], row["raw_label"])
        result[key] = {}
        for name in conditions:
            sums = {metric: row[f"{name}__{metric}"] for metric in METRICS}
            counts = {metric: row[f"{name}__{metric}__count"] for metric in METRICS}
            result[key][name] = combine(sums, counts, windows[name].units, windows[name].reasons)
    return result


def combine(sums: dict, counts: dict, units: int, reasons: frozenset[str]) -> Figures:
    """Turn sums over `units` stored rows into Figures, marking sums and gaps.

    With one row the stored rate is kept as the file gave it. A summed rate is recomputed
    from the summed counts, and only when every row had all three counts.
    """
    figures = Figures()
    summed = units > 1

    for metric in COUNT_METRICS:
        if not counts[metric]:
            continue
        setattr(figures, metric, sums[metric])
        note = set(reasons) if summed else set()
        if counts[metric] < units:
            note.add(PARTIAL)
        figures.notes[metric] = frozenset(note)

    complete = all(counts[metric] == units for metric in COUNT_METRICS)
    if not summed and counts[RATE]:
        figures.feedback_conversion_rate = sums[RATE]
    elif complete:
        figures.feedback_conversion_rate = feedback_conversion_rate(
            sums["visitors"], sums["inquiry_customers"], sums["tm_customers"]
        )
        figures.notes[RATE] = frozenset(reasons) if summed else frozenset()
    return figures


def trend_rows(store, region: str, window: Window, sub_sources: list[tuple[str, str]]):
    """Return the stored rows of the trend: categories, the store total and the chosen sub-sources."""
    condition = window_condition(window)
    if condition is None:
        return []

    keys = Q(sub_source="")
    for source, sub_source in sub_sources:
        keys |= Q(source=source, sub_source=sub_source)
    return list(
        TrafficFigure.objects.filter(condition, keys, store=store, is_current=True, region=region, raw_label="")
        .values_list("granularity", "period_start", "source", "sub_source", *METRICS)
        .order_by()
    )


def figures_per_period(granularity: str, window: Window, rows) -> dict[tuple[str, str], dict[datetime.date, Figures]]:
    """Add up trend rows into their periods of the chosen granularity.

    Returns {(source, sub_source): {period start: Figures}}.
    """
    sums: dict = {}
    for row_granularity, start, source, sub_source, *values in rows:
        # A day row stands in for its week or month only when the plan asked for days.
        period = start if row_granularity == granularity else period_start_of(granularity, start)
        entry = sums.setdefault((source, sub_source), {}).setdefault(
            period, ({metric: 0 for metric in METRICS}, {metric: 0 for metric in METRICS})
        )
        for metric, value in zip(METRICS, values):
            if value is None:
                continue
            entry[0][metric] += value
            entry[1][metric] += 1

    plans = {plan.start: plan for plan in window.plans}
    result = {}
    for key, periods in sums.items():
        result[key] = {}
        for period, (period_sums, counts) in periods.items():
            plan = plans[period]
            result[key][period] = combine(period_sums, counts, len(plan.selections), plan.reasons)
    return result
