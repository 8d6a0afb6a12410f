"""Measure the traffic page on PostgreSQL with 200 stores and two years of figures.

Not part of the test suite. Usage, from the project folder:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/traffic_perf_page
    .venv/bin/python perf/traffic_page.py generate   # creates the database, about 15 million rows
    .venv/bin/python perf/traffic_page.py measure    # gunicorn on 127.0.0.1:8391, 8 clients
    .venv/bin/python perf/traffic_page.py breakdown  # one page at a time: SQL and Python per page

`generate` writes, for each of 200 stores, every day, natural week and natural month of the
two years ending 2026-11-30, for all 3 terminals and both regions: the 11 categories, 3 search
sub-sources and the store total (15 rows per period and slice, fewer sub-sources than real files).

`measure` starts gunicorn, sends page requests for 90-day ranges with random filters from 8
client threads at a fixed total rate (each client keeps to one of the 8 measured stores), and reads each response's server time from the
Server-Timing header that `timed_application` adds. In the same run a ninth thread runs the
page's figure queries (coverage, sums, trend, captured from the page code) straight through
psycopg, so the ratio page / bare SQL is measured under the same load. Each client keeps its
own schedule from the moment its login finished, so clients whose logins finished together send
their requests together.
"""

import argparse
import datetime
import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "perf-only-secret-key")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

STORES = 200
LAST_DAY = datetime.date(2026, 11, 30)
DAYS = 730
MEASURED_STORES = 8
PASSWORD = "perf-password-2026"
PORT = 8391
SOURCES = [
    ("search", ""), ("search", "text_search"), ("search", "photo_search"), ("search", "category_navigation"),
    ("recommendation", ""), ("venue", ""), ("channel", ""), ("interaction", ""), ("self_marketing", ""),
    ("external_promotion", ""), ("direct", ""), ("in_store", ""), ("off_site", ""), ("other", ""), ("total", ""),
]
SLICES = [(terminal, region) for terminal in ("all", "pc", "wireless") for region in ("all", "exclude_cn")]


def setup_django():
    import django

    django.setup()


def timed_application(environ, start_response):
    """Wrap the project's WSGI app and report the time spent in it as a Server-Timing header."""
    from config.wsgi import application

    started = time.perf_counter()

    def start_with_timing(status, headers, exc_info=None):
        elapsed_ms = (time.perf_counter() - started) * 1000
        headers.append(("Server-Timing", f"app;dur={elapsed_ms:.2f}"))
        return start_response(status, headers, exc_info)

    return application(environ, start_with_timing)


def generate(args):
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Industry, Membership, Store, User
    from traffic.models import Upload

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    industry, _created = Industry.objects.get_or_create(code="perf", defaults={"name_zh": "性能", "name_en": "Perf"})
    user, _created = User.objects.get_or_create(email="perf@example.com")
    user.set_password(PASSWORD)
    user.save()

    first_day = LAST_DAY - datetime.timedelta(days=DAYS - 1)
    periods = _periods(first_day)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE traffic_trafficfigure")
        indexes = _drop_figure_indexes(cursor)

    for number in range(STORES):
        store, _created = Store.objects.get_or_create(slug=f"perf-{number:03d}", defaults={"name": f"Perf store {number:03d}", "main_industry": industry})
        if number < MEASURED_STORES:
            Membership.objects.get_or_create(user=user, store=store, defaults={"role": Membership.Role.OWNER})
        upload, _created = Upload.objects.get_or_create(
            stored_name=f"perf-{number:03d}",
            defaults={"store": store, "original_name": "perf", "sha256": f"{number:064d}", "status": "succeeded"},
        )
        _copy_store(connection, store.id, upload.id, periods, random.Random(number))
        if number % 20 == 19:
            print(f"{number + 1} stores written, {time.monotonic() - started:.0f} s", flush=True)

    with connection.cursor() as cursor:
        for statement in indexes:
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE traffic_trafficfigure")
        # Filled by the figure table's triggers during the COPY (migration 0008).
        cursor.execute("VACUUM ANALYZE traffic_covered_period")
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('traffic_trafficfigure')) FROM traffic_trafficfigure")
        rows, size = cursor.fetchone()
    print(f"{rows} figures, {size} with indexes, in {time.monotonic() - started:.0f} s")


def _periods(first_day):
    from traffic.dimensions import period_end
    from traffic.report.periods import periods_between

    periods = [("day", first_day + datetime.timedelta(days=offset)) for offset in range(DAYS)]
    for granularity in ("week", "month"):
        for start in periods_between(granularity, first_day, LAST_DAY):
            if start >= first_day and period_end(granularity, start) <= LAST_DAY:
                periods.append((granularity, start))
    return periods


