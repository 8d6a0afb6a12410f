"""Load the contributing stores' figures for one period, grouped into cohorts.

A cohort is the contributing stores of one industry for one period, terminal
and region, optionally narrowed to one size band. Only category rows and the
store total row are read: sub-source rows and rows under a raw label that no
mapping covers yet are not part of any baseline.
"""

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from traffic.dimensions import Granularity, Region, Terminal
from traffic.models import TrafficFigure
from traffic.taxonomy import CATEGORIES, TOTAL

CATEGORY_CODES = tuple(category.code for category in CATEGORIES)
# Average days per month, to scale monthly size-band bounds to weeks.
DAYS_PER_MONTH = 30.4375


@dataclass
class SourceFigures:
    visitors: int | None
    # inquiry_customers + tm_customers; None when either count is missing.
    feedback_customers: int | None
    feedback_conversion_rate: float | None


@dataclass
class StoreSlice:
    """One store's figures for one terminal and region of the period."""

    store_id: int
    industry_id: int
    sources: dict[str, SourceFigures] = field(default_factory=dict)
    total_row: SourceFigures | None = None

    @property
    def uses_total_row(self) -> bool:
        return self.total_row is not None and self.total_row.visitors is not None

    @functools.cached_property
    def total_visitors(self) -> int | None:
        """Return the total row's visitors, or else the sum of the categories' visitors.

        Cached, so read it only once the slice has all its rows.
        """
        if self.uses_total_row:
            return self.total_row.visitors
        known = [figures.visitors for figures in self.sources.values() if figures.visitors is not None]
        return sum(known) if known else None

    @property
    def total_feedback_customers(self) -> int | None:
        if self.total_row is not None and self.total_row.feedback_customers is not None:
            return self.total_row.feedback_customers
        known = [figures.feedback_customers for figures in self.sources.values() if figures.feedback_customers is not None]
        return sum(known) if known else None

    @property
    def total_conversion_rate(self) -> float | None:
        if self.total_row is not None and self.total_row.feedback_conversion_rate is not None:
            return self.total_row.feedback_conversion_rate
        visitors = self.total_visitors
        customers = self.total_feedback_customers
        if not visitors or customers is None:
            return None
        return customers / visitors

    def visitor_share(self, source: str) -> float | None:
        figures = self.sources.get(source)
        total = self.total_visitors
        if figures is None or figures.visitors is None or not total:
            return None
        return figures.visitors / total


def source_figures(visitors, inquiry_customers, tm_customers, stored_rate) -> SourceFigures:
    """Build a source's figures; the rate comes from the counts, or from the file when a count is missing."""
    if inquiry_customers is not None and tm_customers is not None:
        customers = inquiry_customers + tm_customers
        rate = customers / visitors if visitors else None
        return SourceFigures(visitors, customers, rate)

    rate = float(stored_rate) if stored_rate is not None else None
    return SourceFigures(visitors, None, rate)


def sharing_filter():
    """Return (store ids, whether they are the only ones included) for the contribution choice.

    With BENCHMARK_CONTRIBUTE_DEFAULT on, the ids are the stores that opted out;
    with it off, the stores that opted in. Either list is short, so one small
    query replaces a join on every figure row.
    """
    from benchmarks.models import StoreSharing

    if settings.BENCHMARK_CONTRIBUTE_DEFAULT:
        return set(StoreSharing.objects.filter(contributes=False).values_list("store_id", flat=True)), False
    return set(StoreSharing.objects.filter(contributes=True).values_list("store_id", flat=True)), True


def load_period(granularity: str, period_start: datetime.date, industry_ids=None) -> dict[tuple[str, str], list[StoreSlice]]:
    """Return every contributing store's slice of the period, keyed by (terminal, region).

    One query reads all industries at once; the caller groups by industry.
    """
    sharing_ids, only_listed = sharing_filter()
    figures = TrafficFigure.objects.filter(
        granularity=granularity,
        period_start=period_start,
        is_current=True,
        sub_source="",
        raw_label="",
        store__main_industry__isnull=False,
    )
    if industry_ids is not None:
        figures = figures.filter(store__main_industry_id__in=industry_ids)
    rows = figures.values_list(
        "store_id", "store__main_industry_id", "terminal", "region", "source",
        "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate",
    )

    slices: dict[tuple[int, str, str], StoreSlice] = {}
    for store_id, industry_id, terminal, region, source, visitors, inquiry, tm, rate in rows:
        if (store_id in sharing_ids) != only_listed:
            continue
        key = (store_id, terminal, region)
        store_slice = slices.get(key)
        if store_slice is None:
            store_slice = slices[key] = StoreSlice(store_id=store_id, industry_id=industry_id)

        figures = source_figures(visitors, inquiry, tm, rate)
        if source == TOTAL:
            store_slice.total_row = figures
        elif source in CATEGORY_CODES:
            store_slice.sources[source] = figures

    by_dimension: dict[tuple[str, str], list[StoreSlice]] = defaultdict(list)
    for (_store_id, terminal, region), store_slice in slices.items():
        if store_slice.total_visitors:
            by_dimension[(terminal, region)].append(store_slice)
    return by_dimension


def band_bounds(band_definition: dict, granularity: str) -> tuple[float, float | None]:
    """Return a size band's visitor bounds for the period's length (the band is set per month)."""
    factor = 7 / DAYS_PER_MONTH if granularity == Granularity.WEEK else 1.0
    low = band_definition["min_monthly_visitors"] * factor
    high = band_definition["max_monthly_visitors"]
    return low, (high * factor if high is not None else None)


def band_of(visitors: int, bands: list[dict], granularity: str) -> dict | None:
    for band in bands:
        low, high = band_bounds(band, granularity)
        if visitors >= low and (high is None or visitors < high):
            return band
    return None


def band_visitors(by_dimension: dict[tuple[str, str], list[StoreSlice]]) -> dict[int, int]:
    """Return each store's visitors for size banding: all terminals and all traffic.

    One number per store keeps a store in the same band on every terminal and
    region of the period. A store without that slice is banded by each slice's own total.
    """
    return {
        store_slice.store_id: store_slice.total_visitors
        for store_slice in by_dimension.get((Terminal.ALL, Region.ALL), [])
    }


def store_slices_by_period(store, granularity: str, terminal: str, region: str, period_starts) -> dict[datetime.date, StoreSlice]:
    """Return one store's slices for several periods, read with one query."""
    rows = TrafficFigure.objects.filter(
        store=store,
        granularity=granularity,
        terminal=terminal,
        region=region,
        period_start__in=list(period_starts),
        is_current=True,
        sub_source="",
        raw_label="",
    ).values_list("period_start", "source", "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate")

    slices: dict[datetime.date, StoreSlice] = {}
    for period_start, source, visitors, inquiry, tm, rate in rows:
        store_slice = slices.setdefault(period_start, StoreSlice(store_id=store.id, industry_id=store.main_industry_id))
        figures = source_figures(visitors, inquiry, tm, rate)
        if source == TOTAL:
            store_slice.total_row = figures
        elif source in CATEGORY_CODES:
            store_slice.sources[source] = figures
    return slices
