"""Changes to uploads and traffic figures: store files, queue imports, write and delete figures.

Views, the command line and Celery tasks call these functions; none of them
touches the models directly for a change.
"""

import hashlib
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from accounts.models import Store
from traffic.importers.base import ImportOptions, ParseResult
from traffic.models import TrafficFigure, Upload
from traffic.staging import StagingTable

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


class FileTooLarge(Exception):
    """Raised while a file is being stored, as soon as it passes UPLOAD_MAX_BYTES."""


class DuplicateUpload(Exception):
    """Raised when the store already has this file, with the same options, imported or queued."""

    def __init__(self, existing: Upload):
        super().__init__(existing.original_name)
        self.existing = existing


def store_upload_file(
    store, chunks, original_name: str, user=None, options: ImportOptions | None = None, api_token=None
) -> Upload:
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

    same_file = {
        "store": store,
        "sha256": digest.hexdigest(),
        "granularity": options.granularity,
        "terminal": options.terminal,
        "region": options.region,
    }
    existing = _live_upload(same_file)
    if existing is None:
        try:
            with transaction.atomic():
                return Upload.objects.create(
                    uploaded_by=user,
                    api_token=api_token,
                    period_first_day=options.period[0] if options.period else None,
                    period_last_day=options.period[1] if options.period else None,
                    original_name=Path(original_name).name[:255],
                    stored_name=stored_name,
                    size_bytes=size,
                    **same_file,
                )
        except IntegrityError:
            # Another request stored the same file a moment ago.
            existing = _live_upload(same_file)

    path.unlink(missing_ok=True)
    raise DuplicateUpload(existing)


def store_upload_files(store, files, user=None, options: ImportOptions | None = None, api_token=None):
    """Store several uploaded files and queue their imports, all or none.

    Returns (new uploads, existing uploads that the same files already made).
    A file over the size limit raises FileTooLarge and keeps none of the files.
    """
    created = []
    duplicates = []
    try:
        with transaction.atomic():
            for uploaded in files:
                try:
                    upload = store_upload_file(store, uploaded.chunks(), uploaded.name, user, options, api_token)
                except DuplicateUpload as duplicate:
                    duplicates.append(duplicate.existing)
                    continue
                enqueue_import(upload)
                created.append(upload)
    except FileTooLarge:
        for upload in created:
            upload.file_path.unlink(missing_ok=True)
        raise
    return created, duplicates


def _live_upload(same_file: dict) -> Upload | None:
    return Upload.objects.filter(**same_file).exclude(status=Upload.Status.FAILED).order_by("id").first()


def enqueue_import(upload: Upload) -> None:
    """Queue the import once the transaction that created the upload commits."""
    transaction.on_commit(lambda: _send_import(upload.id))


def _send_import(upload_id: int) -> None:
    from traffic import jobs
    from traffic.tasks import import_upload

    try:
        import_upload.delay(upload_id)
    except (OperationalError, OSError):
        # The broker is unreachable: fail visibly instead of leaving the upload queued forever.
        logger.exception("import could not be queued upload=%s", upload_id)
        jobs.fail_upload(upload_id, jobs.IMPORT_NOT_QUEUED)


def write_figures(upload: Upload, result: ParseResult) -> int:
    """Store this upload's figures; for each period slice it covers, they replace the older upload's.

    A slice is one granularity, period, terminal and region of the store. An
    export is a complete picture of the slices it covers, so the newest upload
    of a slice is current for all of its sources. Figures of an older upload for
    the same slice stop being current even for sources the new file lacks,
    because mixing exports would put one file's store total beside another
    file's categories.
    "Newer" means uploaded later (a higher id), whatever order the imports ran
    in. Must run inside a transaction. Rows of older uploads stay, not current,
    so that deleting this upload can bring them back.
    """
    if result.stage is not None:
        return write_staged_figures({"": upload}, result.stage)

    figures = result.figures
    lock_store_figures(upload.store_id)
    slices = {_slice_of(figure) for figure in figures}
    current = _current_rows_in(upload.store_id, slices)

    newer_slices = {slice_key for slice_key, (_row_ids, upload_ids) in current.items() if max(upload_ids) > upload.id}
    superseded = [row_id for slice_key, (row_ids, _ids) in current.items() if slice_key not in newer_slices for row_id in row_ids]
    _set_current(superseded, False)

    TrafficFigure.objects.bulk_create(
        [_figure_row(upload, figure, is_current=_slice_of(figure) not in newer_slices) for figure in figures],
        batch_size=1000,
    )
    return len(figures)


