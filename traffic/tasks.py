import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from traffic import jobs

logger = logging.getLogger(__name__)

# Errors worth another try: the database connection dropped or the server restarted.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def import_upload(self, upload_id: int) -> None:
    """Import one upload by id; a second delivery of the same id does nothing."""
    attempt = jobs.claim_upload(upload_id)
    if attempt is None:
        logger.info("import skipped upload=%s: done or held by a live worker", upload_id)
        return

    try:
        jobs.run_import(upload_id, attempt)
    except TRANSIENT_ERRORS as exc:
        _retry_or_fail(self, upload_id, attempt, exc)
    except Exception:
        logger.exception("import crashed upload=%s attempt=%s", upload_id, attempt)
        jobs.fail_upload(upload_id, jobs.IMPORT_CRASHED, attempt=attempt)
        raise


def _retry_or_fail(task, upload_id: int, attempt: int, exc: Exception) -> None:
    # Drop a connection that the error left broken, so the release below opens a fresh one.
    close_old_connections()
    if attempt >= settings.IMPORT_MAX_ATTEMPTS:
        logger.error("import failed upload=%s attempt=%s: %s; no attempts left", upload_id, attempt, exc)
        jobs.fail_upload(upload_id, jobs.IMPORT_GAVE_UP, {"attempts": attempt}, attempt=attempt)
        return

    countdown = min(300, settings.IMPORT_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    logger.warning("import retry upload=%s attempt=%s in %ss: %s", upload_id, attempt, countdown, exc)
    try:
        jobs.release_upload(upload_id, attempt)
    except TRANSIENT_ERRORS:
        # The database is still away; the watchdog requeues the upload once its heartbeat is stale.
        logger.warning("import not released upload=%s attempt=%s: database unreachable", upload_id, attempt)
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(acks_late=True)
def requeue_stuck_uploads() -> None:
    """Send again the uploads whose worker stopped; fail those out of attempts."""
    requeued, failed = jobs.find_stuck_uploads()
    for upload_id in requeued:
        import_upload.delay(upload_id)
    if requeued or failed:
        logger.warning("watchdog requeued=%s failed=%s", requeued, failed)


@shared_task(acks_late=True)
def bulk_import_file(path: str, original_name: str) -> dict:
    """Import a multi-store canonical file (traffic.bulk) in the worker; return what happened.

    The outcome is in the uploads it creates, one per store, and in the worker's
    log. The returned dict is for a result backend, when one is configured.
    """
    from pathlib import Path

    from traffic.bulk import bulk_import

    result = bulk_import(Path(path), original_name)
    if result.errors:
        logger.error("bulk import failed file=%s: %s", original_name, result.errors[0].render())
    return {
        "uploads": [upload.id for upload in result.uploads],
        "unchanged_stores": result.unchanged_stores,
        "problems": [problem.to_dict() for problem in result.problems],
    }
