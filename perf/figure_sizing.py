"""Measure the size of traffic_trafficfigure and the traffic page's queries on a large PostgreSQL table.

Not part of the test suite. The numbers go into docs/scaling.md. Usage, from the project folder:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/traffic_perf_scaling
    .venv/bin/python perf/figure_sizing.py generate --stores 100   # about 15.5 million rows
    .venv/bin/python perf/figure_sizing.py measure

`generate` creates and migrates the database, then writes with COPY, for each store, every day,
natural week and natural month of the two years ending 2026-11-30. Each period gets, for the
3 terminals x 2 regions, one current row per source of the taxonomy: 11 categories, 19
sub-sources and the store total, 31 rows. Indexes and constraints are dropped during COPY and rebuilt from their
saved definitions afterwards, so the table ends with exactly the schema of the migrations.

`measure` prints the table, index and TOAST sizes, then requests the traffic page in-process
(Django test client, a logged-in member) for sample stores and filters, captures the SQL that
reads traffic_trafficfigure and runs EXPLAIN (ANALYZE, BUFFERS) on each statement.
"""

import argparse
import datetime
import io
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAST_DAY = datetime.date(2026, 11, 30)
DAYS = 730
SLICES = [(terminal, region) for terminal in ("all", "pc", "wireless") for region in ("all", "exclude_cn")]
MEMBER_EMAIL = "sizing@example.com"
TABLE = "traffic_trafficfigure"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "sizing-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def periods() -> list[tuple[str, datetime.date]]:
    first_day = LAST_DAY - datetime.timedelta(days=DAYS - 1)
    days = [first_day + datetime.timedelta(days=offset) for offset in range(DAYS)]
    weeks = sorted({day - datetime.timedelta(days=day.weekday()) for day in days})
    months = sorted({day.replace(day=1) for day in days})
    return [("day", day) for day in days] + [("week", week) for week in weeks] + [("month", month) for month in months]


def sources() -> list[tuple[str, str]]:
    from traffic.taxonomy import CATEGORIES, TOTAL

    keys = [(category.code, "") for category in CATEGORIES]
    keys += [(category.code, sub.code) for category in CATEGORIES for sub in category.sub_sources]
    return keys + [(TOTAL, "")]


# --- generate ----------------------------------------------------------------------------------------------------


def create_database(database_url: str) -> None:
    import psycopg

    parsed = urllib.parse.urlsplit(database_url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(urllib.parse.urlunsplit(parsed._replace(path="/postgres")), autocommit=True) as server:
        if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            server.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, check=True, env={**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "sizing-only-secret-key",
                                   "ALLOWED_HOSTS": "127.0.0.1"},
    )


def create_stores(count: int) -> list[tuple[int, int]]:
    """Create the stores, one member of all of them and one upload per store; return (store id, upload id) pairs."""
    from accounts.models import Industry, Membership, Store, User
    from traffic.models import Upload

    industry, _created = Industry.objects.get_or_create(
        code="sizing", defaults={"name_zh": "容量测试", "name_en": "Sizing"}
    )
    member = User.objects.filter(email=MEMBER_EMAIL).first() or User.objects.create_user(
        email=MEMBER_EMAIL, password="sizing-password-2026"
    )
    pairs = []
    for number in range(count):
        store = Store.objects.create(name=f"Sizing store {number:05d}", slug=f"sizing-{number:05d}", main_industry=industry)
        Membership.objects.create(user=member, store=store, role=Membership.Role.VIEWER)
        upload = Upload.objects.create(
            store=store, original_name="generated.csv", stored_name=f"sizing-{store.id}.upload",
            sha256=f"{store.id:064d}", status=Upload.Status.SUCCEEDED,
        )
        pairs.append((store.id, upload.id))
    return pairs


def drop_indexes_and_constraints(cursor) -> list[str]:
    """Drop the table's secondary indexes, unique and foreign-key constraints; return the statements that rebuild them."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
        [TABLE],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass AND NOT indisprimary "
        "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass)",
        [TABLE, TABLE],
    )
    indexes = cursor.fetchall()

    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    rebuild = [definition for _name, definition in indexes]
    rebuild += [f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
    return rebuild


def store_rows(store_id: int, upload_id: int, all_periods, all_sources, generator: random.Random) -> bytes:
    """Return one store's figures as COPY text."""
    out = io.StringIO()
    for granularity, period_start in all_periods:
        scale = {"day": 1, "week": 7, "month": 30}[granularity]
        for terminal, region in SLICES:
            for source, sub_source in all_sources:
                visitors = generator.randint(0, 60) * scale
                inquiries = visitors // 30
                tm_customers = visitors // 50
                rate = f"{(inquiries + tm_customers) / visitors:.6f}" if visitors else "\\N"
                out.write(
                    f"{store_id}\t{upload_id}\t{granularity}\t{period_start}\t{terminal}\t{region}\t{source}\t"
                    f"{sub_source}\t\t{visitors}\t{inquiries}\t{tm_customers}\t{rate}\t{{}}\tt\n"
                )
    return out.getvalue().encode()


