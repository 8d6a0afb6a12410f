"""Assemble everything the traffic page and its exports show for one set of filters."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from traffic.dimensions import Granularity, Region, Terminal, period_end, period_label, period_start_of
from traffic.report.changes import Change, detect_changes
from traffic.report.coverage import CoverageRow, coverage_calendar
from traffic.report.fetch import aggregate_windows, coverage_for, trend_rows
from traffic.report.figures import (
    METRICS,
    PARTIAL,
    RATE,
    Figures,
    Window,
    figures_per_period,
    plan_window,
)
from traffic.report.filters import Metric, ReportFilters
from traffic.report.periods import year_before
from traffic.taxonomy import CATEGORIES, TOTAL, source_label

CURRENT, PREVIOUS, YEAR_BEFORE = "current", "previous", "year_before"
SHARE_OF_TOTAL, SHARE_OF_CATEGORIES = "total", "categories"

PERCENT_QUANTUM = Decimal("0.0001")


@dataclass
class Delta:
    """A change against an earlier window: a fraction for counts, percentage points for the rate."""

    value: Decimal
    is_points: bool


@dataclass
class SourceRow:
    source: str
    sub_source: str
    raw_label: str
    label: str
    current: Figures
    previous: Figures | None = None
    year_before: Figures | None = None
    share: Decimal | None = None
    changes: dict[str, Delta | None] = field(default_factory=dict)
    children: list["SourceRow"] = field(default_factory=list)

    @property
    def key(self) -> str:
        if self.raw_label:
            return f"{self.source}.raw.{self.raw_label}"
        return f"{self.source}.{self.sub_source}" if self.sub_source else self.source

    @property
    def has_data(self) -> bool:
        return self.current.has_data

    def cells(self):
        """Return (metric, value, notes, previous change, year change) for each column, in column order."""
        return [
            (metric, self.current.value(metric), self.current.note(metric),
             self.changes.get(f"{metric}:{PREVIOUS}"), self.changes.get(f"{metric}:{YEAR_BEFORE}"))
            for metric in METRICS
        ]


@dataclass
class Report:
    filters: ReportFilters
    categories: list[SourceRow]
    total: SourceRow | None
    share_basis: str | None
    windows: dict[str, Window]
    reasons: frozenset[str]
    chart: dict | None
    chart_table: list[dict]
    changes: list[Change]
    latest_period: datetime.date | None
    coverage: list[CoverageRow]
    comparisons: dict[str, str]

    @property
    def has_data(self) -> bool:
        return bool(self.windows[CURRENT].plans)

    @property
    def periods_with_data(self) -> int:
        return len(self.windows[CURRENT].plans)

    @property
    def period_count(self) -> int:
        return len(self.windows[CURRENT].periods)

    def rows(self):
        """Yield every row of the source table in display order: categories, their children, the total."""
        for row in self.categories:
            yield row
            yield from row.children
        if self.total:
            yield self.total


def build_report(store, filters: ReportFilters) -> Report:
    """Query and assemble the page: 3 queries however long the range (coverage, sums over the windows, trend)."""
    granularity, terminal, region = filters.granularity, filters.terminal, filters.region
    periods = filters.periods
    previous = filters.previous_periods()
    year_ago = [year_before(granularity, start) for start in periods]
    year_ago = sorted(set(period_start_of(granularity, start) for start in year_ago))
    trend = filters.trend_periods()

    coverage = coverage_for(store, _coverage_intervals(filters, previous, year_ago, trend))
    windows = {
        CURRENT: plan_window(coverage, granularity, terminal, region, periods),
        PREVIOUS: plan_window(coverage, granularity, terminal, region, previous),
        YEAR_BEFORE: plan_window(coverage, granularity, terminal, region, year_ago),
    }
    trend_window = plan_window(coverage, granularity, terminal, region, trend)

    by_key = aggregate_windows(store, region, windows)
    categories, total, share_basis = _source_rows(by_key, windows)
    _sort_rows(categories, filters.sort)

    chosen_subs = [tuple(key.split(".", 1)) for key in filters.series if "." in key]
    per_period = figures_per_period(granularity, trend_window, trend_rows(store, region, trend_window, chosen_subs))
    latest = windows[CURRENT].plans[-1].start if windows[CURRENT].plans else None
    category_periods = {
        code: per_period.get((code, ""), {}) for code in [category.code for category in CATEGORIES] + [TOTAL]
    }
    labels = {code: source_label(code) for code in category_periods}
    changes = detect_changes(category_periods, labels, granularity, trend, latest)
    chart, chart_table = _chart(filters, per_period, trend_window)

    reasons = set(windows[CURRENT].reasons)
    for row in [*categories, *[child for row in categories for child in row.children], total]:
        if row is None:
            continue
        for metric in METRICS:
            reasons |= row.current.note(metric)

    return Report(
        filters=filters,
        categories=categories,
        total=total,
        share_basis=share_basis,
        windows=windows,
        reasons=frozenset(reasons),
        chart=chart,
        chart_table=chart_table,
        changes=changes,
        latest_period=latest,
        coverage=coverage_calendar(coverage, filters.covered_first_day, filters.covered_last_day, terminal, region),
        comparisons={
            PREVIOUS: _window_label(granularity, previous),
            YEAR_BEFORE: _window_label(granularity, year_ago),
        },
    )


def _coverage_intervals(filters: ReportFilters, previous, year_ago, trend) -> dict[tuple[str, str, str], list]:
    """Return, per granularity, terminal and region, the (first, last) period starts whose coverage the page needs.

    The calendar shows every slice over the range, with whole weeks and months around it.
    The windows look up only their own region and granularity, days for a week or month,
    and PC and Wireless when the terminal is All (see figures.plan_period).
    """
    granularity, terminal, region = filters.granularity, filters.terminal, filters.region
    granularities = [granularity] if granularity == Granularity.DAY else [granularity, Granularity.DAY]
    terminals = [terminal, Terminal.PC, Terminal.WIRELESS] if terminal == Terminal.ALL else [terminal]

    intervals: dict[tuple[str, str, str], list] = {}
    for periods in (filters.periods, previous, year_ago, trend):
        if not periods:
            continue
        interval = (periods[0], period_end(granularity, periods[-1]))
        for slice_granularity in granularities:
            for slice_terminal in terminals:
                intervals.setdefault((slice_granularity, slice_terminal, region), []).append(interval)

    if filters.periods:
        first_day = filters.covered_first_day
        calendar_start = min(period_start_of(Granularity.WEEK, first_day), period_start_of(Granularity.MONTH, first_day))
        for slice_granularity in Granularity.values:
            for slice_terminal in Terminal.values:
                for slice_region in Region.values:
                    key = (slice_granularity, slice_terminal, slice_region)
                    intervals.setdefault(key, []).append((calendar_start, filters.covered_last_day))
    return intervals


def _window_label(granularity, periods) -> str:
    if not periods:
        return ""
    if len(periods) == 1:
        return period_label(granularity, periods[0])
    return f"{periods[0].isoformat()} ~ {period_end(granularity, periods[-1]).isoformat()}"


def _source_rows(by_key, windows):
    def make_row(source, sub_source, raw_label, label):
        figures = by_key.get((source, sub_source, raw_label), {})
        row = SourceRow(
            source=source,
            sub_source=sub_source,
            raw_label=raw_label,
            label=label,
            current=figures.get(CURRENT, Figures()),
            previous=figures.get(PREVIOUS),
            year_before=figures.get(YEAR_BEFORE),
        )
        for metric in METRICS:
            for name in (PREVIOUS, YEAR_BEFORE):
                row.changes[f"{metric}:{name}"] = _change(row, metric, name, windows)
        return row

    categories = []
    for category in CATEGORIES:
        row = make_row(category.code, "", "", category.label)
        for sub in category.sub_sources:
            child = make_row(category.code, sub.code, "", sub.label)
            if child.has_data:
                row.children.append(child)
        for source, sub_source, raw_label in sorted(by_key):
            if source == category.code and raw_label:
                child = make_row(source, sub_source, raw_label, raw_label)
                if child.has_data:
                    row.children.append(child)
        categories.append(row)

    total = make_row(TOTAL, "", "", source_label(TOTAL))
    total = total if total.has_data else None

    share_basis, denominator = None, None
    if total is not None and total.current.visitors:
        share_basis, denominator = SHARE_OF_TOTAL, total.current.visitors
    else:
        category_sum = sum(row.current.visitors or 0 for row in categories)
        if category_sum:
            share_basis, denominator = SHARE_OF_CATEGORIES, category_sum
    if share_basis == SHARE_OF_TOTAL:
        total.share = Decimal(1)
    if denominator:
        for row in categories:
            for item in [row, *row.children]:
                if item.current.visitors is not None:
                    item.share = (Decimal(item.current.visitors) / denominator).quantize(PERCENT_QUANTUM)
    return categories, total, share_basis


def _change(row: SourceRow, metric: str, name: str, windows) -> Delta | None:
    """Return the change of a metric against an earlier window, when both windows have data for every period."""
    earlier = getattr(row, name)
    if earlier is None or not windows[CURRENT].is_complete or not windows[name].is_complete:
        return None
    now, before = row.current.value(metric), earlier.value(metric)
    if now is None or before is None:
        return None
    if PARTIAL in row.current.note(metric) or PARTIAL in earlier.note(metric):
        return None

    if metric == RATE:
        return Delta((Decimal(now) - Decimal(before)).quantize(PERCENT_QUANTUM), is_points=True)
    if before == 0:
        return None
    return Delta(((Decimal(now) - Decimal(before)) / Decimal(before)).quantize(PERCENT_QUANTUM), is_points=False)


# Sort columns that are changes, mapped to the key of SourceRow.changes.
CHANGE_SORT_COLUMNS = {
    "visitors_previous_change": f"visitors:{PREVIOUS}",
    "visitors_year_change": f"visitors:{YEAR_BEFORE}",
}


def _sort_key(column: str):
    def key(row: SourceRow):
        if column == "share":
            return row.share
        if column in CHANGE_SORT_COLUMNS:
            change = row.changes.get(CHANGE_SORT_COLUMNS[column])
            return change.value if change else None
        return row.current.value(column)

    return key


def _sort_rows(rows: list[SourceRow], sort: str) -> None:
    """Sort categories, and the children of each, by a column; missing values always go last."""
    if not sort:
        return
    descending = sort.startswith("-")
    value_of = _sort_key(sort.lstrip("-"))

    def ordered(items):
        present = [item for item in items if value_of(item) is not None]
        missing = [item for item in items if value_of(item) is None]
        return sorted(present, key=value_of, reverse=descending) + missing

    rows[:] = ordered(rows)
    for row in rows:
        row.children = ordered(row.children)


def _chart(filters: ReportFilters, per_period, trend_window: Window):
    """Return the chart data for json_script and the same numbers as rows for the fallback table."""
    granularity = filters.granularity
    shown = filters.chart_periods()
    if not trend_window.plans:
        return None, []

    plans = {plan.start: plan for plan in trend_window.plans}
    labels = [period_label(granularity, start) for start in shown]
    metric = filters.metric
    is_rate = metric == Metric.FEEDBACK_CONVERSION_RATE

    datasets = []
    for key in filters.series:
        source, _sep, sub_source = key.partition(".")
        periods = per_period.get((source, sub_source), {})
        values, derived = [], []
        for start in shown:
            figures = periods.get(start)
            value = figures.value(metric) if figures else None
            values.append(_json_number(value, is_rate))
            derived.append(bool(figures and figures.note(metric)))
        datasets.append({"key": key, "label": source_label(source, sub_source), "data": values, "derived": derived})

    mix = []
    for category in CATEGORIES:
        mix.append({"key": category.code, "label": category.label, "data": []})
    category_periods = [per_period.get((category.code, ""), {}) for category in CATEGORIES]
    for start in shown:
        values = [periods.get(start) for periods in category_periods]
        visitors = [figures.visitors if figures else None for figures in values]
        category_sum = sum(value or 0 for value in visitors)
        for dataset, value in zip(mix, visitors):
            share = round(100 * value / category_sum, 2) if category_sum and value is not None else None
            dataset["data"].append(share)

    chart = {
        "labels": labels,
        "metric": metric,
        "metricLabel": str(Metric(metric).label),
        "isRate": is_rate,
        "datasets": datasets,
        "mix": mix,
        "derivedPeriods": [bool(plans.get(start) and plans[start].reasons) for start in shown],
        "texts": {
            "mixAxis": _("Share of the sum of categories (%)"),
            "derived": _("derived"),
        },
    }
    table = [
        {
            "label": label,
            "values": [dataset["data"][index] for dataset in datasets],
            "mix": [dataset["data"][index] for dataset in mix],
            "derived": chart["derivedPeriods"][index],
            "has_data": start in plans,
        }
        for index, (start, label) in enumerate(zip(shown, labels))
    ]
    return chart, table


def _json_number(value, is_rate: bool):
    if value is None:
        return None
    if is_rate:
        return round(float(value) * 100, 2)
    return value

