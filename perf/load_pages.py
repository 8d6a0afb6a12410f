"""Load-test the traffic page and the benchmarks page with concurrent logged-in users.

Not part of the test suite. Usage, from the project folder:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/traffic_perf_load
    .venv/bin/python perf/load_pages.py prepare   # creates, migrates and seeds the database
    .venv/bin/python perf/load_pages.py run       # gunicorn on 127.0.0.1:8392, 50 users for 60 s

`prepare` creates the database when it is missing and runs `migrate`, `seed_demo` and
`seed_benchmarks`. `run` starts gunicorn with production settings (DEBUG off, plain HTTP on
127.0.0.1) and logs every user in as the demo user with the login form's CSRF token. Then each
user requests pages in a loop, the traffic page or the benchmarks comparison page of a demo
store with random filters, and waits a random think time between requests. The run stops after --seconds or --max-requests per user, whichever comes first, and
prints the request count, the errors and the p50/p95/p99 latency per page.

Only HTML pages are requested: static files, served by WhiteNoise, are not part of the load.
"""

import argparse
import datetime
import http.cookiejar
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2026"
DEMO_STORES = ("demo-brightway", "demo-soundwave", "demo-lumen")
REQUEST_TIMEOUT_SECONDS = 30
SERVER_START_SECONDS = 30
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- prepare -----------------------------------------------------------------------------------------------------


def prepare(database_url: str) -> None:
    """Create the database if it is missing, migrate it and seed the demo stores and their baselines."""
    import psycopg

    parsed = urllib.parse.urlsplit(database_url)
    name = parsed.path.lstrip("/")
    server_url = urllib.parse.urlunsplit(parsed._replace(path="/postgres"))
    with psycopg.connect(server_url, autocommit=True) as server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            server.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")

    env = server_env(database_url, Path(tempfile.mkdtemp(prefix="load-pages-data-")))
    for command in (["migrate", "--no-input"], ["seed_demo"], ["seed_benchmarks"]):
        started = time.monotonic()
        subprocess.run([str(PYTHON), "manage.py", *command], cwd=ROOT, env=env, check=True)
        print(f"manage.py {' '.join(command)}: {time.monotonic() - started:.0f} s")