def generate(database_url: str, store_count: int) -> None:
    import psycopg

    create_database(database_url)
    setup_django(database_url)
    pairs = create_stores(store_count)
    all_periods, all_sources = periods(), sources()
    generator = random.Random(1)
    print(f"{len(pairs)} stores x {len(all_periods)} periods x {len(SLICES)} slices x {len(all_sources)} sources")

    columns = (
        "store_id, upload_id, granularity, period_start, terminal, region, source, sub_source, raw_label, "
        "visitors, inquiry_customers, tm_customers, feedback_conversion_rate, extra, is_current"
    )
    started = time.monotonic()
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        rebuild = drop_indexes_and_constraints(cursor)
        with cursor.copy(f"COPY {TABLE} ({columns}) FROM STDIN") as copy:
            for number, (store_id, upload_id) in enumerate(pairs, start=1):
                copy.write(store_rows(store_id, upload_id, all_periods, all_sources, generator))
                if number % 10 == 0:
                    print(f"  {number} stores copied, {time.monotonic() - started:.0f} s")
        copied = time.monotonic()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for statement in rebuild:
            cursor.execute(statement)
        print(f"COPY {copied - started:.0f} s, indexes and constraints {time.monotonic() - copied:.0f} s")
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"VACUUM ANALYZE {TABLE}")


# --- measure -----------------------------------------------------------------------------------------------------


def print_sizes(cursor) -> None:
    cursor.execute(
        f"SELECT count(*), count(DISTINCT store_id), pg_total_relation_size('{TABLE}'), pg_relation_size('{TABLE}'), "
        f"pg_indexes_size('{TABLE}') FROM {TABLE}"
    )
    rows, stores, total, heap, indexes = cursor.fetchone()
    print(f"rows {rows:,}, stores {stores}, rows per store {rows // stores:,}")
    print(f"total {total / 2**20:,.0f} MiB, heap {heap / 2**20:,.0f} MiB, indexes {indexes / 2**20:,.0f} MiB, "
          f"other (TOAST, FSM, VM) {(total - heap - indexes) / 2**20:,.0f} MiB")
    print(f"bytes per store {total / stores:,.0f}, bytes per row {total / rows:.0f} (heap {heap / rows:.0f})")

    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass ORDER BY 2 DESC", [TABLE],
    )
    for name, size in cursor.fetchall():
        print(f"  index {name}: {size / 2**20:,.0f} MiB, {size / stores / 2**20:.2f} MiB per store")


def page_filters() -> list[dict]:
    return [
        {"granularity": "day", "range": "custom", "start": "2026-09-01", "end": "2026-11-29"},
        {"granularity": "day", "range": "last_month", "terminal": "pc", "region": "exclude_cn"},
        {"granularity": "week", "range": "custom", "start": "2026-06-01", "end": "2026-11-29"},
        {"granularity": "month", "range": "this_year", "terminal": "wireless"},
        {"granularity": "day", "range": "custom", "start": "2025-12-01", "end": "2026-11-29"},
    ]


def measure(database_url: str, sample_stores: int) -> None:
    setup_django(database_url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Store, User

    with connection.cursor() as cursor:
        print_sizes(cursor)
        cursor.execute("SHOW shared_buffers")
        print(f"shared_buffers {cursor.fetchone()[0]}")

    client = Client()
    client.force_login(User.objects.get(email=MEMBER_EMAIL))
    slugs = list(Store.objects.filter(slug__startswith="sizing-").order_by("?").values_list("slug", flat=True)[:sample_stores])

    page_seconds = []
    statement_ms = []
    worst = (0.0, "", "")
    for slug in slugs:
        for filters in page_filters():
            url = f"/stores/{slug}/?{urllib.parse.urlencode(filters)}"
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                page_seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)

            for query in captured.captured_queries:
                if TABLE not in query["sql"]:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query["sql"])
                    plan = cursor.fetchone()[0][0]
                milliseconds = plan["Execution Time"]
                statement_ms.append(milliseconds)
                if milliseconds > worst[0]:
                    worst = (milliseconds, url, query["sql"])

    statement_ms.sort()
    page_seconds.sort()
    print(f"\n{len(page_seconds)} page requests on {len(slugs)} stores, in-process (no HTTP):")
    print(f"  page p50 {statistics.median(page_seconds) * 1000:.0f} ms, max {page_seconds[-1] * 1000:.0f} ms")
    print(f"{len(statement_ms)} statements on {TABLE}, EXPLAIN ANALYZE execution time:")
    print(f"  p50 {statistics.median(statement_ms):.2f} ms, p95 {statement_ms[int(0.95 * len(statement_ms))]:.2f} ms, "
          f"max {statement_ms[-1]:.2f} ms, sum per page {sum(statement_ms) / len(page_seconds):.1f} ms")
    print(f"\nslowest statement ({worst[0]:.2f} ms) from {worst[1]}:\n{worst[2]}\n")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + worst[2])
        print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["generate", "measure"])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL URL of a scratch database (default: $DATABASE_URL)")
    parser.add_argument("--stores", type=int, default=100, help="stores to generate (default %(default)s)")
    parser.add_argument("--sample-stores", type=int, default=8, help="stores whose page is measured (default %(default)s)")
    args = parser.parse_args()

    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL or --database-url to a PostgreSQL scratch database")
    if args.command == "generate":
        generate(args.database_url, args.stores)
    else:
        measure(args.database_url, args.sample_stores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
