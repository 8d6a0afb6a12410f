"""Cohort baselines computed by hand, suppression, contribution choice, immutability and publication."""

import pytest

from accounts.models import AuditEvent
from benchmarks import cohorts
from benchmarks.compute import compute_cohort
from benchmarks.models import BaselineSnapshot, Metric, MethodSettings, StoreSharing, SuppressionReason
from benchmarks.publication import publish, unpublish
from tests.benchmark_fixtures import MONTH, make_peer, recompute
from tests.helpers import add_figure, make_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def top_five():
    """Use a top group of the best 5 stores, so a cohort of 10 can be published."""
    method = MethodSettings.current()
    method.top_rule = "count"
    method.top_value = 5
    method.save()
    return method


def make_rate_cohort(industry, count, slug_prefix="peer"):
    """Store i: search 100*i visitors with i*i customers (rate i%), other 100 visitors, total 200*i."""
    return [
        make_peer(industry, i, 100 * i, i * i, total_visitors=200 * i, slug_prefix=slug_prefix)
        for i in range(1, count + 1)
    ]


def value(snapshot, source, metric):
    return snapshot.values.get(source=source, metric=metric)


def only_snapshot(terminal="all", region="all"):
    return BaselineSnapshot.objects.get(terminal=terminal, region=region)


def test_cohort_medians_by_hand(industry, top_five):
    make_rate_cohort(industry, 10)

    recompute()

    snapshot = only_snapshot()
    assert snapshot.cohort_size == 10
    assert snapshot.top_group_size == 5
    assert snapshot.withheld_reason == ""
    assert snapshot.is_published

    rate = value(snapshot, "search", Metric.FEEDBACK_CONVERSION_RATE)
    # Rates 1%..10%: median between the 5th and 6th, p25 at position 2.25, p75 at 6.75.
    assert rate.median == pytest.approx(0.055)
    assert rate.p25 == pytest.approx(0.0325)
    assert rate.p75 == pytest.approx(0.0775)
    # Top 5 by feedback customers are stores 6..10, with rates 6%..10%.
    assert rate.top_median == pytest.approx(0.08)
    assert rate.contributors == 10

    share = value(snapshot, "search", Metric.VISITOR_SHARE)
    assert share.median == pytest.approx(0.5)

    other_share = value(snapshot, "other", Metric.VISITOR_SHARE)
    # Store i's other share is 100 / (200 * i); the 5th and 6th smallest are 1/12 and 1/10.
    assert other_share.median == pytest.approx((1 / 12 + 1 / 10) / 2)


def test_snapshot_records_method_and_time(industry, top_five):
    make_rate_cohort(industry, 10)

    recompute()

    snapshot = only_snapshot()
    assert snapshot.method["top_rule"] == "count"
    assert snapshot.method["top_value"] == 5
    assert snapshot.method["min_cohort_size"] == 10
    assert "percentile_cont" in snapshot.method["percentile"]
    assert snapshot.computed_at is not None
    assert snapshot.stores_with_total_row == 10
    assert snapshot.stores_with_category_sum == 0


def test_cohort_of_k_minus_one_is_withheld(industry, top_five):
    make_rate_cohort(industry, 9)

    recompute()

    snapshot = only_snapshot()
    assert snapshot.cohort_size == 9
    assert snapshot.withheld_reason == SuppressionReason.SMALL_COHORT
    assert not snapshot.is_published


def test_small_top_group_is_withheld(industry):
    # The default top decile of 10 stores is one store, below the minimum of 5.
    make_rate_cohort(industry, 10)

    recompute()

    snapshot = only_snapshot()
    assert snapshot.top_group_size == 1
    assert snapshot.withheld_reason == SuppressionReason.SMALL_TOP_GROUP
    assert not snapshot.is_published


def test_dominant_store_suppresses_source(industry, top_five):
    make_rate_cohort(industry, 10)
    # Search visitors of stores 1..10 add up to 5,500; this store alone has more than that.
    make_peer(industry, 99, 6000, 60, total_visitors=12000)

    recompute()

    snapshot = only_snapshot()
    assert snapshot.withheld_reason == ""
    assert value(snapshot, "search", Metric.VISITOR_SHARE).suppressed_reason == SuppressionReason.DOMINANCE
    assert value(snapshot, "search", Metric.FEEDBACK_CONVERSION_RATE).suppressed_reason == SuppressionReason.DOMINANCE
    assert value(snapshot, "other", Metric.VISITOR_SHARE).suppressed_reason == ""


def test_exactly_half_is_not_dominance(industry, top_five):
    make_rate_cohort(industry, 10)
    make_peer(industry, 99, 5500, 55, total_visitors=11000)

    recompute()

    assert value(only_snapshot(), "search", Metric.VISITOR_SHARE).suppressed_reason == ""


