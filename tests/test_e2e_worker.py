"""Uploads imported by a real Celery worker process over Redis, with PostgreSQL.

The test process and the worker share the test database. The worker can read
only rows that the test has committed, so these tests use transactional_db.
The worker consumes a queue of its own, so another worker on the same Redis
database (a developer's `make run`, say) never takes these messages.
"""

import datetime
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction

from config.celery import app as celery_app
from traffic import actions
from traffic.models import TrafficFigure, Upload

REPO_ROOT = Path(__file__).resolve().parent.parent
WEEK_SAMPLE = "traffic-source_week_2026-11-02_all_gbk.csv"
IMPORT_TIMEOUT_SECONDS = 60
WORKER_STOP_SECONDS = 10

_DATABASE_URL = os.environ.get("DATABASE_URL", "")
_USES_POSTGRES = _DATABASE_URL.split(":", 1)[0] in {"postgres", "postgresql", "pgsql"}

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not (_USES_POSTGRES and os.environ.get("REDIS_URL")),
        reason="needs DATABASE_URL=postgres://... and REDIS_URL for a worker process that shares the test database",
    ),
]


def _test_database_url() -> str:
    """Build a postgres:// URL for the database this test session actually uses (test_<name>)."""
    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(database['NAME'], safe='')}"


@pytest.fixture(scope="module")
def worker_queue():
    """Send import tasks to a queue of this module, and to the broker instead of running them eagerly."""
    queue = f"e2e-{uuid.uuid4().hex[:12]}"
    previous = {
        "task_always_eager": celery_app.conf.task_always_eager,
        "task_routes": celery_app.conf.task_routes,
    }
    celery_app.conf.update(
        task_always_eager=False,
        task_routes={"traffic.tasks.import_upload": {"queue": queue}},
    )
    yield queue
    celery_app.conf.update(**previous)


@pytest.fixture(scope="module")
def worker_upload_root(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-uploads")


@pytest.fixture(scope="module")
def worker(django_db_setup, worker_queue, worker_upload_root, tmp_path_factory):
    """Run `celery worker` in a subprocess on the test database until the module ends."""
    log_path = tmp_path_factory.mktemp("worker-log") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "UPLOAD_ROOT": str(worker_upload_root),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=INFO",
        "--queues", worker_queue,
        "--hostname", f"{worker_queue}@127.0.0.1",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]

    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    process.log_path = log_path
    yield process

    process.terminate()
    try:
        process.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def worker_settings(settings, worker_upload_root):
    """Point this process at the folder the worker reads uploads from."""
    settings.UPLOAD_ROOT = worker_upload_root
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return settings


def _upload_through_worker(store, user, name: str, content: bytes) -> Upload:
    with transaction.atomic():
        upload = actions.store_upload_file(store, [content], name, user)
        actions.enqueue_import(upload)
    # The task is sent to Redis when the block above commits.
    return upload


def _wait_until_done(upload: Upload, worker) -> Upload:
    deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.is_done:
            return upload

        if worker.poll() is not None:
            pytest.fail(f"The Celery worker exited with status {worker.returncode}:\n{worker.log_path.read_text()}")
        time.sleep(0.2)

    pytest.fail(
        f"Upload {upload.id} is still {upload.status} after {IMPORT_TIMEOUT_SECONDS} s. Worker log:\n"
        f"{worker.log_path.read_text()}"
    )


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
    upload = _wait_until_done(upload, worker)

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
    upload = _wait_until_done(upload, worker)

    assert upload.status == Upload.Status.FAILED
    assert f"upload={upload.id} " in worker.log_path.read_text()
    assert upload.figures_imported == 0
    assert upload.figures.count() == 0
    assert TrafficFigure.objects.filter(store=store).count() == 0
    errors = [problem for problem in upload.messages if problem["level"] == "error"]
    assert errors, upload.messages
    assert errors[0]["message"]
