"""Imports under faults: a killed worker, a Redis restart, a dropped database connection, and a burst of uploads.

Every test runs real Celery worker processes (tests/worker_fixtures.py) on the
test database. Expected figures are computed here from the generated CSV with
the csv module, independently of the importer.
"""

import csv
import datetime
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction

from accounts.models import Store
from config.celery import app as celery_app
from tests.helpers import uses_postgres
from tests.large_files import CHANNEL_CATEGORIES, write_visitor_details
from tests.worker_fixtures import (
    imports_routed_to, needs_postgres_and_redis, new_queue_name, start_worker, stop_worker, wait_until_ready,
    worker_logs,
)
from traffic import actions, jobs, tasks
from traffic.models import TrafficFigure, Upload

# Rows of the large file. On a shared 2-core machine the importer read 7,000 to 12,000
# visitor-details rows a second (measured 2026-12-04), so one import of this file takes 5 to 10 s.
LARGE_ROWS = 60_000
LARGE_DAYS = 7
FIRST_DAY = datetime.date(2026, 11, 1)
# Short enough that the watchdog takes over from a killed worker within seconds,
# long enough that a live worker between two heartbeats (every 1,000 rows) is not stale.
STALE_SECONDS = 4
FAULT_TIMEOUT_SECONDS = 120
REDIS_PORTS = range(6390, 6400)


def needs_servers(test):
    for mark in needs_postgres_and_redis:
        test = mark(test)
    return test


# --- expected figures, from the file alone ---------------------------------------------------------------------


def expected_figures(path: Path) -> dict[tuple, tuple[int, int, int]]:
    """Count (visitors, inquiry customers, TM customers) per day, terminal, region, source and sub-source.

    Visitors are distinct visitor ids in the group. Mainland China is country
    CN only, so exclude_cn drops CN visits and keeps HK and TW.
    """
    groups = defaultdict(lambda: (set(), set(), set()))
    with path.open(encoding="utf-8", newline="") as source_file:
        for row in csv.DictReader(source_file):
            day = datetime.date.fromisoformat(row["访问日期"])
            terminal = "pc" if row["终端"] == "PC" else "wireless"
            regions = ["all"] if row["国家/地区"] == "CN" else ["all", "exclude_cn"]
            category = CHANNEL_CATEGORIES[row["流量渠道"]]
            sources = [(category, ""), ("total", "")]
            if row["流量渠道"] == "文字搜索":
                sources.append(("search", "text_search"))

            for group_terminal in (terminal, "all"):
                for region in regions:
                    for source, sub_source in sources:
                        visitors, inquiries, tm_consultations = groups[(day, group_terminal, region, source, sub_source)]
                        visitors.add(row["访客ID"])
                        if row["是否询盘"] == "是":
                            inquiries.add(row["访客ID"])
                        if row["是否TM咨询"] == "是":
                            tm_consultations.add(row["访客ID"])

    return {key: tuple(len(ids) for ids in sets) for key, sets in groups.items()}


def stored_figures(figures) -> dict[tuple, tuple[int, int, int]]:
    rows = figures.filter(source__in=[*CHANNEL_CATEGORIES.values(), "total"], raw_label="").values_list(
        "period_start", "terminal", "region", "source", "sub_source", "visitors", "inquiry_customers", "tm_customers",
    )
    return {
        (day, terminal, region, source, sub_source): (visitors, inquiries, tm_consultations)
        for day, terminal, region, source, sub_source, visitors, inquiries, tm_consultations in rows
        if visitors  # the importer also writes zero rows for categories without visits
    }


def assert_one_set_of_figures(upload: Upload, path: Path) -> None:
    """Check that the store's figures are exactly this upload's, once each, and equal the counts from the file."""
    figures = TrafficFigure.objects.filter(store=upload.store)

    assert upload.figures_imported > 0
    assert figures.count() == upload.figures_imported
    assert set(figures.values_list("upload_id", flat=True)) == {upload.id}
    assert figures.values(*TrafficFigure.KEY_FIELDS).distinct().count() == upload.figures_imported
    assert not figures.filter(is_current=False).exists()
    assert stored_figures(figures) == expected_figures(path)


def assert_all_or_nothing(upload: Upload) -> None:
    """Check that an upload that ended has all of its figures or none, and a message when it failed."""
    written = upload.figures.count()
    if upload.status == Upload.Status.SUCCEEDED:
        assert written == upload.figures_imported > 0
    else:
        assert upload.status == Upload.Status.FAILED
        assert written == 0
        assert upload.messages, "a failed upload must say why"
        assert upload.messages[0]["message"]