def _drop_figure_indexes(cursor):
    """Drop the figure table's secondary indexes for a fast COPY; return the statements that recreate them."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traffic_trafficfigure' AND indexname NOT LIKE '%%pkey'"
    )
    statements = []
    for name, definition in cursor.fetchall():
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conname = %s", [name]
        )
        if cursor.fetchone():
            cursor.execute(f'ALTER TABLE traffic_trafficfigure DROP CONSTRAINT "{name}"')
        else:
            cursor.execute(f'DROP INDEX "{name}"')
        statements.append(definition)
    return statements


def _copy_store(connection, store_id, upload_id, periods, rng):
    level = rng.uniform(50, 900)
    shares = [rng.uniform(0.02, 0.3) for _source in SOURCES]
    buffer = io.StringIO()
    for granularity, start in periods:
        length = {"day": 1, "week": 7, "month": 30}[granularity]
        for terminal, region in SLICES:
            scale = level * length
            if terminal != "all":
                scale *= 0.5
            if region == "exclude_cn":
                scale *= 0.9
            noise = rng.uniform(0.8, 1.2)
            for (source, sub_source), share in zip(SOURCES, shares):
                visitors = int(scale * (1 if source == "total" else share) * noise)
                inquiry = visitors // 30
                tm = visitors // 60
                rate = f"{(inquiry + tm) / visitors:.6f}" if visitors else "\\N"
                buffer.write(
                    f"{store_id}\t{upload_id}\t{granularity}\t{start}\t{terminal}\t{region}\t{source}\t{sub_source}\t\t"
                    f"{visitors}\t{inquiry}\t{tm}\t{rate}\t{{}}\tt\n"
                )
    raw = connection.connection
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY traffic_trafficfigure (store_id, upload_id, granularity, period_start, terminal, region, source, "
            "sub_source, raw_label, visitors, inquiry_customers, tm_customers, feedback_conversion_rate, extra, is_current) "
            "FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
    raw.commit()


def random_query(rng):
    """Return a report query for a 90-day range with random filters."""
    last_day = LAST_DAY - datetime.timedelta(days=rng.randrange(0, 300))
    first_day = last_day - datetime.timedelta(days=89)
    query = {
        "granularity": rng.choice(["day", "week", "month"]),
        "range": "custom",
        "start": first_day.isoformat(),
        "end": last_day.isoformat(),
        "terminal": rng.choice(["all", "pc", "wireless"]),
        "region": rng.choice(["all", "exclude_cn"]),
    }
    if rng.random() < 0.3:
        query["sort"] = rng.choice(["-visitors", "share", "-feedback_conversion_rate"])
    if rng.random() < 0.3:
        query["metric"] = rng.choice(["inquiry_customers", "feedback_conversion_rate"])
    return query


def capture_figure_queries(slug, query):
    """Return the SQL (with parameters) that the page runs to fetch its figures."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Store
    from traffic import queries
    from traffic.forms import ReportFilterForm
    from traffic.report.build import build_report
    from traffic.report.filters import store_today

    store = Store.objects.get(slug=slug)
    form = ReportFilterForm(query)
    form.is_valid()
    with CaptureQueriesContext(connection) as captured:
        filters = form.filters(store, store_today(store), "day", lambda *key: queries.newest_period(store, *key))
        build_report(store, filters)
    return [item["sql"] for item in captured.captured_queries]


def log_in(opener, base):
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    data = urllib.parse.urlencode({"username": "perf@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"})
    opener.open(request).read()


def measure(args):
    setup_django()
    from django.db import connection

    base = f"http://127.0.0.1:{PORT}"
    # Plain HTTP on 127.0.0.1: no HTTPS redirect and no secure-only cookies.
    env = {**os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "SECURE_COOKIES": "0", "PYTHONPATH": str(ROOT / "perf")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--pythonpath", str(ROOT / "perf"),
         "--bind", f"127.0.0.1:{PORT}", "--workers", str(args.workers), "--threads", "1",
         "--access-logfile", "/dev/null", "traffic_page:timed_application"],
        env=env,
    )
    try:
        _wait_for(base)
        rng = random.Random(2026)
        plans = []
        for index in range(args.requests):
            # Client number index % clients sends this request (see _run_clients). Each client is
            # a merchant changing filters on one store, as a merchant does between store switches.
            slug = f"perf-{index % args.clients % MEASURED_STORES:03d}"
            plans.append((slug, random_query(rng)))

        statements = {index: capture_figure_queries(slug, query) for index, (slug, query) in enumerate(plans[:200])}
        connection.close()

        sql_times = []
        load_finished = threading.Event()
        sql_thread = threading.Thread(
            target=_run_bare_sql, args=(statements, args.rate / args.clients, sql_times, load_finished)
        )
        sql_thread.start()
        timed_pages, errors = _run_clients(base, plans, args.clients, args.rate)
        load_finished.set()
        sql_thread.join()
    finally:
        server.terminate()
        server.wait()

    def percentile(values, fraction):
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    page_times = [elapsed for elapsed, _granularity in timed_pages]
    page_p50, page_p95 = statistics.median(page_times), percentile(page_times, 0.95)
    sql_p50, sql_p95 = statistics.median(sql_times), percentile(sql_times, 0.95)
    print(f"requests: {len(page_times)} ok, {errors} errors; {args.clients} clients, {args.rate} requests/s in total")
    print(f"page server time: p50 {page_p50:.1f} ms, p95 {page_p95:.1f} ms, max {max(page_times):.1f} ms")
    for granularity in ("day", "week", "month"):
        chosen = [elapsed for elapsed, page_granularity in timed_pages if page_granularity == granularity]
        if chosen:
            print(f"  {granularity}: {len(chosen)} pages, p50 {statistics.median(chosen):.1f} ms, p95 {percentile(chosen, 0.95):.1f} ms")
    print(f"bare SQL of the same figures: p50 {sql_p50:.1f} ms, p95 {sql_p95:.1f} ms ({len(sql_times)} pages)")
    print(f"page / bare SQL: p50 {page_p50 / sql_p50:.2f}x, p95 {page_p95 / sql_p95:.2f}x")


