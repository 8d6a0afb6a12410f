"""Uploads imported by a real Celery worker process over Redis, with PostgreSQL.

The worker runs in a subprocess on the test database and consumes a queue of
this module (see tests/worker_fixtures.py), so these tests use transactional_db.
"""

import datetime
from decimal import Decimal

from django.db import transaction

from tests.worker_fixtures import (  # noqa: F401 (fixtures)
    needs_postgres_and_redis, wait_until_done, worker, worker_queue, worker_settings, worker_upload_root,
)
from traffic import actions
from traffic.models import TrafficFigure, Upload

WEEK_SAMPLE = "traffic-source_week_2026-11-02_all_gbk.csv"

pytestmark = needs_postgres_and_redis


def _upload_through_worker(store, user, name: str, content: bytes) -> Upload:
    with transaction.atomic():
        upload = actions.store_upload_file(store, [content], name, user)
        actions.enqueue_import(upload)
    # The task is sent to Redis when the block above commits.
    return upload


def _week_figure(upload, source, sub_source=""):
    return TrafficFigure.objects.get(
        upload=upload,
        granularity="week",
        period_start=datetime.date(2026, 11, 2),
        terminal="all",
        region="all",
        source=source,
        sub_source=sub_source,
        raw_label="",
    )


def test_worker_imports_week_report(transactional_db, worker, worker_settings, store, owner, samples_dir):
    content = (samples_dir / WEEK_SAMPLE).read_bytes()

    upload = _upload_through_worker(store, owner, WEEK_SAMPLE, content)
    upload = wait_until_done(upload, worker)

    assert upload.status == Upload.Status.SUCCEEDED, upload.messages
    assert f"upload={upload.id} " in worker.log_path.read_text()  # the worker, not this process, imported it
    assert upload.layout == "traffic_source_report"
    assert upload.started_at is not None
    assert upload.figures_imported == 28
    assert upload.figures.count() == 28

    search = _week_figure(upload, "search")
    assert search.visitors == 1408
    assert search.inquiry_customers == 54
    assert search.tm_customers == 32
    assert search.feedback_conversion_rate == Decimal("0.0611")
    assert search.is_current

    text_search = _week_figure(upload, "search", "text_search")
    assert text_search.visitors == 467
    assert text_search.inquiry_customers == 23
    assert text_search.tm_customers == 10

    total = _week_figure(upload, "total")
    assert total.visitors == 4169
    assert total.inquiry_customers == 123
    assert total.tm_customers == 57
    assert total.feedback_conversion_rate == Decimal("0.0432")


def test_worker_fails_unknown_layout(transactional_db, worker, worker_settings, store, owner):
    content = "备注,内容\n这不是数据管家的导出,1\n".encode("utf-8")

    upload = _upload_through_worker(store, owner, "notes.csv", content)
    upload = wait_until_done(upload, worker)

    assert upload.status == Upload.Status.FAILED
    assert f"upload={upload.id} " in worker.log_path.read_text()
    assert upload.figures_imported == 0
    assert upload.figures.count() == 0
    assert TrafficFigure.objects.filter(store=store).count() == 0
    errors = [problem for problem in upload.messages if problem["level"] == "error"]
    assert errors, upload.messages
    assert errors[0]["message"]
