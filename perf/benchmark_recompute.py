"""Time a recompute of every cohort of one month over 1,000 stores, against one hand-written SQL query.

Usage (PostgreSQL on 127.0.0.1:5432, user postgres, trust authentication):

    .venv/bin/python perf/benchmark_recompute.py [--stores 1000] [--industries 20] [--repeat 3]

The script drops and recreates the scratch database traffic_perf_bench and
migrates it. It bulk-inserts one month of category and total figures for every
terminal and region. Then it times benchmarks.compute (read, compute, write
snapshots) and one SQL query with percentile_cont over the same rows. It prints the best of
--repeat runs of each, checks that both give the same medians, and exits 1 when
the recompute takes over 10 s or over twice the SQL query.
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "traffic_perf_bench"
SERVER = "postgres://postgres@127.0.0.1:5432"
MONTH = datetime.date(2026, 10, 1)
LIMIT_SECONDS = 10.0
LIMIT_RATIO = 2.0

# One query: every cohort's share and conversion percentiles per source, and the
# median of the top decile of stores ranked by feedback customers.
SQL = """
WITH rows AS (
    SELECT f.store_id, s.main_industry_id AS industry_id, f.terminal, f.region, f.source,
           f.visitors, f.inquiry_customers + f.tm_customers AS customers
    FROM traffic_trafficfigure f
    JOIN accounts_store s ON s.id = f.store_id
    WHERE f.granularity = 'month' AND f.period_start = %(month)s AND f.is_current
      AND f.sub_source = '' AND f.raw_label = '' AND s.main_industry_id IS NOT NULL
),
totals AS (
    SELECT store_id, terminal, region,
           COALESCE(MAX(visitors) FILTER (WHERE source = 'total'), SUM(visitors) FILTER (WHERE source <> 'total')) AS visitors,
           COALESCE(MAX(customers) FILTER (WHERE source = 'total'), SUM(customers) FILTER (WHERE source <> 'total')) AS customers
    FROM rows GROUP BY store_id, terminal, region
),
ranked AS (
    SELECT t.*, r.industry_id,
           ROW_NUMBER() OVER (PARTITION BY r.industry_id, t.terminal, t.region ORDER BY t.customers DESC, t.store_id) AS position,
           COUNT(*) OVER (PARTITION BY r.industry_id, t.terminal, t.region) AS cohort_size
    FROM totals t JOIN (SELECT DISTINCT store_id, industry_id FROM rows) r USING (store_id)
),
values AS (
    SELECT r.industry_id, r.terminal, r.region, r.source,
           r.visitors::float / NULLIF(k.visitors, 0) AS share,
           CASE WHEN r.visitors > 0 THEN r.customers::float / r.visitors END AS rate,
           k.position <= CEIL(k.cohort_size * 0.10) AS is_top
    FROM rows r JOIN ranked k USING (store_id, terminal, region)
    WHERE r.source <> 'total'
)
SELECT industry_id, terminal, region, source,
       percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY share) AS share_percentiles,
       percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY rate) AS rate_percentiles,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY share) FILTER (WHERE is_top) AS top_share,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY rate) FILTER (WHERE is_top) AS top_rate