def _wait_for(base):
    for _attempt in range(100):
        try:
            urllib.request.urlopen(f"{base}/accounts/login/").read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not respond on {base} within 20 s; check its output above.")


def _run_clients(base, plans, clients, rate):
    """Send the planned requests from `clients` threads, each at rate / clients requests per second.

    Returns ([(server time in ms, granularity)], number of errors).
    """
    interval = clients / rate
    times, errors = [], []
    lock = threading.Lock()

    def client(number):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        log_in(opener, base)
        mine = plans[number::clients]
        started = time.perf_counter()
        for index, (slug, query) in enumerate(mine):
            # A fixed schedule: a slow response does not lower the rate of later requests.
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            url = f"{base}/stores/{slug}/?{urllib.parse.urlencode(query)}"
            try:
                with opener.open(url) as response:
                    response.read()
                    timing = response.headers["Server-Timing"]
                    with lock:
                        times.append((float(timing.split("dur=")[1]), query["granularity"]))
            except OSError as exc:
                with lock:
                    errors.append(f"{url}: {exc}")

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors[:5]:
        print("error:", error)
    return times, len(errors)


def _run_bare_sql(statements, rate, times, load_finished):
    """Run each page's figure queries through psycopg at `rate` pages per second; append ms per page to times.

    Stops when load_finished is set, so every sample is taken while the pages are under load.
    """
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://")) as connection:
        schedule = time.perf_counter()
        for index, sqls in enumerate(statements.values()):
            delay = schedule + index / rate - time.perf_counter()
            if delay > 0:
                load_finished.wait(delay)
            if load_finished.is_set():
                break
            started = time.perf_counter()
            for sql in sqls:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)


def breakdown(args):
    """Send pages one at a time through the Django test client and split each one's time.

    The parts are the figure queries (coverage, sums, trend), the other queries (session, user,
    memberships) and the rest, which is Python: middleware, building the figures and rendering.
    Query times are taken around cursor.execute, so they include the driver's round trip.
    """
    setup_django()
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from traffic.coverage_index import TABLE as COVERED_TABLE
    from traffic.models import TrafficFigure

    figure_tables = (TrafficFigure._meta.db_table, COVERED_TABLE)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email="perf@example.com"))
    rng = random.Random(2026)
    queries = [random_query(rng) for _index in range(args.requests * 4)]
    print("granularity  pages  total p50  figure SQL p50  other SQL p50  Python p50  total / figure SQL  HTML")
    for granularity in ("day", "week", "month"):
        chosen = [query for query in queries if query["granularity"] == granularity][: args.requests + 10]
        samples = []
        for index, query in enumerate(chosen):
            timings = []

            def timed(execute, sql, params, many, context):
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timings.append((any(table in sql for table in figure_tables), time.perf_counter() - started))

            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                response = client.get(f"/stores/perf-000/?{urllib.parse.urlencode(query)}", secure=True)
            total = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"The page returned HTTP {response.status_code} for {query}; run `generate` first.")
            # The first pages warm the caches (templates, translations, the connection).
            if index >= 10:
                figure_sql = sum(elapsed for is_figure, elapsed in timings if is_figure)
                other_sql = sum(elapsed for is_figure, elapsed in timings if not is_figure)
                samples.append((total, figure_sql, other_sql, total - figure_sql - other_sql, len(response.content)))
        medians = [statistics.median(sample[part] for sample in samples) for part in range(5)]
        total, figure_sql, other_sql, python, size = medians
        print(
            f"{granularity:<11}  {len(samples):>5}  {total * 1000:>6.1f} ms  {figure_sql * 1000:>11.1f} ms  "
            f"{other_sql * 1000:>10.1f} ms  {python * 1000:>7.1f} ms  {total / figure_sql:>17.2f}x  {size / 1000:.0f} kB"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="create the figures (takes several minutes)")
    measure_parser = commands.add_parser("measure", help="load the page and compare it with the bare SQL")
    measure_parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    measure_parser.add_argument("--rate", type=float, default=16, help="requests per second, all clients together (default 16)")
    measure_parser.add_argument("--requests", type=int, default=800, help="requests in total (default 800)")
    measure_parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    breakdown_parser = commands.add_parser("breakdown", help="split single pages into figure SQL, other SQL and Python")
    breakdown_parser.add_argument("--requests", type=int, default=100, help="pages per granularity (default 100)")
    args = parser.parse_args()
    {"generate": generate, "measure": measure, "breakdown": breakdown}[args.command](args)


if __name__ == "__main__":
    main()
