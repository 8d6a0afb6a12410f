"""Export all data of a store as a ZIP of CSV files, UTF-8 with BOM for Excel on Chinese Windows."""

import csv
import io
import json
import zipfile

from django.utils import timezone

from traffic.models import TrafficFigure, Upload

FIGURE_COLUMNS = [
    "upload_id", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label",
    "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate", "is_current", "extra",
]
UPLOAD_COLUMNS = [
    "id", "original_name", "created_at", "uploaded_by", "status", "layout", "granularity", "terminal", "region",
    "period_first_day", "period_last_day", "size_bytes", "sha256", "rows_read", "figures_imported", "finished_at",
]


def export_file_name(store) -> str:
    return f"{store.slug}-export-{timezone.localdate():%Y%m%d}.zip"


def write_store_export(store, target) -> None:
    """Write the store's settings, members, uploads and every figure row (current or replaced) to target as a ZIP.

    Column names are this app's field names, so the files are stable across
    languages; figures keep NULL (no data) as an empty cell, never 0.
    """
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_csv(archive, "store.csv", ["slug", "name", "main_industry", "reporting_time_zone", "created_at"], [
            [store.slug, store.name, getattr(store.main_industry, "code", ""), store.reporting_time_zone,
             _iso(store.created_at)],
        ])
        _write_csv(archive, "members.csv", ["email", "role", "since"], (
            [membership.user.email, membership.role, _iso(membership.created_at)]
            for membership in store.memberships.select_related("user").order_by("created_at")
        ))
        _write_csv(archive, "uploads.csv", UPLOAD_COLUMNS, (
            _upload_row(upload) for upload in Upload.objects.filter(store=store).select_related("uploaded_by").order_by("id")
        ))
        _write_csv(archive, "figures.csv", FIGURE_COLUMNS, _figure_rows(store))


def _write_csv(archive, name, header, rows) -> None:
    # Rows are streamed into the archive member, so a store with millions of figures needs no big buffer.
    with archive.open(name, "w", force_zip64=True) as member:
        text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        text.flush()
        text.detach()


def _upload_row(upload) -> list:
    return [
        upload.id, upload.original_name, _iso(upload.created_at), getattr(upload.uploaded_by, "email", ""),
        upload.status, upload.layout, upload.granularity, upload.terminal, upload.region,
        _iso(upload.period_first_day), _iso(upload.period_last_day), upload.size_bytes, upload.sha256,
        upload.rows_read, upload.figures_imported, _iso(upload.finished_at),
    ]


def _figure_rows(store):
    rows = TrafficFigure.objects.filter(store=store).order_by("granularity", "period_start", "id").values_list(*FIGURE_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        *plain, extra = row
        yield [_cell(value) for value in plain] + [json.dumps(extra, ensure_ascii=False) if extra else ""]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value


def _iso(value) -> str:
    return value.isoformat() if value else ""
