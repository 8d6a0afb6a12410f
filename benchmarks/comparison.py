"""A store's figures against the published baselines of its industry: mix, conversion and gaps.

Only published snapshots and values that are not suppressed are read here,
and nothing returned names or counts a single contributing store.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from benchmarks import cohorts
from benchmarks.models import BaselineSnapshot, BaselineValue, Metric, PeerFigure, StoreSharing
from benchmarks.publication import published_snapshots
from benchmarks.stats import wilson_interval
from traffic.dimensions import Granularity, Region, Terminal
from traffic.taxonomy import CATEGORIES, TOTAL, source_label

# How many periods the gap trend shows, ending at the chosen period.
TREND_PERIODS = 12
# How many advice lines the page shows.
ADVICE_LINES = 4


class Scope:
    INDUSTRY = "industry"
    SIZE_BAND = "size_band"


@dataclass
class Baseline:
    """The published figures of one source and metric: peer median, band and top-store median."""

    p25: float | None
    median: float | None
    p75: float | None
    top_median: float | None
    contributors: int

    @classmethod
    def from_value(cls, value: BaselineValue | None) -> "Baseline | None":
        if value is None or value.is_suppressed:
            return None
        return cls(p25=value.p25, median=value.median, p75=value.p75, top_median=value.top_median,
                   contributors=value.contributors)


@dataclass
class SourceComparison:
    source: str
    label: str
    visitors: int | None = None
    feedback_customers: int | None = None
    visitor_share: float | None = None
    conversion_rate: float | None = None
    # 95% Wilson interval of the store's own conversion rate.
    rate_low: float | None = None
    rate_high: float | None = None
    share_baseline: Baseline | None = None
    rate_baseline: Baseline | None = None
    # Extra feedback customers per period at the top-store median rate; None when it cannot be computed.
    extra_customers: float | None = None
    significant: bool = False

    @property
    def rate_ratio(self) -> float | None:
        if self.conversion_rate is None or not self.rate_baseline or not self.rate_baseline.top_median:
            return None
        return self.conversion_rate / self.rate_baseline.top_median


@dataclass
class Comparison:
    snapshot: BaselineSnapshot
    sources: list[SourceComparison]
    overall: SourceComparison
    uses_total_row: bool
    gaps: list[SourceComparison] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def store_contributes(store) -> bool:
    sharing = StoreSharing.objects.filter(store=store).first()
    if sharing is None:
        return settings.BENCHMARK_CONTRIBUTE_DEFAULT
    return sharing.contributes


def may_view_baselines(store) -> bool:
    return store_contributes(store) or not settings.BENCHMARK_VIEW_REQUIRES_CONTRIBUTING


def find_snapshot(store, granularity, period_start, terminal, region, scope=Scope.INDUSTRY, store_slice=None):
    """Return the published snapshot for the store's cohort, or None.

    With Scope.SIZE_BAND the cohort is the store's own size band, found from
    its visitors in the period. Without a published snapshot for that band it returns None.
    """
    if store.main_industry_id is None:
        return None
    snapshots = published_snapshots().filter(
        industry_id=store.main_industry_id,
        granularity=granularity,
        period_start=period_start,
        terminal=terminal,
        region=region,
    )
    if scope != Scope.SIZE_BAND:
        return snapshots.filter(size_band__isnull=True).first()

    band_slice = cohorts.store_slices_by_period(store, granularity, Terminal.ALL, Region.ALL, [period_start]).get(period_start)
    visitors = (band_slice or store_slice).total_visitors if (band_slice or store_slice) else None
    if not visitors:
        return None
    for snapshot in snapshots.filter(size_band__isnull=False):
        low, high = cohorts.band_bounds(snapshot.size_band_definition, granularity)
        if visitors >= low and (high is None or visitors < high):
            return snapshot
    return None


def compare_source(store_slice: cohorts.StoreSlice | None, source: str, values: dict) -> SourceComparison:
    """Compare one source of the store with the snapshot's values, keyed by (source, metric)."""
    row = SourceComparison(source=source, label=source_label(source))
    row.share_baseline = Baseline.from_value(values.get((source, Metric.VISITOR_SHARE)))
    row.rate_baseline = Baseline.from_value(values.get((source, Metric.FEEDBACK_CONVERSION_RATE)))
    if store_slice is None:
        return row

    if source == TOTAL:
        row.visitors = store_slice.total_visitors
        row.feedback_customers = store_slice.total_feedback_customers
        row.conversion_rate = store_slice.total_conversion_rate
    else:
        figures = store_slice.sources.get(source)
        if figures is not None:
            row.visitors = figures.visitors
            row.feedback_customers = figures.feedback_customers
            row.conversion_rate = figures.feedback_conversion_rate if figures.visitors else None
            row.visitor_share = store_slice.visitor_share(source)

    add_gap(row)
    return row