def write_staged_figures(uploads: dict[str, Upload], stage) -> int:
    """Write the figures of a FigureStage, with the rules of write_figures, in a few SQL statements.

    uploads maps the stage's store column to the upload of that store: "" to
    the one upload of a single-store file, or each slug of a bulk import to its
    store's new upload. Must run inside a transaction.
    """
    for store_id in sorted(upload.store_id for upload in uploads.values()):
        lock_store_figures(store_id)

    targets = StagingTable("traffic_stage_uploads", [("store", "varchar(100)"), ("store_id", "bigint"), ("upload_id", "bigint")])
    slices = StagingTable("traffic_stage_slices", [
        ("store_id", "bigint"), ("upload_id", "bigint"), ("granularity", "varchar(8)"), ("period_start", "date"),
        ("terminal", "varchar(16)"), ("region", "varchar(16)"), ("newer", "smallint"),
    ])
    try:
        targets.load([(slug, upload.store_id, upload.id) for slug, upload in uploads.items()])
        figure_table = TrafficFigure._meta.db_table
        same_slice = (
            "{alias}.store_id = s.store_id AND {alias}.granularity = s.granularity AND "
            "{alias}.period_start = s.period_start AND {alias}.terminal = s.terminal AND {alias}.region = s.region"
        )
        # One row per slice the file covers; newer = 1 where a later upload's figures are current.
        slices.execute(f"""
            INSERT INTO {{table}} (store_id, upload_id, granularity, period_start, terminal, region, newer)
            SELECT DISTINCT u.store_id, u.upload_id, f.granularity, f.period_start, f.terminal, f.region, 0
            FROM {stage.name} f JOIN {targets.name} u ON u.store = f.store
        """)
        slices.execute("CREATE INDEX {table}_key ON {table} (store_id, granularity, terminal, region, period_start)")
        slices.analyze()
        slices.execute(f"""
            UPDATE {{table}} SET newer = 1
            WHERE EXISTS (
                SELECT 1 FROM {figure_table} t
                WHERE t.is_current AND t.upload_id > {{table}}.upload_id AND t.store_id = {{table}}.store_id
                    AND t.granularity = {{table}}.granularity AND t.period_start = {{table}}.period_start
                    AND t.terminal = {{table}}.terminal AND t.region = {{table}}.region
            )
        """)
        slices.execute(f"""
            UPDATE {figure_table} SET is_current = FALSE
            FROM {{table}} s
            WHERE {figure_table}.is_current AND s.newer = 0 AND {same_slice.format(alias=figure_table)}
        """)
        slices.execute(f"""
            INSERT INTO {figure_table} (
                store_id, upload_id, granularity, period_start, terminal, region, source, sub_source, raw_label,
                visitors, inquiry_customers, tm_customers, feedback_conversion_rate, extra, is_current
            )
            SELECT s.store_id, s.upload_id, f.granularity, f.period_start, f.terminal, f.region, f.source, f.sub_source,
                   f.raw_label, f.visitors, f.inquiry_customers, f.tm_customers, f.feedback_conversion_rate, '{{}}',
                   s.newer = 0
            FROM {stage.name} f
            JOIN {targets.name} u ON u.store = f.store
            JOIN {{table}} s ON s.store_id = u.store_id AND s.granularity = f.granularity AND s.period_start = f.period_start
                AND s.terminal = f.terminal AND s.region = f.region
        """)
    finally:
        targets.drop()
        slices.drop()
    return stage.count


def _slice_of(figure) -> tuple:
    return (figure.granularity, figure.period_start, figure.terminal, figure.region)


def _current_rows_in(store_id: int, slices) -> dict[tuple, tuple[list[int], set[int]]]:
    """Return {slice: (ids of its current rows, ids of the uploads they come from)}."""
    return _rows_in(store_id, slices, current_only=True)


def _rows_in(store_id: int, slices, current_only: bool) -> dict[tuple, tuple[list[int], set[int]]]:
    periods_by_dimensions = {}
    for granularity, period_start, terminal, region in slices:
        periods_by_dimensions.setdefault((granularity, terminal, region), set()).add(period_start)

    found = {}
    for (granularity, terminal, region), period_starts in periods_by_dimensions.items():
        rows = TrafficFigure.objects.filter(
            store_id=store_id, granularity=granularity, terminal=terminal, region=region, period_start__in=period_starts
        )
        if current_only:
            rows = rows.filter(is_current=True)
        for row_id, upload_id, period_start in rows.values_list("id", "upload_id", "period_start"):
            row_ids, upload_ids = found.setdefault((granularity, period_start, terminal, region), ([], set()))
            row_ids.append(row_id)
            upload_ids.add(upload_id)
    return found


def _set_current(row_ids: list[int], is_current: bool) -> None:
    for start in range(0, len(row_ids), 500):
        TrafficFigure.objects.filter(id__in=row_ids[start:start + 500]).update(is_current=is_current)


def lock_store_figures(store_id: int) -> None:
    """Lock the store row until the transaction ends, so one change at a time rewrites a store's figures.

    Writing and deleting read the current rows of some keys and then change which
    rows are current. Two such changes to one store in parallel would both read
    before either commits, and the second would then violate the
    one-current-row-per-key constraint. Parsing files still runs in parallel.
    """
    list(Store.objects.select_for_update().filter(id=store_id).values_list("id", flat=True))


def _figure_row(upload: Upload, figure, is_current: bool) -> TrafficFigure:
    return TrafficFigure(
        store=upload.store,
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
        is_current=is_current,
    )


def delete_upload(upload: Upload, actor=None, ip_address=None) -> None:
    """Delete an upload, its figures and its file; the figures it had replaced become current again.

    The deletion is recorded in the store's audit log with the actor who asked for it.
    """
    from accounts.audit import record_upload_deleted

    with transaction.atomic():
        record_upload_deleted(upload, actor=actor, ip_address=ip_address)
        lock_store_figures(upload.store_id)
        replaced_slices = set(
            upload.figures.filter(is_current=True).values_list("granularity", "period_start", "terminal", "region")
        )
        upload.figures.all().delete()
        _restore_newest(upload.store_id, replaced_slices)
        upload.delete()

    upload.file_path.unlink(missing_ok=True)
    logger.info("upload deleted upload=%s store=%s slices_restored=%d", upload.id, upload.store_id, len(replaced_slices))


def _restore_newest(store_id: int, slices) -> None:
    """For each slice, make the rows of the newest remaining upload that has it current."""
    restored = []
    for slice_key, (_row_ids, upload_ids) in _rows_in(store_id, slices, current_only=False).items():
        granularity, period_start, terminal, region = slice_key
        restored += TrafficFigure.objects.filter(
            store_id=store_id, upload_id=max(upload_ids), granularity=granularity, period_start=period_start,
            terminal=terminal, region=region,
        ).values_list("id", flat=True)
    _set_current(restored, True)


def upload_limit_mb() -> int:
    return settings.UPLOAD_MAX_BYTES // (1024 * 1024)