# --- fixtures and steps --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large-files") / "visitor-details_large.csv"
    return write_visitor_details(path, LARGE_ROWS, FIRST_DAY, LARGE_DAYS, seed=20261101)


@pytest.fixture
def fault_queue():
    with imports_routed_to(new_queue_name("faults")) as queue:
        yield queue


@pytest.fixture
def fault_settings(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.IMPORT_STALE_SECONDS = STALE_SECONDS
    return settings


@pytest.fixture
def start_workers(django_db_setup, fault_queue, fault_settings, tmp_path):
    """Start workers on this test's queue; every one still running is stopped when the test ends."""
    started = []

    def start(count: int, env: dict | None = None):
        env = {"IMPORT_STALE_SECONDS": str(STALE_SECONDS), **(env or {})}
        processes = []
        for _ in range(count):
            name = f"worker{len(started) + 1}"
            process = start_worker(fault_queue, fault_settings.UPLOAD_ROOT, tmp_path / f"{name}.log", name, env)
            started.append(process)
            processes.append(process)
        for process in processes:
            wait_until_ready(process)
        return processes

    yield start
    for process in started:
        stop_worker(process)


def store_file(store, path: Path, send=None) -> Upload:
    """Store the file as an upload and queue its import: through the default broker, or through `send`."""
    with path.open("rb") as source_file:
        content = source_file.read()
    with transaction.atomic():
        upload = actions.store_upload_file(store, [content], path.name)
        if send is None:
            actions.enqueue_import(upload)
    if send is not None:
        send(upload.id)
    return upload


def wait_until_reading(upload: Upload, *workers) -> Upload:
    """Wait until a worker has claimed the upload and read some rows."""
    deadline = time.monotonic() + FAULT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.status == Upload.Status.PROCESSING and upload.rows_read > 0:
            return upload
        assert not upload.is_done, f"upload {upload.id} ended before the fault: {upload.messages}"
        time.sleep(0.1)
    pytest.fail(f"Upload {upload.id} was not being read after {FAULT_TIMEOUT_SECONDS} s.\n{worker_logs(*workers)}")


def wait_with_watchdog(uploads, workers, requeue=tasks.requeue_stuck_uploads) -> list[Upload]:
    """Run the watchdog every second, as beat would every minute, until every upload has ended."""
    deadline = time.monotonic() + FAULT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for upload in uploads:
            upload.refresh_from_db()
        if all(upload.is_done for upload in uploads):
            return uploads
        if all(worker.poll() is not None for worker in workers):
            pytest.fail(f"Every Celery worker exited:\n{worker_logs(*workers)}")
        requeue()
        time.sleep(1)

    states = ", ".join(f"{upload.id}: {upload.status} attempt {upload.attempts}" for upload in uploads)
    pytest.fail(f"Uploads not done after {FAULT_TIMEOUT_SECONDS} s ({states}).\n{worker_logs(*workers)}")


def worker_holding(upload: Upload, workers):
    """Return the worker whose log shows that it started importing the upload."""
    holders = [worker for worker in workers if f"import started upload={upload.id} " in worker.log_path.read_text()]
    assert len(holders) == 1, worker_logs(*workers)
    return holders[0]


# --- tests ---------------------------------------------------------------------------------------------------------


def test_beat_schedule_runs_watchdog():
    tasks_scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}

    assert "traffic.tasks.requeue_stuck_uploads" in tasks_scheduled
    assert "benchmarks.tasks.recompute_latest_period" in tasks_scheduled


