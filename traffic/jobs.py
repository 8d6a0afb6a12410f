"""The life of one import job: claim, parse, write, finish, and recovery from lost workers.

Every claim gets an attempt number. Only the holder of the latest attempt may
write figures or finish the upload, and it checks that under a row lock in the
same transaction that writes the figures. So a worker that was presumed dead
but wakes up later, or a message that the broker delivers twice, cannot write
an upload's figures a second time.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from traffic import importers, labels
from traffic.actions import write_figures
from traffic.importers.base import ERROR, ParseResult, Problem
from traffic.importers.figures import UNKNOWN_LABEL_MESSAGE
from traffic.models import Upload

logger = logging.getLogger(__name__)

IMPORT_NOT_QUEUED = gettext_noop(
    "The import could not be queued because the task queue is unavailable. Please upload the file again later."
)
IMPORT_CRASHED = gettext_noop(
    "The import stopped because of an internal error. Please upload the file again or contact support."
)
IMPORT_GAVE_UP = gettext_noop(
    "The import was interrupted %(attempts)s times (worker stopped or database unreachable) and was given up. "
    "Please upload the file again."
)


def stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def claim_upload(upload_id: int) -> int | None:
    """Claim a queued upload, or one whose worker stopped sending heartbeats; return the attempt number.

    Returns None when the upload is done or another live worker has claimed it.
    """
    claimable = Q(status=Upload.Status.QUEUED) | Q(status=Upload.Status.PROCESSING, heartbeat_at__lt=stale_before())
    now = timezone.now()
    with transaction.atomic():
        claimed = Upload.objects.filter(claimable, id=upload_id).update(
            status=Upload.Status.PROCESSING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
        )
        if claimed != 1:
            return None
        return Upload.objects.values_list("attempts", flat=True).get(id=upload_id)


def run_import(upload_id: int, attempt: int) -> Upload:
    """Parse a claimed upload's file and write its figures, all or nothing."""
    upload = Upload.objects.select_related("store").get(id=upload_id)
    logger.info("import started upload=%s store=%s attempt=%s", upload.id, upload.store_id, attempt)

    result = importers.parse_file(
        upload.file_path, upload.original_name, upload.import_options(), progress=_progress_reporter(upload.id, attempt)
    )
    try:
        labels.apply_mappings(result, UNKNOWN_LABEL_MESSAGE)
        with transaction.atomic():
            if not _still_holds(upload_id, attempt):
                logger.warning("import abandoned upload=%s attempt=%s: a later attempt took over", upload_id, attempt)
                return upload
            if result.errors:
                _finish(upload, Upload.Status.FAILED, result, figures_imported=0)
            else:
                count = write_figures(upload, result)
                _finish(upload, Upload.Status.SUCCEEDED, result, figures_imported=count)
    finally:
        result.drop_stage()

    logger.info(
        "import %s upload=%s store=%s figures=%d errors=%d warnings=%d",
        upload.status, upload.id, upload.store_id, upload.figures_imported, len(result.errors), len(result.warnings),
    )
    return upload


def _still_holds(upload_id: int, attempt: int) -> bool:
    """Lock the upload row and check that this attempt is the latest one and not finished."""
    current = Upload.objects.select_for_update().values("status", "attempts").get(id=upload_id)
    return current["status"] == Upload.Status.PROCESSING and current["attempts"] == attempt


def fail_upload(upload_id: int, message: str, params: dict | None = None, attempt: int | None = None) -> None:
    """Mark an upload failed with one error, for failures outside the importer.

    With an attempt number, only that attempt's claim is failed, so a late
    failure report cannot overwrite the result of a later attempt.
    """
    problem = Problem(level=ERROR, message=message, params=params or {})
    uploads = Upload.objects.filter(id=upload_id).exclude(status=Upload.Status.SUCCEEDED)
    if attempt is not None:
        uploads = uploads.filter(attempts=attempt)
    uploads.update(status=Upload.Status.FAILED, finished_at=timezone.now(), messages=[problem.to_dict()])


def release_upload(upload_id: int, attempt: int) -> None:
    """Put a claimed upload back in the queue after a transient error, so a retry can claim it."""
    Upload.objects.filter(id=upload_id, attempts=attempt, status=Upload.Status.PROCESSING).update(
        status=Upload.Status.QUEUED
    )


def find_stuck_uploads() -> tuple[list[int], list[int]]:
    """Requeue or fail uploads whose worker stopped: return (requeued ids, failed ids).

    A processing upload with an old heartbeat, or a queued upload that no
    worker picked up within IMPORT_STALE_SECONDS, is sent again. After
    IMPORT_MAX_ATTEMPTS attempts it fails with a message instead.
    """
    stale = stale_before()
    stuck = Upload.objects.filter(
        Q(status=Upload.Status.PROCESSING, heartbeat_at__lt=stale)
        | Q(status=Upload.Status.QUEUED, created_at__lt=stale, heartbeat_at__isnull=True)
        | Q(status=Upload.Status.QUEUED, heartbeat_at__lt=stale)
    ).values_list("id", "attempts")

    requeue, give_up = [], []
    for upload_id, attempts in stuck:
        (give_up if attempts >= settings.IMPORT_MAX_ATTEMPTS else requeue).append((upload_id, attempts))

    # A queued upload is sent again at most once per IMPORT_STALE_SECONDS, not on every round,
    # so its messages do not pile up while no worker runs. Any worker can still claim it.
    Upload.objects.filter(
        id__in=[upload_id for upload_id, _attempts in requeue], status=Upload.Status.QUEUED
    ).update(heartbeat_at=timezone.now())

    for upload_id, attempts in give_up:
        fail_upload(upload_id, IMPORT_GAVE_UP, {"attempts": attempts}, attempt=attempts)
        logger.warning("import given up upload=%s attempts=%s", upload_id, attempts)
    return [upload_id for upload_id, _attempts in requeue], [upload_id for upload_id, _attempts in give_up]


def _finish(upload: Upload, status: str, result: ParseResult, figures_imported: int) -> None:
    upload.status = status
    upload.layout = result.layout
    upload.rows_read = result.rows_read
    upload.rows_total = max(upload.rows_total, result.rows_read)
    upload.figures_imported = figures_imported
    upload.messages = [problem.to_dict() for problem in result.problems]
    upload.finished_at = timezone.now()
    upload.save(
        update_fields=["status", "layout", "rows_read", "rows_total", "figures_imported", "messages", "finished_at"]
    )


def _progress_reporter(upload_id: int, attempt: int):
    def report(rows_read: int, rows_total: int) -> None:
        Upload.objects.filter(id=upload_id, attempts=attempt).update(
            rows_read=rows_read, rows_total=rows_total, heartbeat_at=timezone.now()
        )

    return report
