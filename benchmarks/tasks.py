import datetime
import logging

from celery import shared_task
from django.utils import timezone

from benchmarks import compute, publication
from benchmarks.models import BenchmarkRun, MethodSettings
from traffic.dimensions import Granularity, period_start_of

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_run(run_id: int) -> None:
    """Compute the snapshots of one queued run by id; a second delivery of the same id does nothing."""
    if not compute.claim_run(run_id):
        logger.info("benchmark run=%s skipped: not queued any more", run_id)
        return

    try:
        compute.execute_run(run_id)
    except Exception:
        logger.exception("benchmark run=%s crashed", run_id)
        raise


def latest_complete_period(granularity: str, today: datetime.date) -> datetime.date:
    """Return the start of the last natural week or month that ended before today."""
    current_start = period_start_of(granularity, today)
    return period_start_of(granularity, current_start - datetime.timedelta(days=1))


@shared_task
def recompute_latest_period(granularity: str) -> None:
    """Recompute the week or month the platform has just refreshed; publish it when the method says so."""
    if granularity not in (Granularity.WEEK, Granularity.MONTH):
        raise ValueError(f"granularity must be week or month, not {granularity!r}")

    period_start = latest_complete_period(granularity, timezone.now().date())
    run = compute.start_run(granularity, period_start, BenchmarkRun.Trigger.SCHEDULE)
    if not compute.claim_run(run.pk):
        return
    compute.execute_run(run.pk)

    if MethodSettings.current().auto_publish:
        count = publication.publish_run(run.pk)
        logger.info("benchmark run=%s: %d snapshots published automatically", run.pk, count)
