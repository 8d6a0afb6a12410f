"""Measure the time from upload to visible figures for each sample file, through a real worker.

Usage (from the repository root):

    .venv/bin/python perf/upload_latency.py [--samples ../shared/samples] [--rounds 3]

It uses a scratch data folder with SQLite and the folder broker (the `make run`
set-up), or DATABASE_URL and REDIS_URL when they are set. It migrates and
starts one Celery worker process. Then, for each sample, it stores the file and
queues its import the way the upload page does. The clock runs from the
commit of the upload to the moment the upload is succeeded and its figures are
current, which is when the report page shows them. Prints the median and the
maximum per sample.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 120


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=REPO_ROOT.parent / "shared" / "samples")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="upload-latency-")
    os.environ.setdefault("DATA_DIR", data_dir)
    os.environ.setdefault("DEBUG", "1")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO_ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    worker = start_worker()
    try:
        results = measure(args.samples, args.rounds)
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    broker = "Redis" if os.environ.get("REDIS_URL") else "folder broker"
    print(f"{database}, {broker}, one worker (--pool=solo), {args.rounds} rounds")
    print(f"{'sample':50} {'median s':>9} {'max s':>7} {'figures':>8}")
    for name, (timings, figures) in results.items():
        print(f"{name:50} {statistics.median(timings):9.2f} {max(timings):7.2f} {figures:8d}")


def start_worker():
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
    ]
    worker = subprocess.Popen(command, cwd=REPO_ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL)
    time.sleep(3)  # let the worker connect before the first task is sent
    return worker


def measure(samples: Path, rounds: int) -> dict:
    from django.db import transaction

    from accounts.models import Store
    from traffic import actions
    from traffic.models import Upload

    results = {}
    for path in sorted(samples.glob("*.*")):
        if path.suffix not in {".xls", ".xlsx", ".csv"}:
            continue
        timings = []
        figures = 0
        for round_number in range(rounds):
            # A new store per round, so the same file is never a duplicate.
            store = Store.objects.create(name=f"Latency {path.stem} {round_number}", slug=f"lat-{time.monotonic_ns()}")
            with transaction.atomic():
                upload = actions.store_upload_file(store, [path.read_bytes()], path.name)
                actions.enqueue_import(upload)
            started = time.monotonic()

            while True:
                upload.refresh_from_db()
                if upload.is_done:
                    break
                if time.monotonic() - started > TIMEOUT_SECONDS:
                    raise SystemExit(f"{path.name}: still {upload.status} after {TIMEOUT_SECONDS} s")
                time.sleep(POLL_SECONDS)

            if upload.status != Upload.Status.SUCCEEDED:
                raise SystemExit(f"{path.name}: {upload.status}: {upload.messages}")
            timings.append(time.monotonic() - started)
            figures = upload.figures.filter(is_current=True).count()
        results[path.name] = (timings, figures)
    return results


if __name__ == "__main__":
    main()