def server_env(database_url: str, data_dir: Path) -> dict:
    """Return the environment of a production-like server on plain HTTP at 127.0.0.1."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "DEBUG": "0",
        "SECRET_KEY": "load-test-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
    }


# --- one user ----------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    page: str
    seconds: float
    error: str = ""


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class User:
    """One browser: its own cookies and session, logged in as the demo user."""

    def __init__(self, base_url: str, generator: random.Random):
        self.base_url = base_url
        self.generator = generator
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def log_in(self) -> None:
        login_url = f"{self.base_url}/accounts/login/"
        with self.opener.open(login_url, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            match = CSRF_FIELD.search(response.read().decode("utf-8"))
        if match is None:
            raise RuntimeError(f"no csrfmiddlewaretoken in the form at {login_url}")

        form = urllib.parse.urlencode({
            "csrfmiddlewaretoken": match.group(1), "username": DEMO_EMAIL, "password": DEMO_PASSWORD,
        }).encode()
        request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
        with self.opener.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            response.read()
            if "/accounts/login/" in response.geturl():
                raise RuntimeError(f"login as {DEMO_EMAIL} failed: still on {response.geturl()}")

    def next_page(self) -> tuple[str, str]:
        """Pick the next page and its filters: the traffic page twice as often as the benchmarks page."""
        store = self.generator.choice(DEMO_STORES)
        if self.generator.random() < 2 / 3:
            return "traffic", f"/stores/{store}/?{urllib.parse.urlencode(self.traffic_filters())}"
        return "benchmarks", f"/stores/{store}/benchmarks/?{urllib.parse.urlencode(self.benchmark_filters())}"

    def traffic_filters(self) -> dict:
        pick = self.generator.choice
        filters = {
            "granularity": pick(["day", "week", "month"]),
            "range": pick(["latest", "yesterday", "last_week", "last_month", "this_year", "custom"]),
            "terminal": pick(["all", "pc", "wireless"]),
            "region": pick(["all", "exclude_cn"]),
            "metric": pick(["visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate"]),
            "sort": pick(["", "-visitors", "share", "-feedback_conversion_rate", "-visitors_previous_change"]),
        }
        if filters["range"] == "custom":
            end = datetime.date.today() - datetime.timedelta(days=self.generator.randrange(1, 200))
            filters["start"] = (end - datetime.timedelta(days=self.generator.choice([7, 30, 90, 180]))).isoformat()
            filters["end"] = end.isoformat()
        return filters

    def benchmark_filters(self) -> dict:
        pick = self.generator.choice
        return {
            "granularity": pick(["month", "week"]),
            "terminal": pick(["all", "pc", "wireless"]),
            "region": pick(["all", "exclude_cn"]),
            "scope": pick(["industry", "size_band"]),
        }

    def request(self, path: str) -> str:
        """Fetch a page; return "" on success or a short error."""
        try:
            with self.opener.open(f"{self.base_url}{path}", timeout=REQUEST_TIMEOUT_SECONDS) as response:
                response.read()
                if "/accounts/login/" in response.geturl():
                    return "redirected to login"
                return "" if response.status == 200 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return type(exc).__name__


def browse(user: User, results: Results, stop_at: float, max_requests: int, think_seconds: float) -> None:
    for _ in range(max_requests):
        if time.monotonic() >= stop_at:
            return
        page, path = user.next_page()
        started = time.monotonic()
        error = user.request(path)
        results.add(Sample(page, time.monotonic() - started, f"{error} {path}" if error else ""))
        if think_seconds:
            time.sleep(user.generator.uniform(0.5, 1.5) * think_seconds)


# --- run ---------------------------------------------------------------------------------------------------------


def start_gunicorn(database_url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = server_env(database_url, Path(tempfile.mkdtemp(prefix="load-pages-data-")))
    command = [
        str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--timeout", "60", "--error-logfile", str(log_path),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)

    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2):
                return server
        except (urllib.error.URLError, OSError):
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited with status {server.returncode}; see {log_path}")
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on port {port} within {SERVER_START_SECONDS} s; see {log_path}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def report(results: Results, elapsed: float) -> int:
    """Print a table per page; return the number of errors."""
    print(f"\n| page | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for page in ("traffic", "benchmarks", "all"):
        samples = [sample for sample in results.samples if page in ("all", sample.page)]
        if not samples:
            continue
        seconds = sorted(sample.seconds for sample in samples)
        errors = sum(1 for sample in samples if sample.error)
        print(
            f"| {page} | {len(samples)} | {errors} | {len(samples) / elapsed:.1f} "
            f"| {percentile(seconds, 0.50) * 1000:.0f} | {percentile(seconds, 0.95) * 1000:.0f} "
            f"| {percentile(seconds, 0.99) * 1000:.0f} | {seconds[-1] * 1000:.0f} |"
        )

    failed = [sample.error for sample in results.samples if sample.error]
    for error in failed[:10]:
        print(f"error: {error}")
    if results.samples:
        print(f"\nmean {statistics.mean(sample.seconds for sample in results.samples) * 1000:.0f} ms over {elapsed:.0f} s")
    return len(failed)


def run(args) -> int:
    log_path = Path(tempfile.mkdtemp(prefix="load-pages-")) / "gunicorn.log"
    server = start_gunicorn(args.database_url, args.port, args.web_workers, log_path)
    base_url = f"http://127.0.0.1:{args.port}"
    try:
        users = [User(base_url, random.Random(args.seed + number)) for number in range(args.users)]
        for user in users:
            user.log_in()
        print(f"{len(users)} users logged in; gunicorn workers={args.web_workers}, think time {args.think_seconds} s")

        results = Results()
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [
            threading.Thread(target=browse, args=(user, results, stop_at, args.max_requests, args.think_seconds))
            for user in users
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + REQUEST_TIMEOUT_SECONDS + 5)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    errors = report(results, elapsed)
    print(f"gunicorn log: {log_path}")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["prepare", "run"])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL URL of a scratch database (default: $DATABASE_URL)")
    parser.add_argument("--port", type=int, default=8392, help="port of gunicorn on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--web-workers", type=int, default=5, help="gunicorn sync workers (default %(default)s)")
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the run in seconds (default %(default)s)")
    parser.add_argument("--max-requests", type=int, default=1000,
                        help="maximum requests per user (default %(default)s)")
    parser.add_argument("--think-seconds", type=float, default=1.0,
                        help="mean pause of a user between two requests, in seconds; 0 for none (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the users' random filters (default %(default)s)")
    args = parser.parse_args()

    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL or --database-url to a PostgreSQL scratch database")
    if args.command == "prepare":
        prepare(args.database_url)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
