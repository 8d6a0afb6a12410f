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
from typing import NamedTuple
from decimal import Decimal

from traffic.dimensions import Granularity, Terminal, period_start_of
from traffic.metrics import feedback_conversion_rate
from traffic.report.periods import days_of

COUNT_METRICS = ("visitors", "inquiry_customers", "tm_customers")
RATE = "feedback_conversion_rate"
METRICS = COUNT_METRICS + (RATE,)

# Why a figure is not simply the one uploaded; the page explains each reason once.
DERIVED_RANGE = "range"
DERIVED_DAYS = "days"
DERIVED_TERMINALS = "terminals"
# Others with the labels not yet mapped added in, because the file's own Others row does not contain them.
DERIVED_LABELS = "labels"
PARTIAL = "partial"

NO_REASONS: frozenset[str] = frozenset()
PARTIAL_ONLY = frozenset({PARTIAL})
TERMINALS_ONLY = frozenset({DERIVED_TERMINALS})

# (granularity, terminal, region, period_start) of every period that has current figures.
Coverage = set[tuple[str, str, str, datetime.date]]
# (granularity, terminal, period_start): the rows of one upload slice to add up.
Selection = tuple[str, str, datetime.date]


class PeriodPlan(NamedTuple):
    """The stored rows that make up one period of the chosen granularity, and why it is derived.

    A named tuple, because a page plans hundreds of periods and a frozen dataclass is several
    times slower to create.
    """

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

    def missing_periods(self) -> list[datetime.date]:
        """Return the periods that no stored rows make up."""
        planned = {plan.start for plan in self.plans}
        return [start for start in self.periods if start not in planned]

    @property
    def reasons(self) -> frozenset[str]:
        reasons = set()
        for plan in self.plans:
            reasons |= plan.reasons
        if len(self.plans) > 1:
            reasons.add(DERIVED_RANGE)
        return frozenset(reasons)


@dataclass(slots=True)
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
        return self.notes.get(metric, NO_REASONS)


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
        return PeriodPlan(start, ((granularity, terminal, start),), NO_REASONS)

    has_pc = (granularity, Terminal.PC, region, start) in coverage
    has_wireless = (granularity, Terminal.WIRELESS, region, start) in coverage
    if terminal == Terminal.ALL and has_pc and has_wireless:
        selections = ((granularity, Terminal.PC, start), (granularity, Terminal.WIRELESS, start))
        return PeriodPlan(start, selections, TERMINALS_ONLY)
    return None


def combine(sums, counts, units: int, reasons: frozenset[str]) -> Figures:
    """Turn sums over `units` stored rows into Figures, marking sums and gaps.

    sums and counts are sequences in METRICS order; the rate's "sum" is its maximum, which
    is the stored rate when there is one row. With one row the stored rate is kept as the
    file gave it. A summed rate is recomputed from the summed counts, and only when every
    row had all three counts.
    """
    figures = Figures()
    summed = units > 1
    note = reasons if summed else NO_REASONS
    notes = figures.notes

    visitors_count, inquiry_count, tm_count, rate_count = counts
    if visitors_count:
        figures.visitors = sums[0]
        notes["visitors"] = note if visitors_count >= units else note | PARTIAL_ONLY
    if inquiry_count:
        figures.inquiry_customers = sums[1]
        notes["inquiry_customers"] = note if inquiry_count >= units else note | PARTIAL_ONLY
    if tm_count:
        figures.tm_customers = sums[2]
        notes["tm_customers"] = note if tm_count >= units else note | PARTIAL_ONLY

    complete = visitors_count == units and inquiry_count == units and tm_count == units
    if not summed and rate_count:
        figures.feedback_conversion_rate = sums[3]
    elif complete:
        figures.feedback_conversion_rate = feedback_conversion_rate(sums[0], sums[1], sums[2])
        notes[RATE] = note
    return figures


def add_up(parts: list[Figures], reason: str) -> Figures:
    """Add up the Figures of several sources over the same window or period, marking every value with reason.

    A count is the sum over the parts that have it, and is also marked partial when some part
    with data lacks it. The rate is recomputed from the summed counts, and only when every part
    has all three counts.
    """
    parts = [part for part in parts if part.has_data]
    figures = Figures()
    for metric in COUNT_METRICS:
        values = [part.value(metric) for part in parts if part.value(metric) is not None]
        if not values:
            continue
        setattr(figures, metric, sum(values))
        note = frozenset({reason}).union(*(part.note(metric) for part in parts))
        figures.notes[metric] = note if len(values) == len(parts) else note | PARTIAL_ONLY

    counts = [figures.value(metric) for metric in COUNT_METRICS]
    if all(figures.note(metric).isdisjoint(PARTIAL_ONLY) for metric in COUNT_METRICS) and None not in counts:
        figures.feedback_conversion_rate = feedback_conversion_rate(*counts)
        figures.notes[RATE] = frozenset().union(*(figures.note(metric) for metric in COUNT_METRICS))
    return figures


def stored_figures(visitors, inquiry_customers, tm_customers, rate) -> Figures:
    """Return the Figures of one stored row, as combine() does for a single row but faster.

    A single row has no reasons, and note() returns no reasons for a metric without an entry,
    so the notes stay empty.
    """
    if rate is None and visitors is not None and inquiry_customers is not None and tm_customers is not None:
        rate = feedback_conversion_rate(visitors, inquiry_customers, tm_customers)
    return Figures(visitors, inquiry_customers, tm_customers, rate)


def figures_per_period(granularity: str, window: Window, rows) -> dict[tuple[str, str], dict[datetime.date, Figures]]:
    """Add up trend rows into their periods of the chosen granularity.

    Returns {(source, sub_source): {period start: Figures}}, and {(source, sub_source, raw_label):
    {period start: Figures}} for rows of a label not yet mapped.
    """
    plans = {plan.start: plan for plan in window.plans}
    # One uploaded row per source is the period itself: most periods of a range.
    single_row_periods = {start for start, plan in plans.items() if len(plan.selections) == 1}
    result: dict[tuple[str, str], dict[datetime.date, Figures]] = {}
    # {(source, sub_source): {period: [metric values of each stored row]}} for periods summed from several rows
    summed: dict = {}
    for row_granularity, start, source, sub_source, raw_label, visitors, inquiry_customers, tm_customers, rate in rows:
        # A day row stands in for its week or month only when the plan asked for days.
        period = start if row_granularity == granularity else period_start_of(granularity, start)
        key = (source, sub_source, raw_label) if raw_label else (source, sub_source)
        if period in single_row_periods:
            figures = result.get(key)
            if figures is None:
                figures = result[key] = {}
            figures[period] = stored_figures(visitors, inquiry_customers, tm_customers, rate)
            continue

        values = (visitors, inquiry_customers, tm_customers, rate)

        periods = summed.get(key)
        if periods is None:
            periods = summed[key] = {}
        stored = periods.get(period)
        if stored is None:
            periods[period] = [values]
        else:
            stored.append(values)

    for key, periods in summed.items():
        figures = result.setdefault(key, {})
        for period, stored in periods.items():
            plan = plans[period]
            sums = [0] * len(METRICS)
            counts = [0] * len(METRICS)
            for values in stored:
                for index, value in enumerate(values):
                    if value is not None:
                        sums[index] += value
                        counts[index] += 1
            figures[period] = combine(sums, counts, len(plan.selections), plan.reasons)
    return result