FROM values
GROUP BY industry_id, terminal, region, source
"""


def recreate_database():
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def setup_django():
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DATA_DIR", "/tmp/traffic-perf-bench-data")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def generate(store_count: int, industry_count: int) -> int:
    """Bulk-insert the stores and one month of figures; return the number of figure rows."""
    from accounts.models import Industry, Store
    from traffic.models import TrafficFigure, Upload
    from traffic.taxonomy import CATEGORIES, TOTAL

    industries = Industry.objects.bulk_create(
        Industry(code=f"industry-{number:02d}", name_zh=f"行业{number}", name_en=f"Industry {number}")
        for number in range(industry_count)
    )
    stores = Store.objects.bulk_create(
        Store(name=f"Store {number}", slug=f"store-{number:04d}", main_industry=industries[number % industry_count])
        for number in range(store_count)
    )
    uploads = Upload.objects.bulk_create(
        Upload(store=store, original_name="perf", stored_name=f"perf-{store.id}", sha256=f"{store.id:064d}",
               status=Upload.Status.SUCCEEDED)
        for store in stores
    )

    rng = random.Random(7)
    figures = []
    for store, upload in zip(stores, uploads):
        size = rng.lognormvariate(8.5, 0.8)
        for terminal, terminal_factor in (("all", 1.0), ("pc", 0.4), ("wireless", 0.65)):
            for region, region_factor in (("all", 1.0), ("exclude_cn", 0.88)):
                category_visitors = []
                for category in CATEGORIES:
                    visitors = int(size * terminal_factor * region_factor * rng.uniform(0.02, 0.3))
                    inquiry = int(visitors * rng.uniform(0.005, 0.06))
                    tm = int(visitors * rng.uniform(0.002, 0.03))
                    category_visitors.append((visitors, inquiry, tm))
                    figures.append(TrafficFigure(
                        store_id=store.id, upload_id=upload.id, granularity="month", period_start=MONTH,
                        terminal=terminal, region=region, source=category.code,
                        visitors=visitors, inquiry_customers=inquiry, tm_customers=tm,
                    ))
                totals = [int(sum(values[index] for values in category_visitors) * 0.88) for index in range(3)]
                figures.append(TrafficFigure(
                    store_id=store.id, upload_id=upload.id, granularity="month", period_start=MONTH,
                    terminal=terminal, region=region, source=TOTAL,
                    visitors=totals[0], inquiry_customers=totals[1], tm_customers=totals[2],
                ))
    TrafficFigure.objects.bulk_create(figures, batch_size=5000)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(figures)


def time_recompute():
    from benchmarks import compute
    from benchmarks.models import BenchmarkRun

    started = time.perf_counter()
    run = compute.start_run("month", MONTH, BenchmarkRun.Trigger.COMMAND)
    compute.claim_run(run.pk)
    run = compute.execute_run(run.pk)
    return time.perf_counter() - started, run


def time_sql():
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SQL, {"month": MONTH})
        rows = cursor.fetchall()
    return time.perf_counter() - started, rows


def check_same_medians(run, sql_rows) -> int:
    """Compare the recompute's medians with the SQL query's; return how many values were compared."""
    from benchmarks.models import BaselineValue

    by_key = {
        (industry_id, terminal, region, source): (shares, rates)
        for industry_id, terminal, region, source, shares, rates, _top_share, _top_rate in sql_rows
    }
    compared = 0
    values = BaselineValue.objects.filter(snapshot__run=run).exclude(source="total").select_related("snapshot")
    for value in values:
        snapshot = value.snapshot
        shares, rates = by_key[(snapshot.industry_id, snapshot.terminal, snapshot.region, value.source)]
        expected = shares[1] if value.metric == "visitor_share" else rates[1]
        if abs(expected - value.median) > 1e-9:
            raise SystemExit(f"median differs for {snapshot} {value.source} {value.metric}: {value.median} != {expected}")
        compared += 1
    return compared


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--industries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()

    recreate_database()
    setup_django()
    started = time.perf_counter()
    rows = generate(arguments.stores, arguments.industries)
    print(f"generated {arguments.stores} stores, {arguments.industries} industries, {rows} figure rows "
          f"in {time.perf_counter() - started:.1f} s")

    recompute_times, sql_times = [], []
    for _attempt in range(arguments.repeat):
        seconds, run = time_recompute()
        recompute_times.append(seconds)
        seconds, sql_rows = time_sql()
        sql_times.append(seconds)

    compared = check_same_medians(run, sql_rows)
    recompute_best, sql_best = min(recompute_times), min(sql_times)
    print(f"recompute (read, compute, write {run.cohorts_total} snapshots): best {recompute_best:.3f} s "
          f"of {', '.join(f'{value:.3f}' for value in recompute_times)}")
    print(f"one SQL query with percentile_cont: best {sql_best:.3f} s of {', '.join(f'{value:.3f}' for value in sql_times)}")
    print(f"ratio {recompute_best / sql_best:.2f}; {compared} medians agree with the SQL query")

    if recompute_best > LIMIT_SECONDS or recompute_best > LIMIT_RATIO * sql_best:
        print(f"FAIL: the limits are {LIMIT_SECONDS} s and {LIMIT_RATIO}x the SQL query")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
