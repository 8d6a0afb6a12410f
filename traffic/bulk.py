"""Bulk import by platform staff: one canonical CSV holding the figures of many stores."""

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Store
from traffic import actions, importers
from traffic.importers.base import ERROR, ImportOptions, ParseResult, Problem
from traffic.models import Upload

logger = logging.getLogger(__name__)


@dataclass
class BulkResult:
    problems: list[Problem] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    unchanged_stores: list[str] = field(default_factory=list)

    @property
    def errors(self):
        return [problem for problem in self.problems if problem.level == ERROR]


def bulk_import(path: Path, original_name: str) -> BulkResult:
    """Import a multi-store canonical file, all stores or none.

    Each store gets its own succeeded Upload, so its owners see it and can
    delete it; the uploads share one stored file through hard links. A store
    that already has this exact file is left unchanged.
    """
    options = ImportOptions(known_stores=_store_slugs())
    parsed = importers.parse_file(path, original_name, options)
    try:
        return _import_parsed(parsed, path, original_name)
    finally:
        parsed.drop_stage()


def _import_parsed(parsed: ParseResult, path: Path, original_name: str) -> BulkResult:
    bulk = BulkResult(problems=parsed.problems)
    if parsed.errors:
        return bulk
    if parsed.layout != "canonical":
        bulk.problems.append(Problem(ERROR, gettext_noop("A bulk import takes only the canonical CSV layout."), file=original_name))
        return bulk

    by_store: dict[str, list] = {}
    for figure in parsed.figures:
        by_store.setdefault(figure.store, []).append(figure)
    counts = parsed.stage.store_counts() if parsed.stage is not None else {slug: len(figures) for slug, figures in by_store.items()}
    stores = {store.slug: store for store in Store.objects.filter(slug__in=counts)}
    # The reader rejects rows of unknown stores, so this finds only stores deleted while the file was read.
    missing = sorted(set(counts) - set(stores))
    if missing:
        bulk.problems.append(Problem(
            ERROR, gettext_noop("These stores do not exist: %(slugs)s. Nothing was imported."),
            {"slugs": ", ".join(missing)}, file=original_name,
        ))
        return bulk

    digest = _sha256(path)
    try:
        with transaction.atomic():
            new_uploads = {}
            for slug in sorted(counts):
                store = stores[slug]
                if _has_file(store, digest):
                    bulk.unchanged_stores.append(slug)
                    continue
                new_uploads[slug] = _store_upload(store, path, original_name, digest, counts[slug])
            bulk.uploads = list(new_uploads.values())
            if parsed.stage is not None:
                if new_uploads:
                    actions.write_staged_figures(new_uploads, parsed.stage)
            else:
                for slug, upload in new_uploads.items():
                    actions.write_figures(upload, ParseResult(figures=by_store[slug]))
    except BaseException:
        for upload in bulk.uploads:
            upload.file_path.unlink(missing_ok=True)
        raise

    logger.info("bulk import file=%s stores=%d unchanged=%d", original_name, len(bulk.uploads), len(bulk.unchanged_stores))
    return bulk


def _store_slugs() -> frozenset[str]:
    return frozenset(Store.objects.values_list("slug", flat=True))


def _store_upload(store, path: Path, original_name: str, digest: str, figure_count: int) -> Upload:
    upload_root = Path(settings.UPLOAD_ROOT)
    upload_root.mkdir(parents=True, exist_ok=True)
    stored_name = f"{uuid.uuid4().hex}.upload"
    if _same_filesystem(path, upload_root):
        os.link(path, upload_root / stored_name)
    else:
        _copy(path, upload_root / stored_name)

    now = timezone.now()
    return Upload.objects.create(
        store=store, original_name=Path(original_name).name[:255], stored_name=stored_name, sha256=digest,
        size_bytes=path.stat().st_size, status=Upload.Status.SUCCEEDED, layout="canonical",
        figures_imported=figure_count, started_at=now, finished_at=now,
    )


def _has_file(store, digest: str) -> bool:
    same_file = Upload.objects.filter(store=store, sha256=digest, granularity="", terminal="", region="")
    return same_file.exclude(status=Upload.Status.FAILED).exists()


def _same_filesystem(path: Path, folder: Path) -> bool:
    return os.stat(path).st_dev == os.stat(folder).st_dev


def _copy(source: Path, target: Path) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(1024 * 1024):
            writer.write(block)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
