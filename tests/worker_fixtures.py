"""Real Celery worker processes for end-to-end tests on PostgreSQL and Redis.

The test process and the workers share the test database. A worker can read
only rows that the test has committed, so tests that use these workers need
transactional_db. Each worker consumes a queue of its own test module or test,
so another worker on the same Redis database (a developer's `make run`, say)
never takes these messages.

Test modules import the fixtures they use from here, and call start_worker
directly when a test needs several workers or a worker it may kill.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from config.celery import app as celery_app
from tests.helpers import postgres_test_url, uses_postgres
from traffic.models import Upload

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPORT_TIMEOUT_SECONDS = 60
WORKER_STOP_SECONDS = 10
WORKER_READY_SECONDS = 30

needs_postgres_and_redis = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not (uses_postgres() and os.environ.get("REDIS_URL")),
        reason="needs DATABASE_URL=postgres://... and REDIS_URL for a worker process that shares the test database",
    ),
]


@contextlib.contextmanager
def imports_routed_to(queue: str):
    """Send import tasks to `queue` on the broker instead of running them eagerly, until the block ends."""
    previous = {
        "task_always_eager": celery_app.conf.task_always_eager,
        "task_routes": celery_app.conf.task_routes,
    }
    celery_app.conf.update(
        task_always_eager=False,
        task_routes={"traffic.tasks.import_upload": {"queue": queue}},
    )
    try:
        yield queue
    finally:
        celery_app.conf.update(**previous)


def new_queue_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def start_worker(queue: str, upload_root: Path, log_path: Path, name: str = "worker", env: dict | None = None):
    """Start `celery worker` (solo pool, one task at a time) on the test database and return its Popen.

    `env` adds to or overrides the environment of the worker, for example a
    small IMPORT_STALE_SECONDS or another REDIS_URL. The returned process has
    `log_path` and `name` attributes.
    """
    worker_env = {
        **os.environ,
        "DATABASE_URL": postgres_test_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "UPLOAD_ROOT": str(upload_root),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=INFO",
        "--queues", queue,
        "--hostname", f"{name}-{queue}@127.0.0.1",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]

    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    process.log_path = log_path
    process.name = name
    return process


def wait_until_ready(process, timeout: float = WORKER_READY_SECONDS) -> None:
    """Wait until the worker has connected to the broker and logged that it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in process.log_path.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"Worker {process.name} exited with status {process.returncode}:\n{process.log_path.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"Worker {process.name} was not ready after {timeout} s:\n{process.log_path.read_text()}")


def stop_worker(process) -> None:
    """Stop a worker with SIGTERM, then SIGKILL if it has not exited within WORKER_STOP_SECONDS."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_logs(*processes) -> str:
    return "\n".join(f"--- {process.name} log:\n{process.log_path.read_text()}" for process in processes)


def wait_until_done(upload: Upload, *workers, timeout: float = IMPORT_TIMEOUT_SECONDS) -> Upload:
    """Poll the upload until it has succeeded or failed; fail the test when every worker has exited or on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.is_done:
            return upload

        if workers and all(worker.poll() is not None for worker in workers):
            pytest.fail(f"Every Celery worker exited:\n{worker_logs(*workers)}")
        time.sleep(0.2)

    pytest.fail(f"Upload {upload.id} is still {upload.status} after {timeout} s.\n{worker_logs(*workers)}")


@pytest.fixture(scope="module")
def worker_queue():
    """Route import tasks to a queue of this test module."""
    with imports_routed_to(new_queue_name("e2e")) as queue:
        yield queue


@pytest.fixture(scope="module")
def worker_upload_root(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-uploads")


@pytest.fixture(scope="module")
def worker(django_db_setup, worker_queue, worker_upload_root, tmp_path_factory):
    """Run one worker on the module's queue until the module ends."""
    log_path = tmp_path_factory.mktemp("worker-log") / "worker.log"
    process = start_worker(worker_queue, worker_upload_root, log_path)
    yield process
    stop_worker(process)


@pytest.fixture
def worker_settings(settings, worker_upload_root):
    """Point this process at the folder the worker reads uploads from."""
    settings.UPLOAD_ROOT = worker_upload_root
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return settings