def test_opted_out_store_is_left_out(industry, top_five):
    stores = make_rate_cohort(industry, 11)
    StoreSharing.objects.create(store=stores[0], contributes=False)

    recompute()

    assert only_snapshot().cohort_size == 10


def test_default_setting_off_needs_opt_in(industry, top_five, settings):
    settings.BENCHMARK_CONTRIBUTE_DEFAULT = False
    stores = make_rate_cohort(industry, 11)
    for store in stores[:10]:
        StoreSharing.objects.create(store=store, contributes=True)

    recompute()

    assert only_snapshot().cohort_size == 10


def test_store_without_total_row_uses_category_sum(industry):
    make_peer(industry, 1, 300, 3, total_visitors=None, other_visitors=100)
    by_dimension = cohorts.load_period("month", MONTH)
    store_slice = by_dimension[("all", "all")][0]

    assert not store_slice.uses_total_row
    assert store_slice.total_visitors == 400
    assert store_slice.visitor_share("search") == pytest.approx(0.75)

    result = compute_cohort([store_slice], MethodSettings.current().as_parameters())
    assert result.stores_with_category_sum == 1
    assert result.stores_with_total_row == 0


def test_few_contributors_in_source_is_suppressed(industry, top_five):
    make_rate_cohort(industry, 10)
    # Only two stores have a direct row, with equal visitors so neither dominates.
    for number in (50, 51):
        store = make_peer(industry, number, 100, 5, total_visitors=300)
        add_figure(store.uploads.get(), "direct", 50, inquiry=1, granularity="month", period_start=MONTH)

    recompute()

    assert value(only_snapshot(), "direct", Metric.VISITOR_SHARE).suppressed_reason == SuppressionReason.FEW_CONTRIBUTORS


def test_unmapped_and_sub_source_rows_stay_out(industry):
    store = make_peer(industry, 1, 300, 3, total_visitors=None, other_visitors=100)
    upload = store.uploads.get()
    add_figure(upload, "other", 5000, raw_label="直播会场", granularity="month", period_start=MONTH)
    add_figure(upload, "search", 250, sub_source="photo_search", granularity="month", period_start=MONTH)

    store_slice = cohorts.load_period("month", MONTH)[("all", "all")][0]

    assert store_slice.total_visitors == 400
    assert store_slice.sources["other"].visitors == 100


def test_snapshot_is_immutable(industry, top_five):
    make_rate_cohort(industry, 10)
    recompute(publish=False)
    snapshot = only_snapshot()

    snapshot.cohort_size = 99
    with pytest.raises(ValueError):
        snapshot.save()
    with pytest.raises(ValueError):
        snapshot.save(update_fields=["cohort_size"])

    stored = value(snapshot, "search", Metric.VISITOR_SHARE)
    stored.median = 0.9
    with pytest.raises(ValueError):
        stored.save()


def test_recompute_adds_a_new_snapshot(industry, top_five):
    make_rate_cohort(industry, 10)
    recompute()
    first = only_snapshot()

    recompute()

    assert BaselineSnapshot.objects.filter(terminal="all", region="all").count() == 2
    first.refresh_from_db()
    assert not first.is_published
    assert BaselineSnapshot.objects.filter(published_at__isnull=False, unpublished_at__isnull=True).count() == 1


def test_publish_writes_audit_event(industry, top_five, django_user_model):
    make_rate_cohort(industry, 10)
    recompute(publish=False)
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    snapshot = only_snapshot()

    publish(snapshot.pk, staff)

    event = AuditEvent.objects.get(event_type="baseline_published")
    assert event.actor == staff
    assert event.details["snapshot_id"] == snapshot.pk

    unpublish(snapshot.pk, staff)
    snapshot.refresh_from_db()
    assert not snapshot.is_published
    withdrawn = AuditEvent.objects.get(event_type="baseline_unpublished")
    assert withdrawn.actor == staff
    assert withdrawn.details["snapshot_id"] == snapshot.pk


def test_withheld_snapshot_cannot_be_published(industry):
    make_rate_cohort(industry, 9)
    recompute(publish=False)

    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        publish(only_snapshot().pk)


def test_size_bands_make_extra_cohorts(industry, top_five):
    from benchmarks.models import SizeBand

    top_five.split_by_size_band = True
    top_five.save()
    small = SizeBand.objects.create(label_zh="小", label_en="Small", min_monthly_visitors=0, max_monthly_visitors=1100)
    SizeBand.objects.create(label_zh="大", label_en="Large", min_monthly_visitors=1100)
    make_rate_cohort(industry, 10)

    recompute(publish=False)

    banded = BaselineSnapshot.objects.filter(terminal="all", region="all", size_band=small).get()
    # Totals 200..2000; below 1,100 are stores 1..5.
    assert banded.cohort_size == 5
    assert banded.withheld_reason == SuppressionReason.SMALL_COHORT
    assert banded.size_band_definition["label_en"] == "Small"
