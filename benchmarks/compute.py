"""Compute baseline snapshots from cohorts, and write them.

compute_cohort is pure: it takes store slices and the method parameters and
returns the values, so tests can check it by hand. recompute_period reads a
whole period with one query, computes every cohort and writes one snapshot
per cohort.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from benchmarks import cohorts
from benchmarks.models import (
    BaselineSnapshot,
    BaselineValue,
    BenchmarkRun,
    Metric,
    MethodSettings,
    RankingMetric,
    SizeBand,
    SuppressionReason,
)
from benchmarks.stats import median, percentile_cont, top_group_size
from traffic.taxonomy import TOTAL

logger = logging.getLogger(__name__)

# Progress is written after every this many cohorts, so the polled run page moves without a write per cohort.
PROGRESS_EVERY = 10


@dataclass
class ValueResult:
    source: str
    metric: str
    contributors: int
    top_contributors: int
    p25: float | None
    median: float | None
    p75: float | None
    top_median: float | None
    suppressed_reason: str = ""


@dataclass
class CohortResult:
    cohort_size: int
    top_group_size: int
    stores_with_total_row: int
    stores_with_category_sum: int
    withheld_reason: str
    values: list[ValueResult] = field(default_factory=list)


def ranking_value(store_slice: cohorts.StoreSlice, ranking_metric: str) -> float | None:
    if ranking_metric == RankingMetric.CONVERSION_RATE:
        return store_slice.total_conversion_rate
    return store_slice.total_feedback_customers


def select_top_group(store_slices, parameters: dict) -> set[int]:
    """Return the store ids of the top group: the best stores by the ranking metric.

    Stores without a ranking value are never in the top group. Ties are broken
    by store id so a recompute of the same data picks the same stores.
    """
    ranked = [
        (value, store_slice.store_id)
        for store_slice in store_slices
        if (value := ranking_value(store_slice, parameters["ranking_metric"])) is not None
    ]
    ranked.sort(key=lambda pair: (-pair[0], pair[1]))

    size = top_group_size(len(store_slices), parameters["top_rule"], parameters["top_value"])
    return {store_id for _value, store_id in ranked[:size]}


def compute_cohort(store_slices: list[cohorts.StoreSlice], parameters: dict) -> CohortResult:
    """Compute every source's baselines for one cohort, with the suppression each needs."""
    cohort_size = len(store_slices)
    top_ids = select_top_group(store_slices, parameters)
    with_total_row = sum(1 for store_slice in store_slices if store_slice.uses_total_row)

    withheld_reason = ""
    if cohort_size < parameters["min_cohort_size"]:
        withheld_reason = SuppressionReason.SMALL_COHORT
    elif len(top_ids) < parameters["min_top_group_size"]:
        withheld_reason = SuppressionReason.SMALL_TOP_GROUP

    result = CohortResult(
        cohort_size=cohort_size,
        top_group_size=len(top_ids),
        stores_with_total_row=with_total_row,
        stores_with_category_sum=cohort_size - with_total_row,
        withheld_reason=withheld_reason,
    )

    for source in cohorts.CATEGORY_CODES:
        dominance = is_dominated(store_slices, source, parameters["max_dominant_percent"])

        shares = [(s.store_id, s.visitor_share(source)) for s in store_slices]
        result.values.append(value_result(source, Metric.VISITOR_SHARE, shares, top_ids, parameters, dominance))

        rates = [(s.store_id, source_rate(s, source)) for s in store_slices]
        result.values.append(value_result(source, Metric.FEEDBACK_CONVERSION_RATE, rates, top_ids, parameters, dominance))

    overall = [(s.store_id, s.total_conversion_rate) for s in store_slices]
    result.values.append(value_result(TOTAL, Metric.FEEDBACK_CONVERSION_RATE, overall, top_ids, parameters, False))
    return result


def source_rate(store_slice: cohorts.StoreSlice, source: str) -> float | None:
    figures = store_slice.sources.get(source)
    if figures is None or not figures.visitors:
        return None
    return figures.feedback_conversion_rate


def is_dominated(store_slices, source: str, max_dominant_percent: int) -> bool:
    """Return whether one store has more than max_dominant_percent of the cohort's visitors in the source."""
    visitors = [
        store_slice.sources[source].visitors
        for store_slice in store_slices
        if source in store_slice.sources and store_slice.sources[source].visitors
    ]
    total = sum(visitors)
    if not total:
        return False
    return max(visitors) * 100 > total * max_dominant_percent


def value_result(source, metric, store_values, top_ids, parameters, dominated) -> ValueResult:
    values = sorted(value for _store_id, value in store_values if value is not None)
    top_values = sorted(value for store_id, value in store_values if value is not None and store_id in top_ids)

    reason = ""
    if dominated:
        reason = SuppressionReason.DOMINANCE
    elif len(values) < parameters["min_cohort_size"]:
        reason = SuppressionReason.FEW_CONTRIBUTORS

    # A top median over fewer stores than the minimum top group would expose them; it is not computed.
    top_median = median(top_values) if len(top_values) >= parameters["min_top_group_size"] else None
    return ValueResult(
        source=source,
        metric=metric,
        contributors=len(values),
        top_contributors=len(top_values),
        p25=percentile_cont(values, 0.25),
        median=median(values),
        p75=percentile_cont(values, 0.75),
        top_median=top_median,
        suppressed_reason=reason,
    )