def add_gap(row: SourceComparison) -> None:
    """Set the Wilson interval, the opportunity against the top-store median and whether the gap is significant."""
    if row.visitors and row.feedback_customers is not None and row.feedback_customers <= row.visitors:
        row.rate_low, row.rate_high = wilson_interval(row.feedback_customers, row.visitors)

    if row.rate_baseline is None or row.rate_baseline.top_median is None:
        return
    if not row.visitors or row.conversion_rate is None:
        return

    target = row.rate_baseline.top_median
    row.extra_customers = max(0.0, row.visitors * (target - row.conversion_rate))
    # Significant only when the whole 95% interval of the store's rate lies below the target.
    row.significant = row.rate_high is not None and row.rate_high < target


def build_comparison(store, granularity, period_start, terminal, region, scope=Scope.INDUSTRY) -> Comparison | None:
    """Return the store's comparison with its published cohort for one period, or None without one."""
    store_slice = cohorts.store_slices_by_period(store, granularity, terminal, region, [period_start]).get(period_start)
    snapshot = find_snapshot(store, granularity, period_start, terminal, region, scope, store_slice)
    if snapshot is None:
        return None

    values = {(value.source, value.metric): value for value in snapshot.values.all()}
    sources = [compare_source(store_slice, category.code, values) for category in CATEGORIES]
    overall = compare_source(store_slice, TOTAL, values)

    gaps = [row for row in sources if row.extra_customers]
    gaps.sort(key=lambda row: (-row.extra_customers, row.source))
    comparison = Comparison(
        snapshot=snapshot,
        sources=sources,
        overall=overall,
        uses_total_row=bool(store_slice and store_slice.uses_total_row),
        gaps=gaps,
    )
    comparison.advice = advice_lines(comparison, granularity)
    return comparison


# Advice.


def format_count(value: float) -> str:
    return f"{round(value):,}"


def format_percent(fraction: float) -> str:
    return f"{fraction * 100:.2f}%"


def conversion_advice(row: SourceComparison, granularity: str) -> str:
    parameters = {
        "source": row.label,
        "ratio": f"{row.rate_ratio * 100:.0f}%",
        "visitors": format_count(row.visitors),
        "extra": format_count(row.extra_customers),
    }
    if not row.conversion_rate and granularity == Granularity.WEEK:
        line = _(
            "%(source)s brought no feedback customers from %(visitors)s visitors: "
            "at the top-store rate that would be about %(extra)s a week."
        ) % parameters
    elif not row.conversion_rate:
        line = _(
            "%(source)s brought no feedback customers from %(visitors)s visitors: "
            "at the top-store rate that would be about %(extra)s a month."
        ) % parameters
    elif granularity == Granularity.WEEK:
        line = _(
            "%(source)s converts at %(ratio)s of the top-store rate on %(visitors)s visitors: "
            "about %(extra)s more feedback customers a week at their rate."
        ) % parameters
    else:
        line = _(
            "%(source)s converts at %(ratio)s of the top-store rate on %(visitors)s visitors: "
            "about %(extra)s more feedback customers a month at their rate."
        ) % parameters
    if not row.significant:
        line += " " + _("With this few visitors the gap may be chance.")
    return line


def mix_advice(row: SourceComparison) -> str:
    return _(
        "%(source)s brings %(share)s of your visitors, below most peers (%(low)s to %(high)s); "
        "there may be traffic to win here."
    ) % {
        "source": row.label,
        "share": format_percent(row.visitor_share),
        "low": format_percent(row.share_baseline.p25),
        "high": format_percent(row.share_baseline.p75),
    }


def advice_lines(comparison: Comparison, granularity: str) -> list[str]:
    """Return plain-language lines: the biggest conversion gaps first, then the mix shortfalls."""
    lines = [
        conversion_advice(row, granularity)
        for row in comparison.gaps
        if row.rate_ratio is not None and round(row.extra_customers) >= 1
    ]
    for row in comparison.sources:
        baseline = row.share_baseline
        if baseline and row.visitor_share is not None and baseline.p25 is not None and row.visitor_share < baseline.p25:
            lines.append(mix_advice(row))
    return lines[:ADVICE_LINES]


