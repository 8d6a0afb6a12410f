"""Publish and unpublish baseline snapshots, with an audit event for each change."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from benchmarks import audit
from benchmarks.models import BaselineSnapshot


def published_snapshots():
    return BaselineSnapshot.objects.filter(published_at__isnull=False, unpublished_at__isnull=True)


@transaction.atomic
def publish(snapshot_id: int, user=None, request=None) -> BaselineSnapshot:
    """Publish a snapshot that meets the thresholds, replacing the one published for the same cohort."""
    snapshot = BaselineSnapshot.objects.select_for_update().get(pk=snapshot_id)
    if not snapshot.is_publishable:
        raise ValidationError(_("This snapshot does not meet the anonymity thresholds and cannot be published."))
    if snapshot.is_published:
        return snapshot

    now = timezone.now()
    replaced = published_snapshots().filter(
        industry_id=snapshot.industry_id,
        granularity=snapshot.granularity,
        period_start=snapshot.period_start,
        terminal=snapshot.terminal,
        region=snapshot.region,
        size_band_id=snapshot.size_band_id,
    )
    for previous in replaced.select_for_update():
        _mark_unpublished(previous, user, request, now)

    snapshot.published_at = now
    snapshot.published_by = user
    snapshot.unpublished_at = None
    snapshot.unpublished_by = None
    snapshot.save(update_fields=["published_at", "published_by", "unpublished_at", "unpublished_by"])
    audit.record_event(audit.PUBLISHED, user=user, request=request, **_describe(snapshot))
    return snapshot


@transaction.atomic
def unpublish(snapshot_id: int, user=None, request=None) -> BaselineSnapshot:
    snapshot = BaselineSnapshot.objects.select_for_update().get(pk=snapshot_id)
    if snapshot.is_published:
        _mark_unpublished(snapshot, user, request, timezone.now())
    return snapshot


def _mark_unpublished(snapshot, user, request, now):
    snapshot.unpublished_at = now
    snapshot.unpublished_by = user
    snapshot.save(update_fields=["unpublished_at", "unpublished_by"])
    audit.record_event(audit.UNPUBLISHED, user=user, request=request, **_describe(snapshot))


def publish_run(run_id: int, user=None, request=None) -> int:
    """Publish every publishable snapshot of a run; return how many were published."""
    snapshot_ids = BaselineSnapshot.objects.filter(run_id=run_id, withheld_reason="").values_list("pk", flat=True)
    count = 0
    for snapshot_id in list(snapshot_ids):
        publish(snapshot_id, user, request)
        count += 1
    return count


def _describe(snapshot) -> dict:
    return {
        "snapshot_id": snapshot.pk,
        "industry_id": snapshot.industry_id,
        "granularity": snapshot.granularity,
        "period_start": snapshot.period_start.isoformat(),
        "terminal": snapshot.terminal,
        "region": snapshot.region,
        "size_band_id": snapshot.size_band_id,
    }
