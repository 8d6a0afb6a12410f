"""Assemble everything the traffic page and its exports show for one set of filters."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from traffic.dimensions import Granularity, Region, Terminal, period_end, period_label, period_start_of
from traffic.report.changes import Change, detect_changes
from traffic.report.coverage import CoverageRow, coverage_calendar
from traffic.report.fetch import CoverageBox, aggregate_windows, coverage_for, merge_intervals, trend_rows
from traffic.report.figures import (
    DERIVED_LABELS,
    METRICS,
    PARTIAL,
    RATE,
    Figures,
    Window,
    add_up,
    figures_per_period,
    plan_period,
)
from traffic.report.filters import Metric, ReportFilters
from traffic.report.periods import year_before
from traffic.taxonomy import CATEGORIES, OTHER, TOTAL, source_label

CURRENT, PREVIOUS, YEAR_BEFORE = "current", "previous", "year_before"
# The trend's periods, planned with the windows but not summed with them.
TREND = "trend"
SHARE_OF_TOTAL, SHARE_OF_CATEGORIES = "total", "categories"
# The sum of the categories, because the store total misses some periods that sources have.
SHARE_OF_CATEGORIES_INCOMPLETE_TOTAL = "categories_incomplete_total"

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
    """Query and assemble the page: at most 4 queries however long the range.

    The queries are coverage, coverage of days for weeks or months that have no row of their
    own (only when some do not), sums over the windows, and the trend.
    """
    granularity, terminal, region = filters.granularity, filters.terminal, filters.region
    periods = filters.periods
    previous = filters.previous_periods()
    year_ago = [year_before(granularity, start) for start in periods]
    year_ago = sorted(set(period_start_of(granularity, start) for start in year_ago))
    trend = filters.trend_periods()
    window_periods = {CURRENT: periods, PREVIOUS: previous, YEAR_BEFORE: year_ago, TREND: trend}

    coverage = coverage_for(store, _coverage_boxes(filters, window_periods.values()))
    windows = _plan_windows(coverage, filters, window_periods)
    if granularity != Granularity.DAY:
        missing = {start for window in windows.values() for start in window.missing_periods()}
        if missing:
            coverage |= coverage_for(store, _day_boxes(filters, missing))
            windows = _plan_windows(coverage, filters, window_periods)
    trend_window = windows.pop(TREND)

    by_key = _add_unmapped_to_others(aggregate_windows(store, region, windows), (OTHER, "", ""))
    categories, total, share_basis = _source_rows(by_key, windows)
    _sort_rows(categories, filters.sort)

    chosen_subs = [tuple(key.split(".", 1)) for key in filters.series if "." in key]
    per_period = _add_unmapped_to_others(
        figures_per_period(granularity, trend_window, trend_rows(store, region, trend_window, chosen_subs)), (OTHER, "")
    )
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
        for notes in row.current.notes.values():
            reasons |= notes

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


def _add_unmapped_to_others(figures_by_key: dict, others_key: tuple) -> dict:
    """Add each label not yet mapped into the Others category, as the file's own Others row lacks it.

    figures_by_key maps a source key to {window name or period start: Figures}, and others_key
    is the key of the Others category in it. A label's key is (OTHER, "", raw label). The
    labels keep their own keys for their child rows.
    """
    label_keys = [key for key in figures_by_key if len(key) == 3 and key[0] == OTHER and not key[1] and key[2]]
    if not label_keys:
        return figures_by_key

    parts_by_key = [figures_by_key.get(others_key, {})] + [figures_by_key[key] for key in label_keys]
    added = {}
    for name in {name for parts in parts_by_key for name in parts}:
        added[name] = add_up([parts[name] for parts in parts_by_key if name in parts], DERIVED_LABELS)
    return {**figures_by_key, others_key: added}


def _window_terminals(terminal: str) -> tuple[str, ...]:
    """Return the terminals whose figures a window may use: All falls back to PC plus Wireless."""
    if terminal == Terminal.ALL:
        return (Terminal.ALL, Terminal.PC, Terminal.WIRELESS)
    return (terminal,)


def _coverage_boxes(filters: ReportFilters, window_periods) -> list[CoverageBox]:
    """Return the coverage the page needs before it has found which weeks or months must come from days.

    The windows look up their own granularity and region, with PC and Wireless when the
    terminal is All (see figures.plan_period). The calendar shows every slice over the range,
    with whole weeks and months around it.
    """
    granularity, region = filters.granularity, filters.region
    terminals = _window_terminals(filters.terminal)
    spans = [(periods[0], period_end(granularity, periods[-1])) for periods in window_periods if periods]
    boxes = [
        CoverageBox((granularity,), terminals, (region,), first_day, last_day)
        for first_day, last_day in merge_intervals(spans)
    ]

    if filters.periods:
        first_day = filters.covered_first_day
        calendar_start = min(period_start_of(Granularity.WEEK, first_day), period_start_of(Granularity.MONTH, first_day))
        boxes.append(
            CoverageBox(
                tuple(Granularity.values), tuple(Terminal.values), tuple(Region.values), calendar_start, filters.covered_last_day
            )
        )
    return boxes


def _day_boxes(filters: ReportFilters, period_starts) -> list[CoverageBox]:
    """Return the coverage of the days of these weeks or months, from which plan_period may sum them."""
    granularity = filters.granularity
    spans = [(start, period_end(granularity, start)) for start in period_starts]
    terminals = _window_terminals(filters.terminal)
    return [
        CoverageBox((Granularity.DAY,), terminals, (filters.region,), first_day, last_day)
        for first_day, last_day in merge_intervals(spans)
    ]


def _plan_windows(coverage, filters: ReportFilters, window_periods: dict[str, list]) -> dict[str, Window]:
    """Plan each window, planning a period that several windows share (the range and the trend) once."""
    granularity, terminal, region = filters.granularity, filters.terminal, filters.region
    plans = {}
    windows = {}
    for name, periods in window_periods.items():
        window_plans = []
        for start in periods:
            if start in plans:
                plan = plans[start]
            else:
                plan = plans[start] = plan_period(coverage, granularity, terminal, region, start)
            if plan is not None:
                window_plans.append(plan)
        windows[name] = Window(periods=list(periods), plans=window_plans)
    return windows


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

    raw_keys = sorted(key for key in by_key if key[2])
    categories = []
    for category in CATEGORIES:
        row = make_row(category.code, "", "", category.label)
        for sub in category.sub_sources:
            # A sub-source without figures gets no row, so skip building one.
            if (category.code, sub.code, "") not in by_key:
                continue
            child = make_row(category.code, sub.code, "", sub.label)
            if child.has_data:
                row.children.append(child)
        for source, sub_source, raw_label in raw_keys:
            if source == category.code:
                child = make_row(source, sub_source, raw_label, raw_label)
                if child.has_data:
                    row.children.append(child)
        categories.append(row)

    total = make_row(TOTAL, "", "", source_label(TOTAL))
    total = total if total.has_data else None

    share_basis, denominator = None, None
    total_is_partial = total is not None and PARTIAL in total.current.note("visitors")
    if total is not None and total.current.visitors and not total_is_partial:
        share_basis, denominator = SHARE_OF_TOTAL, total.current.visitors
    else:
        category_sum = sum(row.current.visitors or 0 for row in categories)
        if category_sum:
            share_basis = SHARE_OF_CATEGORIES_INCOMPLETE_TOTAL if total_is_partial else SHARE_OF_CATEGORIES
            denominator = category_sum
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
            if figures is None:
                values.append(None)
                derived.append(False)
                continue
            values.append(_json_number(getattr(figures, metric), is_rate))
            derived.append(bool(figures.notes.get(metric)))
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
    # The same numbers per period instead of per dataset; zip(*...) transposes the lists.
    values_by_period = list(zip(*[dataset["data"] for dataset in datasets])) or [()] * len(shown)
    mix_by_period = list(zip(*[dataset["data"] for dataset in mix]))
    table = [
        {
            "label": label,
            "values": list(values_by_period[index]),
            "mix": list(mix_by_period[index]),
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

