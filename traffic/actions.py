"""Changes to uploads and traffic figures.

Views, the command line and Celery tasks call these functions; none of them
touches the models directly for a change.
"""

import hashlib
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from traffic import importers
from traffic.importers.base import ERROR, ImportOptions, ParseResult, Problem
from traffic.models import TrafficFigure, Upload

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


class FileTooLarge(Exception):
    """Raised while a file is being stored, as soon as it passes UPLOAD_MAX_BYTES."""


def store_upload_file(store, chunks, original_name: str, user=None, options: ImportOptions | None = None) -> Upload:
    """Write the file under an internal name, hash it and record a queued Upload.

    `chunks` is any iterable of bytes (a Django UploadedFile's .chunks() or a
    file read in blocks). The size limit is enforced while the bytes stream in,
    and a file over the limit is removed before FileTooLarge is raised.
    """
    options = options or ImportOptions()
    upload_root = Path(settings.UPLOAD_ROOT)
    upload_root.mkdir(parents=True, exist_ok=True)

    stored_name = f"{uuid.uuid4().hex}.upload"
    path = upload_root / stored_name
    digest = hashlib.sha256()
    size = 0

    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > settings.UPLOAD_MAX_BYTES:
                    raise FileTooLarge(original_name)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    return Upload.objects.create(
        store=store,
        uploaded_by=user,
        original_name=Path(original_name).name[:255],
        stored_name=stored_name,
        sha256=digest.hexdigest(),
        size_bytes=size,
        granularity=options.granularity,
        terminal=options.terminal,
        region=options.region,
    )


def enqueue_import(upload: Upload) -> None:
    """Queue the import once the transaction that created the upload commits."""
    from traffic.tasks import import_upload

    transaction.on_commit(lambda: import_upload.delay(upload.id))


def claim_upload(upload_id: int) -> bool:
    """Move a queued upload to processing; False when another worker already has it."""
    claimed = Upload.objects.filter(id=upload_id, status=Upload.Status.QUEUED).update(
        status=Upload.Status.PROCESSING, started_at=timezone.now()
    )
    return claimed == 1


def run_import(upload_id: int) -> Upload:
    """Parse a claimed upload's file and write its figures, all or nothing."""
    upload = Upload.objects.select_related("store").get(id=upload_id)
    logger.info("import started upload=%s store=%s", upload.id, upload.store_id)

    options = ImportOptions(granularity=upload.granularity, terminal=upload.terminal, region=upload.region)
    result = importers.parse_file(upload.file_path, upload.original_name, options, progress=_progress_reporter(upload.id))

    if result.errors:
        _finish(upload, Upload.Status.FAILED, result, figures_imported=0)
        logger.info("import rejected upload=%s store=%s errors=%d", upload.id, upload.store_id, len(result.errors))
        return upload

    with transaction.atomic():
        count = write_figures(upload, result)
        _finish(upload, Upload.Status.SUCCEEDED, result, figures_imported=count)

    logger.info("import succeeded upload=%s store=%s figures=%d", upload.id, upload.store_id, count)
    return upload


def fail_upload(upload_id: int, message: str) -> None:
    """Mark an upload failed with one error, for failures outside the importer."""
    problem = Problem(level=ERROR, message=message)
    Upload.objects.filter(id=upload_id).exclude(status=Upload.Status.SUCCEEDED).update(
        status=Upload.Status.FAILED, finished_at=timezone.now(), messages=[problem.to_dict()]
    )


def write_figures(upload: Upload, result: ParseResult) -> int:
    """Make this upload's figures current, superseding earlier rows with the same keys.

    Must run inside a transaction. Rows of earlier uploads stay, marked not
    current, so that deleting this upload can bring them back.
    """
    figures = result.figures
    store = upload.store

    by_period = {}
    for figure in figures:
        by_period.setdefault((figure.granularity, figure.terminal, figure.region), set()).add(figure.period_start)

    new_keys = {figure.key() for figure in figures}
    for (granularity, terminal, region), period_starts in by_period.items():
        candidates = TrafficFigure.objects.filter(
            store=store,
            is_current=True,
            granularity=granularity,
            terminal=terminal,
            region=region,
            period_start__in=period_starts,
        ).values_list("id", *TrafficFigure.KEY_FIELDS)
        superseded = [row[0] for row in candidates if tuple(row[1:]) in new_keys]
        for start in range(0, len(superseded), 500):
            TrafficFigure.objects.filter(id__in=superseded[start:start + 500]).update(is_current=False)

    TrafficFigure.objects.bulk_create(
        [
            TrafficFigure(
                store=store,
                upload=upload,
                granularity=figure.granularity,
                period_start=figure.period_start,
                terminal=figure.terminal,
                region=figure.region,
                source=figure.source,
                sub_source=figure.sub_source,
                raw_label=figure.raw_label,
                visitors=figure.visitors,
                inquiry_customers=figure.inquiry_customers,
                tm_customers=figure.tm_customers,
                feedback_conversion_rate=figure.feedback_conversion_rate,
                extra=figure.extra,
                is_current=True,
            )
            for figure in figures
        ],
        batch_size=1000,
    )
    return len(figures)


def _finish(upload: Upload, status: str, result: ParseResult, figures_imported: int) -> None:
    upload.status = status
    upload.layout = result.layout
    upload.rows_read = result.rows_read
    upload.figures_imported = figures_imported
    upload.messages = [problem.to_dict() for problem in result.problems]
    upload.finished_at = timezone.now()
    upload.save(
        update_fields=["status", "layout", "rows_read", "figures_imported", "messages", "finished_at"]
    )


def _progress_reporter(upload_id: int):
    def report(rows_read: int, rows_total: int) -> None:
        Upload.objects.filter(id=upload_id).update(rows_read=rows_read)

    return report


IMPORT_CRASHED = gettext_noop("The import stopped because of an internal error. Please upload the file again or contact support.")


def upload_limit_mb() -> int:
    return settings.UPLOAD_MAX_BYTES // (1024 * 1024)