@needs_servers
def test_killed_worker_import_finished_once(transactional_db, start_workers, store, large_file):
    workers = start_workers(2)

    upload = store_file(store, large_file)
    wait_until_reading(upload, *workers)
    holder = worker_holding(upload, workers)
    survivor = next(worker for worker in workers if worker is not holder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    # Redis would redeliver the unacknowledged task only after BROKER_VISIBILITY_TIMEOUT (2 h by
    # default); the watchdog sends it again once the heartbeat is older than STALE_SECONDS.
    [upload] = wait_with_watchdog([upload], [survivor])

    assert upload.status == Upload.Status.SUCCEEDED, upload.messages
    assert upload.attempts >= 2
    assert f"import succeeded upload={upload.id} " in survivor.log_path.read_text()
    assert upload.rows_read == LARGE_ROWS
    assert_one_set_of_figures(upload, large_file)


def _free_redis_port() -> int:
    for port in REDIS_PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip(f"no free port in {REDIS_PORTS} for a Redis server of this test")


def _start_redis(port: int, folder: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"redis-server did not listen on port {port} within 10 s")


def _stop_redis(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    """Run a Redis server of this test on a free port; the test may stop and restart it."""
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        pytest.fail("redis-server is not installed; the Redis restart test needs it")
    port = _free_redis_port()
    server = {"port": port, "url": f"redis://127.0.0.1:{port}/0", "process": _start_redis(port, tmp_path)}
    yield server
    _stop_redis(server["process"])


@needs_servers
def test_redis_restart_during_import(transactional_db, start_workers, own_redis, store, large_file, tmp_path):
    [worker] = start_workers(1, {"REDIS_URL": own_redis["url"]})

    def send(upload_id):
        with celery_app.connection_for_write(own_redis["url"]) as broker:
            tasks.import_upload.apply_async((upload_id,), connection=broker)

    def requeue():
        # The body of tasks.requeue_stuck_uploads, sending to this test's Redis.
        requeued, _failed = jobs.find_stuck_uploads()
        for upload_id in requeued:
            send(upload_id)

    small_file = tmp_path / "visitor-details_small.csv"
    write_visitor_details(small_file, 500, FIRST_DAY + datetime.timedelta(days=20), 2, seed=7)
    large = store_file(store, large_file, send)
    # Queued behind the large file, so the restart (no persistence) loses its message.
    small = store_file(store, small_file, send)
    wait_until_reading(large, worker)

    _stop_redis(own_redis["process"])
    time.sleep(2)
    own_redis["process"] = _start_redis(own_redis["port"], tmp_path)
    large, small = wait_with_watchdog([large, small], [worker], requeue)

    for upload in (large, small):
        assert_all_or_nothing(upload)
    assert large.status == Upload.Status.SUCCEEDED, large.messages
    assert small.status == Upload.Status.SUCCEEDED, f"worker did not reconnect: {small.messages}\n{worker_logs(worker)}"
    assert worker.poll() is None


def _terminate_other_backends() -> int:
    """Terminate every other client connection to the test database, that is the workers'; return how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


@needs_servers
def test_database_connection_dropped_during_import(transactional_db, start_workers, store, large_file):
    [worker] = start_workers(1, {"IMPORT_RETRY_BASE_SECONDS": "1"})

    upload = store_file(store, large_file)
    wait_until_reading(upload, worker)
    terminated = _terminate_other_backends()
    [upload] = wait_with_watchdog([upload], [worker])

    assert terminated >= 1
    assert_all_or_nothing(upload)
    assert upload.status == Upload.Status.SUCCEEDED, f"{upload.messages}\n{worker_logs(worker)}"
    assert upload.attempts >= 2
    assert_one_set_of_figures(upload, large_file)


# --- a burst of uploads --------------------------------------------------------------------------------------------

BURST_STORES = 5
BURST_ROWS = 1_500


def _burst_files(folder: Path, store_number: int) -> list[Path]:
    """Write four files for one store: three distinct periods, and the first period again with other visits."""
    starts = [FIRST_DAY, FIRST_DAY + datetime.timedelta(days=3), FIRST_DAY + datetime.timedelta(days=6), FIRST_DAY]
    files = []
    for number, first_day in enumerate(starts):
        path = folder / f"store{store_number}_file{number}.csv"
        files.append(write_visitor_details(path, BURST_ROWS, first_day, 3, seed=store_number * 10 + number))
    return files


def _store_in_thread(store, path: Path, barrier: threading.Barrier | None = None):
    """Store and queue one file on this thread's own database connection; return the upload or the duplicate error."""
    try:
        if barrier is not None:
            barrier.wait(timeout=10)
        return store_file(store, path)
    except actions.DuplicateUpload as duplicate:
        return duplicate
    finally:
        connections.close_all()


@needs_servers
def test_burst_of_uploads_imported_once(transactional_db, start_workers, store, industry, tmp_path):
    workers = start_workers(2)
    stores = [store] + [
        Store.objects.create(name=f"Burst store {number}", slug=f"burst-{number}", main_industry=industry)
        for number in range(1, BURST_STORES)
    ]
    files = {store_item.id: _burst_files(tmp_path, number) for number, store_item in enumerate(stores)}

    # Every file at once, and the first store's first file twice at the same moment.
    same_moment = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        twin_file = files[stores[0].id][0]
        futures = [
            pool.submit(_store_in_thread, store_item, path)
            for store_item in stores for path in files[store_item.id] if path != twin_file
        ]
        twins = [pool.submit(_store_in_thread, stores[0], twin_file, same_moment) for _ in range(2)]
        results = [future.result() for future in futures + twins]

    duplicates = [result for result in results if isinstance(result, actions.DuplicateUpload)]
    uploads = [result for result in results if isinstance(result, Upload)]
    assert len(duplicates) == 1
    assert len(uploads) == BURST_STORES * 4
    uploads = wait_with_watchdog(uploads, workers)

    twin_sha = duplicates[0].existing.sha256
    assert Upload.objects.filter(store=stores[0], sha256=twin_sha).count() == 1
    for upload in uploads:
        assert upload.status == Upload.Status.SUCCEEDED, upload.messages
        assert upload.attempts == 1, f"upload {upload.id} was claimed {upload.attempts} times"
        assert upload.figures.count() == upload.figures_imported
    started = sum(worker.log_path.read_text().count("import started upload=") for worker in workers)
    assert started == len(uploads)

    for store_item in stores:
        _assert_latest_upload_wins(store_item, files[store_item.id])


def _assert_latest_upload_wins(store, paths: list[Path]) -> None:
    """Check the current figures of a store: per day, those of the file with the highest upload id covering it."""
    uploads = {upload.original_name: upload for upload in Upload.objects.filter(store=store)}
    expected = {}
    for path in sorted(paths, key=lambda path: uploads[path.name].id):
        figures = expected_figures(path)
        days = {key[0] for key in figures}
        expected = {key: counts for key, counts in expected.items() if key[0] not in days}
        expected.update(figures)

    current = TrafficFigure.objects.filter(store=store, is_current=True)
    assert stored_figures(current) == expected
    assert current.count() == current.values(*TrafficFigure.KEY_FIELDS).distinct().count()

    first, overlap = uploads[paths[0].name], uploads[paths[3].name]
    winner, loser = max(first, overlap, key=lambda upload: upload.id), min(first, overlap, key=lambda upload: upload.id)
    assert not current.filter(upload=loser).exists()
    assert current.filter(upload=winner).count() == winner.figures_imported


@pytest.mark.postgres
@pytest.mark.skipif(not uses_postgres(), reason="needs DATABASE_URL=postgres://... for two writers at once")
def test_overlapping_imports_written_in_turn(transactional_db, store, fault_settings, monkeypatch, tmp_path):
    # Given two uploads of the same days, and the first import paused inside its write transaction
    first_path = write_visitor_details(tmp_path / "first.csv", 300, FIRST_DAY, 2, seed=1)
    second_path = write_visitor_details(tmp_path / "second.csv", 300, FIRST_DAY, 2, seed=2)
    first = store_file(store, first_path, send=lambda upload_id: None)
    second = store_file(store, second_path, send=lambda upload_id: None)

    first_written = threading.Event()
    release_first = threading.Event()
    write_figures = jobs.write_figures

    def write_then_pause(upload, result):
        count = write_figures(upload, result)
        if upload.id == first.id:
            first_written.set()
            release_first.wait(timeout=30)
        return count

    monkeypatch.setattr(jobs, "write_figures", write_then_pause)
    errors = []

    def import_in_thread(upload):
        try:
            jobs.run_import(upload.id, jobs.claim_upload(upload.id))
        except Exception as exc:  # reported by the assert below
            errors.append(exc)
        finally:
            connections.close_all()

    # When the second import reaches its write while the first has not committed
    first_thread = threading.Thread(target=import_in_thread, args=(first,))
    first_thread.start()
    assert first_written.wait(timeout=30)
    second_thread = threading.Thread(target=import_in_thread, args=(second,))
    second_thread.start()
    time.sleep(1.5)
    release_first.set()
    first_thread.join(timeout=30)
    second_thread.join(timeout=30)

    # Then both succeed, and the later upload's figures are current
    assert errors == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Upload.Status.SUCCEEDED, first.messages
    assert second.status == Upload.Status.SUCCEEDED, second.messages
    current = TrafficFigure.objects.filter(store=store, is_current=True)
    assert stored_figures(current) == expected_figures(second_path)
    assert not current.filter(upload=first).exists()