# Writing snapshots.


def band_definitions() -> list[dict]:
    return [
        {
            "id": band.id,
            "label_zh": band.label_zh,
            "label_en": band.label_en,
            "min_monthly_visitors": band.min_monthly_visitors,
            "max_monthly_visitors": band.max_monthly_visitors,
        }
        for band in SizeBand.objects.all()
    ]


def cohort_groups(by_dimension, granularity: str, bands: list[dict]):
    """Yield (industry_id, terminal, region, band or None, store slices) for every cohort of the period."""
    visitors_for_band = cohorts.band_visitors(by_dimension)

    for (terminal, region), store_slices in sorted(by_dimension.items()):
        by_industry = defaultdict(list)
        for store_slice in store_slices:
            by_industry[store_slice.industry_id].append(store_slice)

        for industry_id, members in sorted(by_industry.items()):
            yield industry_id, terminal, region, None, members

            by_band = defaultdict(list)
            for store_slice in members:
                visitors = visitors_for_band.get(store_slice.store_id, store_slice.total_visitors)
                band = cohorts.band_of(visitors, bands, granularity)
                if band is not None:
                    by_band[band["id"]].append(store_slice)
            for band in bands:
                if by_band[band["id"]]:
                    yield industry_id, terminal, region, band, by_band[band["id"]]


def recompute_period(run: BenchmarkRun) -> int:
    """Compute and write a snapshot for every cohort of the run's period; return how many are publishable.

    Cohorts are computed in batches of PROGRESS_EVERY. Each batch is written in
    one transaction with two bulk inserts, and the run's progress is updated
    after it. The polled run page shows progress, and a crash never leaves half a snapshot.
    """
    method = MethodSettings.current()
    parameters = method.as_parameters()
    bands = band_definitions() if method.split_by_size_band else []

    by_dimension = cohorts.load_period(run.granularity, run.period_start)
    groups = list(cohort_groups(by_dimension, run.granularity, bands))
    BenchmarkRun.objects.filter(pk=run.pk).update(cohorts_total=len(groups), cohorts_done=0)
    logger.info("benchmark run=%s: %d cohorts for %s %s", run.pk, len(groups), run.granularity, run.period_start)

    publishable = 0
    for first in range(0, len(groups), PROGRESS_EVERY):
        batch = []
        for industry_id, terminal, region, band, members in groups[first:first + PROGRESS_EVERY]:
            result = compute_cohort(members, parameters)
            batch.append((industry_id, terminal, region, band, result))
            if not result.withheld_reason:
                publishable += 1
        write_snapshots(run, parameters, batch)
        BenchmarkRun.objects.filter(pk=run.pk).update(
            cohorts_done=first + len(batch), snapshots_publishable=publishable
        )
    return publishable


@transaction.atomic
def write_snapshots(run, parameters, batch) -> list[BaselineSnapshot]:
    """Insert one snapshot per (industry_id, terminal, region, band, CohortResult) with its values."""
    snapshots = BaselineSnapshot.objects.bulk_create(
        BaselineSnapshot(
            run=run,
            industry_id=industry_id,
            granularity=run.granularity,
            period_start=run.period_start,
            terminal=terminal,
            region=region,
            size_band_id=band["id"] if band else None,
            size_band_definition=band or {},
            method=parameters,
            cohort_size=result.cohort_size,
            top_group_size=result.top_group_size,
            stores_with_total_row=result.stores_with_total_row,
            stores_with_category_sum=result.stores_with_category_sum,
            withheld_reason=result.withheld_reason,
        )
        for industry_id, terminal, region, band, result in batch
    )
    BaselineValue.objects.bulk_create(
        BaselineValue(
            snapshot=snapshot,
            source=value.source,
            metric=value.metric,
            contributors=value.contributors,
            top_contributors=value.top_contributors,
            p25=value.p25,
            median=value.median,
            p75=value.p75,
            top_median=value.top_median,
            suppressed_reason=value.suppressed_reason,
        )
        for snapshot, (*_key, result) in zip(snapshots, batch)
        for value in result.values
    )
    return snapshots


def start_run(granularity: str, period_start: datetime.date, trigger: str, user=None) -> BenchmarkRun:
    return BenchmarkRun.objects.create(
        granularity=granularity, period_start=period_start, trigger=trigger, started_by=user
    )


def claim_run(run_id: int) -> bool:
    """Mark a queued run as running; return False when another worker already has it."""
    claimed = BenchmarkRun.objects.filter(pk=run_id, status=BenchmarkRun.Status.QUEUED).update(
        status=BenchmarkRun.Status.RUNNING, started_at=timezone.now()
    )
    return claimed == 1


def execute_run(run_id: int) -> BenchmarkRun:
    """Run a claimed run to the end and record success or the error."""
    run = BenchmarkRun.objects.get(pk=run_id)
    try:
        publishable = recompute_period(run)
    except Exception as exc:
        BenchmarkRun.objects.filter(pk=run_id).update(
            status=BenchmarkRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise

    BenchmarkRun.objects.filter(pk=run_id).update(
        status=BenchmarkRun.Status.SUCCEEDED, finished_at=timezone.now(), snapshots_publishable=publishable
    )
    run.refresh_from_db()
    logger.info("benchmark run=%s succeeded: %d publishable snapshots", run_id, publishable)
    return run