# Trend of the gaps.


def gap_trend(store, granularity, period_start, terminal, region, scope=Scope.INDUSTRY) -> dict:
    """Return chart data: the last TREND_PERIODS periods with a published snapshot and each source's gap.

    A gap is the extra feedback customers at the top-store median rate; None
    where the store had no figures or the value was suppressed.
    """
    snapshots = list(
        published_snapshots()
        .filter(
            industry_id=store.main_industry_id,
            granularity=granularity,
            terminal=terminal,
            region=region,
            size_band__isnull=True,
            period_start__lte=period_start,
        )
        .order_by("-period_start")[:TREND_PERIODS]
    )
    snapshots.reverse()
    periods = [snapshot.period_start for snapshot in snapshots]
    slices = cohorts.store_slices_by_period(store, granularity, terminal, region, periods)
    rate_values = BaselineValue.objects.filter(
        snapshot__in=snapshots, metric=Metric.FEEDBACK_CONVERSION_RATE
    ).values_list("snapshot_id", "source", "top_median", "p25", "median", "p75", "contributors", "suppressed_reason")
    by_snapshot = {}
    for snapshot_id, source, top_median, p25, middle, p75, contributors, reason in rate_values:
        value = BaselineValue(source=source, metric=Metric.FEEDBACK_CONVERSION_RATE, top_median=top_median,
                              p25=p25, median=middle, p75=p75, contributors=contributors, suppressed_reason=reason)
        by_snapshot[(snapshot_id, source)] = value

    series = {category.code: [] for category in CATEGORIES}
    for snapshot in snapshots:
        for category in CATEGORIES:
            values = {(category.code, Metric.FEEDBACK_CONVERSION_RATE): by_snapshot.get((snapshot.id, category.code))}
            row = compare_source(slices.get(snapshot.period_start), category.code, values)
            gap = row.extra_customers
            series[category.code].append(round(gap, 1) if gap is not None else None)

    return {
        "labels": [period_label_short(granularity, period) for period in periods],
        "datasets": [
            {"source": category.code, "label": category.label, "data": series[category.code]}
            for category in CATEGORIES
            if any(point is not None and point > 0 for point in series[category.code])
        ],
    }


def period_label_short(granularity: str, period_start: datetime.date) -> str:
    if granularity == Granularity.MONTH:
        return period_start.strftime("%Y-%m")
    return period_start.isoformat()


def peer_figures(store, granularity, period_start, terminal, region):
    """Return the platform's own peer figures for the store's industry and period, and those from its own files."""
    if store.main_industry_id is None:
        return PeerFigure.objects.none()
    platform = PeerFigure.objects.filter(industry_id=store.main_industry_id, store__isnull=True)
    own = PeerFigure.objects.filter(store=store)
    return (platform | own).filter(
        granularity=granularity, period_start=period_start, terminal=terminal, region=region
    ).order_by("source", "metric", "origin")


def chart_data(comparison: Comparison) -> dict:
    """Return the grouped-bar data of the page: share and conversion, yours against the baselines."""

    def points(rows, attribute, metric_attribute):
        data = []
        for row in rows:
            baseline = getattr(row, metric_attribute)
            if attribute == "own":
                value = row.visitor_share if metric_attribute == "share_baseline" else row.conversion_rate
            else:
                value = getattr(baseline, attribute) if baseline else None
            data.append(round(value * 100, 3) if value is not None and not math.isnan(value) else None)
        return data

    rows = comparison.sources
    labels = [row.label for row in rows]
    series_names = {
        "own": _("Your store"),
        "median": _("Peer median"),
        "top_median": _("Top-store median"),
    }

    def chart(metric_attribute):
        return {
            "labels": labels,
            "datasets": [
                {"key": key, "label": name, "data": points(rows, key, metric_attribute)}
                for key, name in series_names.items()
            ],
            "bands": {
                "low": points(rows, "p25", metric_attribute),
                "high": points(rows, "p75", metric_attribute),
                "label": _("Middle half of peers (25th to 75th percentile)"),
            },
        }

    return {"mix": chart("share_baseline"), "conversion": chart("rate_baseline")}
