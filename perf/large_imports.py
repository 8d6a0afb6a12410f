"""Time large imports on PostgreSQL against a COPY floor and against django-import-export.

Not part of the test suite. Usage, from the project folder:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/traffic_perf_import   # the default
    .venv/bin/pip install -r requirements-perf.txt        # django-import-export, for `import-export`
    .venv/bin/python perf/large_imports.py generate       # writes /tmp/large-imports, about 215 MB
    .venv/bin/python perf/large_imports.py floor          # COPY + one INSERT ... SELECT per file
    .venv/bin/python perf/large_imports.py import-export [--rows 200000] [--mode plain]
    .venv/bin/python perf/large_imports.py app            # the app's import through a Celery worker
    .venv/bin/python perf/large_imports.py all            # all of the above, then one table

Two files are measured. The visitor-details CSV (访客详情) has 1,000,000 visits of one store in
October 2026. The canonical multi-store CSV has 2,000,000 figures of 200 stores. `--rows N` on
`generate` writes N visits and 2N canonical rows instead, for trying the script out.

`floor` is the least work PostgreSQL can do for the same result, in one psycopg connection:
COPY the file's rows into a temporary table, then one INSERT INTO traffic_trafficfigure ...
SELECT ... GROUP BY that writes the figures the app would write, then COMMIT. For visitor
details the SELECT counts distinct visitors per day, terminal (pc, wireless, all), region (all,
or exclude_cn, which leaves out country CN) and source key. A visit counts in its own source, its
category and the store total. A small table, filled from the app's taxonomy code before the
clock starts, maps each channel label to those keys. `--check` also parses the files with the
app's importer and compares every figure written, which takes minutes and gigabytes for the
full files.

`import-export` imports the same rows with django-import-export 4.4. With `--mode tuned` (the
default) it runs in bulk mode, tuned as its "Performance tuning" documentation says (use_bulk,
batch_size 1000, force_init_instance, skip_diff), with the store slug looked up in a dict instead
of one query per row. With `--mode plain` it runs the resource as the getting-started
documentation writes it: one row at a time, the store found through ForeignKeyWidget, and the
figure's natural key as import_id_fields, so a second import of the file updates its rows.
Canonical rows go straight into TrafficFigure. Visits go into an unmanaged staging model on a
table this script creates, followed by the floor's INSERT ... SELECT. With --rows N only the
first N rows of each file go through django-import-export and that time is extrapolated
linearly. The visits that were skipped are then copied into the staging table without timing,
so the INSERT ... SELECT still runs on the whole file.

`app` starts `celery -A config worker --pool=solo` with the same database, Redis database 12
and raised size limits. It stores the visitor-details file as an upload and queues its import
the way the upload page does, then sends `traffic.tasks.bulk_import_file` for the canonical
file. Each file gets a new worker, so its peak resident memory (VmHWM, plus that of any child
process) belongs to that file alone. The clock runs from sending the task until the upload has
succeeded, or until every store of the canonical file has a succeeded upload of the file.

Every measurement first deletes the figures and uploads of the benchmark stores and vacuums
traffic_trafficfigure, so runs repeat. Keep large runs on an otherwise idle machine: the
timings include whatever else runs on it.
"""

import argparse
import csv
import datetime
import hashlib
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/traffic_perf_import"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
DEFAULT_DIR = Path("/tmp/large-imports")

VISITOR_ROWS = 1_000_000
CANONICAL_ROWS_PER_VISIT = 2
STORES = 200
SEED = 20261031

VISITOR_FILE = "visitor-details_2026-10.csv"
CANONICAL_FILE = "canonical_multi-store.csv"
MANIFEST_FILE = "manifest.json"
VISITOR_STORE = "large-visitors"
INDUSTRY_CODE = "perf-large-imports"

VISIT_FIRST_DAY = datetime.date(2026, 10, 1)
VISIT_DAYS = 31
# Distinct visitor ids per visit: 1,000,000 visits come from 300,000 buyers, most of whom
# come back on other days of the month.
VISITORS_PER_VISIT = 0.3

# Relative weights of the channel labels in the visitor-details file: most visits come from
# search and recommendations. The last two labels are not in the taxonomy, so the app keeps
# them under their own raw label.
CHANNEL_WEIGHTS = {
    "文字搜索": 28, "图片搜索": 4, "类目导航": 3,
    "系统推荐": 5, "首页推荐": 8, "消息盒子推荐": 2, "买家App推荐": 6,
    "日常会场": 3, "大促会场": 2,
    "Weekly Deals": 1, "Brand Zone": 0.5, "Bargain Buys": 0.5, "Ranking products": 1, "Top-ranking suppliers": 0.5,
    "询盘": 2, "订单": 0.5, "收藏/购物车/对比/分享": 2,
    "RFQ": 1, "粉丝通": 1.5, "客户通EDM": 0.5,
    "站外推广": 1, "直接访问": 8, "店内": 9, "站外": 3, "其他": 1,
    "直播会场": 0.5, "短视频": 0.3,
}
# Relative weights of the buyers' countries. Visits from CN (mainland China) are left out of exclude_cn.
COUNTRY_WEIGHTS = {
    "US": 18, "IN": 12, "CN": 8, "DE": 5, "GB": 5, "BR": 4, "MX": 4, "VN": 4, "PK": 3, "NG": 3, "AE": 3, "SA": 3,
    "ID": 3, "PH": 3, "TR": 3, "FR": 3, "ES": 2, "IT": 2, "CA": 2, "AU": 2, "RU": 2, "KR": 1.5, "JP": 1.5, "MY": 1.5,
    "TH": 1.5, "EG": 1.5, "BD": 1.5, "HK": 1, "TW": 1, "ZA": 1, "KE": 1, "CO": 1, "CL": 1, "PE": 1, "AR": 1, "PL": 1,
    "NL": 1, "SG": 0.5, "MO": 0.2,
}

CANONICAL_HEADER = [
    "store", "period_start", "granularity", "terminal", "region", "source", "sub_source", "raw_label",
    "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate",
]
# A label the taxonomy does not know. The canonical file carries it as a raw label under `other`.
CANONICAL_RAW_LABEL = "直播会场"
CANONICAL_FIRST_DAY = datetime.date(2026, 9, 1)
# Share of a slice's visitors per terminal and region. PC and wireless overlap in `all`, so their
# shares add up to more than 1.
TERMINAL_SHARES = {"all": 1.0, "pc": 0.45, "wireless": 0.62}
REGION_SHARES = {"all": 1.0, "exclude_cn": 0.91}
# Visitors of a week or month compared with one day: visitors are de-duplicated per period.
PERIOD_FACTORS = {"day": 1.0, "week": 6.2, "month": 24.0}

FIGURE_COLUMNS = (
    "store_id, upload_id, granularity, period_start, terminal, region, source, sub_source, raw_label, "
    "visitors, inquiry_customers, tm_customers, feedback_conversion_rate, extra, is_current"
)
POLL_SECONDS = 0.2
WORKER_START_SECONDS = 60


# --- set-up ------------------------------------------------------------------------------------------------------


def setup_django(directory: Path) -> None:
    """Point the settings at the perf database, Redis and a data folder under `directory`, then set Django up."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "perf-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DATA_DIR"] = str(directory / "data")
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"DATABASE_URL must name a PostgreSQL database, not {os.environ['DATABASE_URL']!r}.")

    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_database(database_url: str) -> None:
    import psycopg

    parsed = urllib.parse.urlsplit(database_url)
    name = parsed.path.lstrip("/")
    server_url = urllib.parse.urlunsplit(parsed._replace(path="/postgres"))
    with psycopg.connect(server_url, autocommit=True) as server:
        if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            server.execute(f'CREATE DATABASE "{name}"')


def connect():
    """Open a psycopg connection to the perf database, outside Django."""
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"])


def store_slugs(count: int) -> list[str]:
    return [f"large-{number:03d}" for number in range(count)]


def create_stores(manifest: dict) -> None:
    """Create the industry and the stores the files name, once."""
    from accounts.models import Industry, Store

    industry, _created = Industry.objects.get_or_create(
        code=INDUSTRY_CODE, defaults={"name_zh": "大文件导入测试", "name_en": "Large import benchmark"}
    )
    slugs = [VISITOR_STORE, *store_slugs(manifest["stores"])]
    existing = set(Store.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    Store.objects.bulk_create([
        Store(name=f"Large imports {slug}", slug=slug, main_industry=industry) for slug in slugs if slug not in existing
    ])


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST_FILE
    if not path.exists():
        raise SystemExit(f"{path} is missing. Run `perf/large_imports.py generate --out {directory}` first.")
    return json.loads(path.read_text())


def reset_figures(slugs: list[str]) -> None:
    """Delete the figures, uploads and stored files of these stores, then vacuum, so that a measurement repeats."""
    from django.conf import settings

    with connect() as connection:
        store_ids = [row[0] for row in connection.execute("SELECT id FROM accounts_store WHERE slug = ANY(%s)", [slugs])]
        stored_names = connection.execute(
            "SELECT stored_name FROM traffic_upload WHERE store_id = ANY(%s)", [store_ids]
        ).fetchall()
        connection.execute("DELETE FROM traffic_trafficfigure WHERE store_id = ANY(%s)", [store_ids])
        connection.execute("DELETE FROM traffic_upload WHERE store_id = ANY(%s)", [store_ids])
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE traffic_trafficfigure")
        connection.execute("VACUUM ANALYZE traffic_upload")

    for (stored_name,) in stored_names:
        (Path(settings.UPLOAD_ROOT) / stored_name).unlink(missing_ok=True)


def create_uploads(slugs: list[str], purpose: str, original_name: str) -> dict[str, tuple[int, int]]:
    """Create one succeeded Upload per store for figures written outside the app. Return slug -> (store id, upload id)."""
    from accounts.models import Store
    from traffic.models import Upload

    stores = {store.slug: store for store in Store.objects.filter(slug__in=slugs)}
    uploads = Upload.objects.bulk_create([
        Upload(
            store=stores[slug], original_name=original_name, stored_name=f"{purpose}-{slug}-{time.time_ns()}",
            sha256=hashlib.sha256(f"{purpose}-{slug}".encode()).hexdigest(), status=Upload.Status.SUCCEEDED,
            layout="canonical" if slug != VISITOR_STORE else "visitor_details",
        )
        for slug in slugs
    ])
    return {upload.store.slug: (upload.store_id, upload.id) for upload in uploads}


def file_rows(manifest: dict, layout: str) -> int:
    return manifest["visitor_rows"] if layout == "visitor-details" else manifest["canonical_rows"]


def canonical_slugs(manifest: dict) -> list[str]:
    return store_slugs(manifest["stores"])


# --- generate ----------------------------------------------------------------------------------------------------


def generate(args) -> None:
    directory = args.dir
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "visitor_rows": args.rows,
        "canonical_rows": args.rows * CANONICAL_ROWS_PER_VISIT,
        "stores": STORES,
        "seed": SEED,
    }

    started = time.monotonic()
    write_visitor_file(directory / VISITOR_FILE, manifest["visitor_rows"])
    print(f"{VISITOR_FILE}: {manifest['visitor_rows']:,} visits in {time.monotonic() - started:.0f} s", flush=True)

    started = time.monotonic()
    write_canonical_file(directory / CANONICAL_FILE, manifest["canonical_rows"], manifest["stores"])
    print(f"{CANONICAL_FILE}: {manifest['canonical_rows']:,} rows in {time.monotonic() - started:.0f} s", flush=True)

    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    create_stores(manifest)
    print(f"stores created: {VISITOR_STORE} and {store_slugs(STORES)[0]} to {store_slugs(STORES)[-1]}")


def write_visitor_file(path: Path, rows: int) -> None:
    from tests.large_files import write_visitor_details

    write_visitor_details(
        path, rows, VISIT_FIRST_DAY, VISIT_DAYS, seed=SEED, visitor_pool=max(1, int(rows * VISITORS_PER_VISIT)),
        channel_weights=CHANNEL_WEIGHTS, country_weights=COUNTRY_WEIGHTS,
    )


def canonical_sources() -> list[tuple[str, str, str]]:
    """Return the source keys of a canonical slice: categories, their sub-sources, one raw label and the total."""
    from traffic.taxonomy import CATEGORIES, TOTAL

    keys = []
    for category in CATEGORIES:
        keys.append((category.code, "", ""))
        keys += [(category.code, sub.code, "") for sub in category.sub_sources]
    keys.append(("other", "", CANONICAL_RAW_LABEL))
    keys.append((TOTAL, "", ""))
    return keys


def canonical_periods() -> list[tuple[str, datetime.date]]:
    """Return the periods of a store in file order: two months, eight weeks from the first Monday, then days."""
    months = [("month", datetime.date(2026, 9, 1)), ("month", datetime.date(2026, 10, 1))]
    first_monday = CANONICAL_FIRST_DAY + datetime.timedelta(days=-CANONICAL_FIRST_DAY.weekday() % 7)
    weeks = [("week", first_monday + datetime.timedelta(weeks=number)) for number in range(8)]
    days = [("day", CANONICAL_FIRST_DAY + datetime.timedelta(days=number)) for number in range(366)]
    return months + weeks + days


def write_canonical_file(path: Path, rows: int, stores: int) -> None:
    """Write `rows` canonical figures spread evenly over `stores` stores. Each key appears once."""
    generator = random.Random(SEED + 1)
    sources = canonical_sources()
    slices = [(terminal, region) for terminal in TERMINAL_SHARES for region in REGION_SHARES]

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CANONICAL_HEADER)
        for number, slug in enumerate(store_slugs(stores)):
            quota = rows // stores + (1 if number < rows % stores else 0)
            keys = (
                (granularity, start, terminal, region)
                for granularity, start in canonical_periods() for terminal, region in slices
            )
            store_rows = list(itertools.islice(store_figure_rows(generator, slug, keys, sources), quota))
            if len(store_rows) < quota:
                raise SystemExit(f"{rows:,} canonical rows need more periods per store than canonical_periods() returns.")
            writer.writerows(store_rows)


def store_figure_rows(generator: random.Random, slug: str, slice_keys, sources):
    """Yield the rows of one store, slice by slice, with counts drawn around the store's own level and mix."""
    daily_visitors = generator.lognormvariate(5.7, 0.8)  # median about 300 visitors a day
    shares = {source: generator.uniform(0.01, 0.35) for source in sources}
    inquiry_rate = generator.uniform(0.01, 0.05)
    tm_rate = generator.uniform(0.005, 0.03)

    for granularity, start, terminal, region in slice_keys:
        slice_visitors = daily_visitors * PERIOD_FACTORS[granularity] * TERMINAL_SHARES[terminal] * REGION_SHARES[region]
        for source in sources:
            share = 1.0 if source[0] == "total" else shares[source]
            visitors = int(slice_visitors * share * generator.uniform(0.8, 1.2))
            inquiry_customers = min(visitors, int(visitors * inquiry_rate + generator.random()))
            tm_customers = min(visitors, int(visitors * tm_rate + generator.random()))
            rate = ""
            # One row in 20 leaves the rate empty, so the importer computes it from the counts.
            if visitors and generator.random() >= 0.05:
                rate = f"{(inquiry_customers + tm_customers) / visitors:.6f}"
            yield [
                slug, start.isoformat(), granularity, terminal, region, *source,
                visitors, inquiry_customers, tm_customers, rate,
            ]


# --- SQL shared by the floor and the import-export run -------------------------------------------------------------

# Mainland China as the app's visitor-details importer recognises it after folding: CN only,
# because HK, MO and TW are not mainland.
MAINLAND_SQL = "lower(replace(v.country, ' ', '')) IN ('cn', '中国', '中国大陆', 'china', 'mainlandchina')"

# One statement: count distinct visitors per day, terminal, region and source key, then fill
# every day x terminal x region x key that had no visit with zero counts, as the app does.
# Most buyers visit on one terminal, from one country and through one channel a day. Those are
# counted per (terminal, mainland, label) with plain aggregates and only then spread over their
# groups. The visits of the other buyers are spread first and counted once per buyer and group.
# Terminals, regions, labels and source keys are integer codes, because sorting on text is slower.
# On the 1,000,000-visit file (PostgreSQL 15, 2 shared cores) this took 16 to 19 s. One
# count(DISTINCT visitor_id) per group over every visit spread into its groups took 26 to 28 s,
# and 40 to 50 s with text group keys.
VISITOR_FIGURES_SQL = f"""
INSERT INTO traffic_trafficfigure ({FIGURE_COLUMNS})
WITH visits AS (
    SELECT v.visit_date AS day, v.visitor_id AS visitor, l.label_id,
           CASE v.terminal WHEN 'PC' THEN 1 WHEN '无线' THEN 2 END AS terminal_id,
           CASE WHEN {MAINLAND_SQL} THEN 1 ELSE 0 END AS mainland,
           CASE WHEN v.inquired = '是' THEN 1 ELSE 0 END AS inquired,
           CASE WHEN v.tm_consulted = '是' THEN 1 ELSE 0 END AS tm_consulted,
           v.page_views, v.stay_seconds
    FROM STAGING v
    JOIN floor_labels l ON l.label = v.source_label
),
per_buyer AS (
    SELECT day, visitor,
           min(terminal_id) = max(terminal_id) AND min(mainland) = max(mainland) AND min(label_id) = max(label_id) AS single,
           min(terminal_id) AS terminal_id, min(mainland) AS mainland, min(label_id) AS label_id,
           max(inquired) AS inquired, max(tm_consulted) AS tm_consulted,
           sum(page_views) AS page_views, sum(stay_seconds) AS stay_seconds
    FROM visits
    GROUP BY day, visitor
),
single AS (
    SELECT day, terminal_id, mainland, label_id, count(*) AS visitors, sum(inquired) AS inquiry_customers,
           sum(tm_consulted) AS tm_customers, sum(page_views) AS page_views, sum(stay_seconds) AS stay_seconds
    FROM per_buyer
    WHERE single
    GROUP BY day, terminal_id, mainland, label_id
),
multi AS (
    SELECT v.day, t.terminal_id, r.region_id, k.key_id, max(v.inquired) AS inquired,
           max(v.tm_consulted) AS tm_consulted, sum(v.page_views) AS page_views, sum(v.stay_seconds) AS stay_seconds
    FROM visits v
    JOIN per_buyer b ON b.day = v.day AND b.visitor = v.visitor AND NOT b.single
    JOIN floor_terminals t ON t.visit_terminal_id = v.terminal_id
    JOIN floor_regions r ON r.mainland = v.mainland
    JOIN floor_label_keys k ON k.label_id = v.label_id
    GROUP BY v.day, t.terminal_id, r.region_id, k.key_id, v.visitor
),
counted AS (
    SELECT day, terminal_id, region_id, key_id, sum(visitors) AS visitors,
           sum(inquiry_customers) AS inquiry_customers, sum(tm_customers) AS tm_customers,
           sum(page_views) AS page_views, sum(stay_seconds) AS stay_seconds
    FROM (
        SELECT g.day, t.terminal_id, r.region_id, k.key_id, g.visitors, g.inquiry_customers, g.tm_customers,
               g.page_views, g.stay_seconds
        FROM single g
        JOIN floor_terminals t ON t.visit_terminal_id = g.terminal_id
        JOIN floor_regions r ON r.mainland = g.mainland
        JOIN floor_label_keys k ON k.label_id = g.label_id
        UNION ALL
        SELECT day, terminal_id, region_id, key_id, 1, inquired, tm_consulted, page_views, stay_seconds
        FROM multi
    ) AS groups
    GROUP BY day, terminal_id, region_id, key_id
),
days AS (
    SELECT generate_series(min(day), max(day), interval '1 day')::date AS day FROM counted
),
source_keys AS (
    SELECT * FROM floor_source_keys WHERE always OR key_id IN (SELECT key_id FROM counted)
)
SELECT %(store_id)s, %(upload_id)s, 'day', d.day, t.terminal, r.region, k.source, k.sub_source, k.raw_label,
       coalesce(c.visitors, 0), coalesce(c.inquiry_customers, 0), coalesce(c.tm_customers, 0),
       CASE WHEN c.visitors > 0 THEN round((c.inquiry_customers + c.tm_customers)::numeric / c.visitors, 6) END,
       CASE WHEN c.visitors IS NULL THEN jsonb_build_object()
            ELSE jsonb_build_object(%(page_views_header)s::text, c.page_views, %(stay_header)s::text, c.stay_seconds) END,
       true
FROM days d
CROSS JOIN (VALUES (0, 'all'), (1, 'pc'), (2, 'wireless')) AS t (terminal_id, terminal)
CROSS JOIN (VALUES (0, 'all'), (1, 'exclude_cn')) AS r (region_id, region)
CROSS JOIN source_keys k
LEFT JOIN counted c
    ON (c.day, c.terminal_id, c.region_id, c.key_id) = (d.day, t.terminal_id, r.region_id, k.key_id)
"""

VISIT_STAGING_COLUMNS = (
    "visitor_id text, visit_date date, country text, terminal text, source_label text, page_views integer, "
    "stay_seconds integer, search_term text, inquired text, tm_consulted text"
)
VISIT_TEXT_COLUMNS = "visitor_id, country, terminal, source_label, search_term, inquired, tm_consulted"
VISIT_COPY_COLUMNS = (
    "visitor_id, visit_date, country, terminal, source_label, page_views, stay_seconds, search_term, inquired, tm_consulted"
)

CANONICAL_FIGURES_SQL = f"""
INSERT INTO traffic_trafficfigure ({FIGURE_COLUMNS})
SELECT u.store_id, u.upload_id, s.granularity, s.period_start, s.terminal, s.region,
       s.source, s.sub_source, s.raw_label,
       max(s.visitors), max(s.inquiry_customers), max(s.tm_customers),
       coalesce(
           max(s.feedback_conversion_rate),
           CASE WHEN max(s.visitors) > 0
                THEN round((max(s.inquiry_customers) + max(s.tm_customers))::numeric / max(s.visitors), 6) END
       ),
       jsonb_build_object(), true
FROM canonical_staging s
JOIN floor_uploads u ON u.slug = s.store
GROUP BY u.store_id, u.upload_id, s.granularity, s.period_start, s.terminal, s.region, s.source, s.sub_source, s.raw_label
"""


def create_label_keys(connection) -> None:
    """Create the temporary tables that spread a visit over the terminals, regions and source keys it counts in.

    floor_source_keys lists every source key with an integer id; `always` marks the
    11 categories and the store total, which get figures even without visits.
    floor_labels numbers the channel labels and floor_label_keys maps each label to
    its keys. The keys come from the app's own visitor-details code, so a
    sub-source visit counts in its sub-source, its category and the store total,
    and a visit with an unknown label under its raw label and the store total.
    Terminal 0 is all, 1 PC and 2 wireless; region 0 is all and 1 exclude_cn.
    """
    from traffic.importers.figures import label_to_source
    from traffic.importers.visitor_details import all_categories, visit_sources
    from traffic.taxonomy import CATEGORIES, TOTAL_LABELS

    labels = set(CHANNEL_WEIGHTS)
    for category in CATEGORIES:
        labels.update([category.label_zh, category.label_en, *category.aliases])
        for sub in category.sub_sources:
            labels.update([sub.label_zh, sub.label_en, *sub.aliases])
    labels = sorted(labels - set(TOTAL_LABELS))

    key_ids = {key: number for number, key in enumerate(all_categories())}
    label_keys = []
    for label_id, label in enumerate(labels):
        for key in visit_sources(label_to_source(label)):
            key_ids.setdefault(key, len(key_ids))
            label_keys.append((label_id, key_ids[key]))
    always = set(all_categories())

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS floor_labels, floor_label_keys, floor_source_keys, floor_terminals, floor_regions")
        cursor.execute(
            "CREATE TEMP TABLE floor_source_keys "
            "(key_id integer PRIMARY KEY, source text, sub_source text, raw_label text, always boolean)"
        )
        cursor.execute("CREATE TEMP TABLE floor_labels (label text PRIMARY KEY, label_id integer)")
        cursor.execute("CREATE TEMP TABLE floor_label_keys (label_id integer, key_id integer, PRIMARY KEY (label_id, key_id))")
        cursor.execute("CREATE TEMP TABLE floor_terminals (visit_terminal_id integer, terminal_id integer)")
        cursor.execute("CREATE TEMP TABLE floor_regions (mainland integer, region_id integer)")
        cursor.executemany(
            "INSERT INTO floor_source_keys VALUES (%s, %s, %s, %s, %s)",
            [(number, *key, key in always) for key, number in key_ids.items()],
        )
        cursor.executemany("INSERT INTO floor_labels VALUES (%s, %s)", [(label, number) for number, label in enumerate(labels)])
        cursor.executemany("INSERT INTO floor_label_keys VALUES (%s, %s)", label_keys)
        cursor.execute("INSERT INTO floor_terminals VALUES (1, 1), (1, 0), (2, 2), (2, 0)")
        cursor.execute("INSERT INTO floor_regions VALUES (0, 0), (0, 1), (1, 0)")
        for table in ("floor_source_keys", "floor_labels", "floor_label_keys", "floor_terminals", "floor_regions"):
            cursor.execute(f"ANALYZE {table}")
    connection.commit()


def check_visit_staging(connection, staging: str) -> None:
    """Stop when the staging table has a terminal or label the floor's SQL would drop instead of counting."""
    unknown = connection.execute(
        f"SELECT count(*) FROM {staging} v WHERE v.terminal NOT IN ('PC', '无线') "
        "OR NOT EXISTS (SELECT 1 FROM floor_labels l WHERE l.label = v.source_label)"
    ).fetchone()[0]
    if unknown:
        raise SystemExit(f"{unknown} staged visits have a terminal or channel label that the floor's SQL does not map.")


def insert_visitor_figures(connection, staging: str, store_id: int, upload_id: int) -> int:
    """Analyze a staging table of visits, run the floor's INSERT ... SELECT on it and return the figures written.

    Without the ANALYZE the planner guesses the staging table's size and picks a slower plan.
    """
    from tests.large_files import VISITOR_DETAILS_HEADER

    params = {
        "store_id": store_id, "upload_id": upload_id,
        "page_views_header": VISITOR_DETAILS_HEADER[5], "stay_header": VISITOR_DETAILS_HEADER[6],
    }
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {staging}")
        cursor.execute(VISITOR_FIGURES_SQL.replace("STAGING", staging), params)
        return cursor.rowcount


def copy_file(cursor, statement: str, path: Path, skip_lines: int = 0) -> None:
    """Stream a file into COPY ... FROM STDIN in 1 MB blocks, leaving out its first `skip_lines` lines."""
    with path.open("rb") as source, cursor.copy(statement) as copy:
        for _line in itertools.islice(source, skip_lines):
            pass
        while block := source.read(1024 * 1024):
            copy.write(block)


# --- floor -------------------------------------------------------------------------------------------------------


def floor(args) -> dict:
    manifest = read_manifest(args.dir)
    create_stores(manifest)
    results = {}
    if args.only in (None, "visitor-details"):
        results["visitor-details"] = floor_visitor_details(args.dir, args.check)
    if args.only in (None, "canonical"):
        results["canonical"] = floor_canonical(args.dir, manifest, args.check)
    return results


def floor_visitor_details(directory: Path, check: bool) -> dict:
    path = directory / VISITOR_FILE
    reset_figures([VISITOR_STORE])
    ((store_id, upload_id),) = create_uploads([VISITOR_STORE], "floor", path.name).values()

    with connect() as connection:
        create_label_keys(connection)
        connection.execute(f"CREATE TEMP TABLE visit_staging ({VISIT_STAGING_COLUMNS})")
        connection.commit()

        timings = {}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            copy_file(cursor, f"COPY visit_staging FROM STDIN (FORMAT csv, HEADER true, FORCE_NOT_NULL ({VISIT_TEXT_COLUMNS}))", path)
        timings["copy"] = time.perf_counter() - started

        started = time.perf_counter()
        figures = insert_visitor_figures(connection, "visit_staging", store_id, upload_id)
        timings["insert_select"] = time.perf_counter() - started

        check_visit_staging(connection, "visit_staging")  # not timed

        started = time.perf_counter()
        connection.commit()
        timings["commit"] = time.perf_counter() - started

    result = {"seconds": sum(timings.values()), "steps": timings, "figures": figures}
    print_floor("visitor-details", result)
    if check:
        compare_with_importer(path, {VISITOR_STORE: upload_id})
    reset_figures([VISITOR_STORE])
    return result


def floor_canonical(directory: Path, manifest: dict, check: bool) -> dict:
    path = directory / CANONICAL_FILE
    slugs = canonical_slugs(manifest)
    reset_figures(slugs)
    uploads = create_uploads(slugs, "floor", path.name)

    with connect() as connection:
        connection.execute("CREATE TEMP TABLE floor_uploads (slug text PRIMARY KEY, store_id integer, upload_id integer)")
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO floor_uploads VALUES (%s, %s, %s)", [(slug, *ids) for slug, ids in uploads.items()])
        connection.execute(
            "CREATE TEMP TABLE canonical_staging (store text, period_start date, granularity text, terminal text, "
            "region text, source text, sub_source text, raw_label text, visitors integer, inquiry_customers integer, "
            "tm_customers integer, feedback_conversion_rate numeric)"
        )
        connection.execute("ANALYZE floor_uploads")
        connection.commit()

        timings = {}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            copy_file(
                cursor,
                "COPY canonical_staging FROM STDIN (FORMAT csv, HEADER true, "
                "FORCE_NOT_NULL (store, granularity, terminal, region, source, sub_source, raw_label))",
                path,
            )
        timings["copy"] = time.perf_counter() - started

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(CANONICAL_FIGURES_SQL)
            figures = cursor.rowcount
        timings["insert_select"] = time.perf_counter() - started

        started = time.perf_counter()
        connection.commit()
        timings["commit"] = time.perf_counter() - started

    result = {"seconds": sum(timings.values()), "steps": timings, "figures": figures}
    print_floor("canonical", result)
    if figures != manifest["canonical_rows"]:
        raise SystemExit(f"The floor wrote {figures:,} canonical figures, expected one per row: {manifest['canonical_rows']:,}.")
    if check:
        compare_with_importer(path, {slug: upload_id for slug, (_store_id, upload_id) in uploads.items()})
    reset_figures(slugs)
    return result


def print_floor(layout: str, result: dict) -> None:
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["steps"].items())
    print(f"floor {layout}: {result['seconds']:.1f} s ({steps}), {result['figures']:,} figures", flush=True)


def compare_with_importer(path: Path, upload_ids: dict[str, int]) -> None:
    """Parse the file with the app's importer and compare its figures with those written for `upload_ids`."""
    from traffic import importers
    from traffic.importers.base import ImportOptions
    from traffic.models import TrafficFigure

    started = time.monotonic()
    parsed = importers.parse_file(path, path.name, ImportOptions())
    if parsed.errors:
        raise SystemExit(f"The app's importer rejected {path.name}: {parsed.errors[0].render()}")

    single_store = next(iter(upload_ids)) if len(upload_ids) == 1 else None
    expected = {}
    for figure in parsed.figures:
        key = (figure.store or single_store, *(getattr(figure, name) for name in TrafficFigure.KEY_FIELDS))
        expected[key] = (figure.visitors, figure.inquiry_customers, figure.tm_customers, figure.feedback_conversion_rate, figure.extra)

    written = {}
    rows = TrafficFigure.objects.filter(upload_id__in=upload_ids.values()).values_list(
        "store__slug", *TrafficFigure.KEY_FIELDS, "visitors", "inquiry_customers", "tm_customers",
        "feedback_conversion_rate", "extra",
    )
    for row in rows.iterator(chunk_size=10_000):
        written[row[:8]] = row[8:]

    missing = expected.keys() - written.keys()
    unexpected = written.keys() - expected.keys()
    different = [key for key in expected.keys() & written.keys() if expected[key] != written[key]]
    print(
        f"check {path.name}: importer {len(expected):,} figures, written {len(written):,}; missing {len(missing):,}, "
        f"unexpected {len(unexpected):,}, different {len(different):,} ({time.monotonic() - started:.0f} s)"
    )
    for key in sorted(different)[:5]:
        print(f"  {key}: importer {expected[key]}, written {written[key]}")
    for key in sorted(missing)[:5]:
        print(f"  missing {key}")
    for key in sorted(unexpected)[:5]:
        print(f"  unexpected {key}")
    if missing or unexpected or different:
        raise SystemExit("The figures written differ from those of the app's importer.")


# --- import-export -----------------------------------------------------------------------------------------------


def import_export(args) -> dict:
    manifest = read_manifest(args.dir)
    create_stores(manifest)
    results = {}
    if args.only in (None, "visitor-details"):
        results["visitor-details"] = import_export_visitor_details(args.dir, manifest, args.rows, args.check, args.mode)
    if args.only in (None, "canonical"):
        results["canonical"] = import_export_canonical(args.dir, manifest, args.rows, args.check, args.mode)
    return results


def load_dataset(path: Path, rows: int):
    """Load the header and the first `rows` rows of a CSV file into a tablib Dataset, as an admin import would."""
    import tablib

    with path.open(encoding="utf-8", newline="") as source:
        text = "".join(itertools.islice(source, rows + 1))
    return tablib.Dataset().load(text, format="csv")


def run_import(resource, dataset) -> None:
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit(f"django-import-export reported errors: {result.base_errors or result.invalid_rows[:3]}")


def import_export_canonical(directory: Path, manifest: dict, rows: int | None, check: bool, mode: str) -> dict:
    path = directory / CANONICAL_FILE
    slugs = canonical_slugs(manifest)
    total_rows = manifest["canonical_rows"]
    rows = min(rows or total_rows, total_rows)
    reset_figures(slugs)
    uploads = create_uploads(slugs, "import-export", path.name)
    PLAIN_UPLOADS.update(uploads)
    resource = figure_resource(uploads, mode)()

    reset_peak_memory()
    started = time.perf_counter()
    dataset = load_dataset(path, rows)
    loaded = time.perf_counter()
    run_import(resource, dataset)
    finished = time.perf_counter()

    result = import_export_result(rows, total_rows, loaded - started, finished - loaded, 0.0)
    print_import_export(f"canonical ({mode})", result)
    if check and rows == total_rows:
        compare_with_importer(path, {slug: upload_id for slug, (_store_id, upload_id) in uploads.items()})
    reset_figures(slugs)
    return result


def import_export_visitor_details(directory: Path, manifest: dict, rows: int | None, check: bool, mode: str) -> dict:
    path = directory / VISITOR_FILE
    total_rows = manifest["visitor_rows"]
    rows = min(rows or total_rows, total_rows)
    reset_figures([VISITOR_STORE])
    ((store_id, upload_id),) = create_uploads([VISITOR_STORE], "import-export", path.name).values()
    model = visit_staging_model()
    with connect() as connection:
        connection.execute(f"DROP TABLE IF EXISTS {model._meta.db_table}")
        connection.execute(
            f"CREATE UNLOGGED TABLE {model._meta.db_table} "
            f"(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, {VISIT_STAGING_COLUMNS})"
        )
    resource = visit_resource(model, mode)()

    reset_peak_memory()
    started = time.perf_counter()
    dataset = load_dataset(path, rows)
    loaded = time.perf_counter()
    run_import(resource, dataset)
    imported = time.perf_counter()
    del dataset

    with connect() as connection:
        if rows < total_rows:
            # The rest of the file goes in untimed, so the INSERT ... SELECT below counts every visit.
            with connection.cursor() as cursor:
                copy_file(
                    cursor, f"COPY {model._meta.db_table} ({VISIT_COPY_COLUMNS}) FROM STDIN (FORMAT csv, "
                    f"FORCE_NOT_NULL ({VISIT_TEXT_COLUMNS}))", path, skip_lines=rows + 1,
                )
        create_label_keys(connection)
        check_visit_staging(connection, model._meta.db_table)

        started_sql = time.perf_counter()
        figures = insert_visitor_figures(connection, model._meta.db_table, store_id, upload_id)
        connection.commit()
        sql_seconds = time.perf_counter() - started_sql
        connection.execute(f"DROP TABLE {model._meta.db_table}")

    result = import_export_result(rows, total_rows, loaded - started, imported - loaded, sql_seconds)
    result["figures"] = figures
    print_import_export(f"visitor-details ({mode})", result)
    if check:
        compare_with_importer(path, {VISITOR_STORE: upload_id})
    reset_figures([VISITOR_STORE])
    return result


def import_export_result(rows: int, total_rows: int, load_seconds: float, import_seconds: float, sql_seconds: float) -> dict:
    """Add up the steps, scaling the django-import-export steps linearly from `rows` to the whole file."""
    scale = total_rows / rows
    return {
        "rows": rows,
        "total_rows": total_rows,
        "load_seconds": load_seconds,
        "import_seconds": import_seconds,
        "sql_seconds": sql_seconds,
        "extrapolated": rows < total_rows,
        "seconds": (load_seconds + import_seconds) * scale + sql_seconds,
        "peak_mb": peak_memory_kb(os.getpid()) / 1024,
    }


def print_import_export(layout: str, result: dict) -> None:
    steps = f"tablib load {result['load_seconds']:.1f} s, import_data {result['import_seconds']:.1f} s"
    if result["sql_seconds"]:
        steps += f", INSERT ... SELECT {result['sql_seconds']:.1f} s"
    line = f"import-export {layout}: {result['seconds']:.1f} s ({steps}), script peak {result['peak_mb']:.0f} MB"
    if result["extrapolated"]:
        line += (
            f"; EXTRAPOLATED: {result['rows']:,} of {result['total_rows']:,} rows went through django-import-export, "
            f"its time scaled linearly by {result['total_rows'] / result['rows']:.2f}"
        )
    print(line, flush=True)


def figure_resource(uploads: dict[str, tuple[int, int]], mode: str = "tuned"):
    """Return a ModelResource for canonical rows into TrafficFigure.

    "tuned" is bulk mode with cached store look-ups. "plain" is the resource as
    the getting-started documentation writes it: one row at a time, the store
    found by its slug through ForeignKeyWidget, and the figure's natural key as
    import_id_fields, so that importing a file again updates its rows.
    """
    from import_export import fields, resources, widgets

    if mode == "plain":
        return plain_figure_resource()

    from traffic.metrics import feedback_conversion_rate
    from traffic.models import TrafficFigure

    class SlugWidget(widgets.Widget):
        """Widget that turns a store slug into the store's id through a dict instead of a query per row."""

        def clean(self, value, row=None, **kwargs):
            return uploads[value][0]

    class TrafficFigureResource(resources.ModelResource):
        store = fields.Field(attribute="store_id", column_name="store", widget=SlugWidget())

        class Meta:
            model = TrafficFigure
            fields = CANONICAL_HEADER
            use_bulk = True
            batch_size = 1000
            force_init_instance = True
            skip_diff = True
            report_skipped = False

        def after_init_instance(self, instance, new, row, **kwargs):
            instance.upload_id = uploads[row["store"]][1]

        def before_save_instance(self, instance, row, **kwargs):
            # The app computes a missing rate from the counts, and so does this resource.
            if instance.feedback_conversion_rate is None:
                instance.feedback_conversion_rate = feedback_conversion_rate(
                    instance.visitors, instance.inquiry_customers, instance.tm_customers
                )

    return TrafficFigureResource


def plain_figure_resource():
    from import_export import fields, resources, widgets

    from accounts.models import Store
    from traffic.models import TrafficFigure

    class PlainTrafficFigureResource(resources.ModelResource):
        store = fields.Field(attribute="store", column_name="store", widget=widgets.ForeignKeyWidget(Store, field="slug"))

        class Meta:
            model = TrafficFigure
            fields = CANONICAL_HEADER
            import_id_fields = ("store", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label")

        def before_save_instance(self, instance, row, **kwargs):
            from traffic.metrics import feedback_conversion_rate

            instance.upload_id = PLAIN_UPLOADS[row["store"]][1]
            if instance.feedback_conversion_rate is None:
                instance.feedback_conversion_rate = feedback_conversion_rate(
                    instance.visitors, instance.inquiry_customers, instance.tm_customers
                )

    return PlainTrafficFigureResource


# Store slug -> (store id, upload id), for the plain resource, which has no constructor argument for it.
PLAIN_UPLOADS: dict[str, tuple[int, int]] = {}


def visit_staging_model():
    """Return an unmanaged model over the staging table of visits that this script creates and drops."""
    from django.apps import apps
    from django.db import models

    try:
        return apps.get_model("traffic", "LargeImportVisit")
    except LookupError:
        pass

    class LargeImportVisit(models.Model):
        id = models.BigAutoField(primary_key=True)
        visitor_id = models.TextField()
        visit_date = models.DateField()
        country = models.TextField()
        terminal = models.TextField()
        source_label = models.TextField()
        page_views = models.IntegerField(null=True)
        stay_seconds = models.IntegerField(null=True)
        search_term = models.TextField()
        inquired = models.TextField()
        tm_consulted = models.TextField()

        class Meta:
            app_label = "traffic"
            managed = False
            db_table = "perf_large_import_visit"

    return LargeImportVisit


def visit_resource(model, mode: str = "tuned"):
    """Return a ModelResource that reads the visitor-details columns by their Chinese headers into the staging model.

    "tuned" is bulk mode; "plain" saves one row at a time. Both create new rows
    without looking for existing ones, because the staging table has no key.
    """
    from import_export import fields, resources, widgets

    from tests.large_files import VISITOR_DETAILS_HEADER

    attributes = [
        "visitor_id", "visit_date", "country", "terminal", "source_label", "page_views", "stay_seconds",
        "search_term", "inquired", "tm_consulted",
    ]
    declared = {}
    for attribute, header in zip(attributes, VISITOR_DETAILS_HEADER):
        widget = widgets.CharWidget()
        if attribute == "visit_date":
            widget = widgets.DateWidget("%Y-%m-%d")
        elif attribute in ("page_views", "stay_seconds"):
            widget = widgets.IntegerWidget()
        declared[attribute] = fields.Field(attribute=attribute, column_name=header, widget=widget)

    options = {"model": model, "fields": attributes, "force_init_instance": True}
    if mode == "tuned":
        options.update({"use_bulk": True, "batch_size": 1000, "skip_diff": True, "report_skipped": False})
    meta = type("Meta", (), options)
    return type("VisitResource", (resources.ModelResource,), {**declared, "Meta": meta})


def reset_peak_memory() -> None:
    """Reset this process's peak resident memory (VmHWM), so the next reading covers one import only."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # without the reset, the peak also covers earlier steps of this process


# --- app ---------------------------------------------------------------------------------------------------------


def peak_memory_kb(pid: int) -> int:
    """Return a process's peak resident memory (VmHWM) in kB, or 0 when it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def descendants(pid: int) -> list[int]:
    found = []
    for children_file in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(child) for child in children_file.read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


class MemoryWatch(threading.Thread):
    """Thread that polls a process and its descendants and keeps the peak resident memory (VmHWM) of each."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(0.2)

    def sample(self):
        for pid in [self.pid, *descendants(self.pid)]:
            self.peaks[pid] = max(self.peaks.get(pid, 0), peak_memory_kb(pid))

    def finish(self) -> tuple[float, float]:
        """Stop polling and return the worker's peak and the sum of its children's peaks, in MB."""
        self.stopped.set()
        self.join()
        self.sample()
        children = sum(peak for pid, peak in self.peaks.items() if pid != self.pid)
        return self.peaks.get(self.pid, 0) / 1024, children / 1024


class Worker:
    """One `celery -A config worker --pool=solo` process with its log in a file."""

    def __init__(self, log_path: Path, environment: dict):
        self.log_path = log_path
        self.log = log_path.open("w")
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            self.wait_until_ready()
        except BaseException:
            self.process.kill()
            self.process.wait()
            self.log.close()
            raise
        self.watch = MemoryWatch(self.process.pid)
        self.idle_mb = peak_memory_kb(self.process.pid) / 1024
        self.watch.start()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"The worker exited with status {self.process.returncode}:\n{self.log_tail()}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(POLL_SECONDS)
        raise SystemExit(f"The worker was not ready after {WORKER_START_SECONDS} s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def errors(self) -> list[str]:
        """Return the log lines that report an error or a traceback."""
        return [line for line in self.log_text().splitlines() if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"The worker exited with status {self.process.returncode} during the import:\n{self.log_tail()}")

    def stop(self) -> tuple[float, float]:
        """Stop the worker and return its peak and its children's peak resident memory in MB."""
        peaks = self.watch.finish()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return peaks


def worker_environment(directory: Path, manifest: dict, timeout: int) -> dict:
    """Return the worker's environment: this script's database and Redis, limits raised for the large files."""
    from django.conf import settings

    largest_bytes = max((directory / name).stat().st_size for name in (VISITOR_FILE, CANONICAL_FILE))
    # The importer's row count includes the header line.
    largest_rows = max(manifest["visitor_rows"], manifest["canonical_rows"]) + 1
    return {
        **os.environ,
        "DEBUG": "0",
        "LOG_LEVEL": "INFO",
        "UPLOAD_MAX_BYTES": str(max(settings.UPLOAD_MAX_BYTES, 2 * largest_bytes)),
        "IMPORT_MAX_ROWS": str(max(settings.IMPORT_MAX_ROWS, largest_rows)),
        "IMPORT_SOFT_TIME_LIMIT": str(timeout),
    }


def app(args) -> dict:
    from config.celery import app as celery_app

    from django.conf import settings

    manifest = read_manifest(args.dir)
    create_stores(manifest)
    environment = worker_environment(args.dir, manifest, args.timeout)
    # This process stores the visitor-details upload, so it checks the size limit too.
    settings.UPLOAD_MAX_BYTES = int(environment["UPLOAD_MAX_BYTES"])
    purged = celery_app.control.purge()
    if purged:
        print(f"{purged} messages left in the queue by an earlier run were purged")

    results = {}
    if args.only in (None, "visitor-details"):
        results["visitor-details"] = app_visitor_details(args.dir, environment, args.timeout)
    if args.only in (None, "canonical"):
        results["canonical"] = app_canonical(args.dir, manifest, environment, args.timeout)
    return results


def read_blocks(path: Path):
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            yield block


def app_visitor_details(directory: Path, environment: dict, timeout: int) -> dict:
    from accounts.models import Store
    from traffic import actions
    from traffic.models import Upload

    path = directory / VISITOR_FILE
    reset_figures([VISITOR_STORE])
    worker = Worker(directory / "worker-visitor-details.log", environment)
    try:
        upload = actions.store_upload_file(Store.objects.get(slug=VISITOR_STORE), read_blocks(path), path.name)
        started = time.monotonic()
        actions.enqueue_import(upload)  # outside a transaction, this sends the task at once
        while True:
            upload.refresh_from_db()
            if upload.is_done:
                break
            worker.check_alive()
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{path.name}: still {upload.status} after {timeout} s.\n{worker.log_tail()}")
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
    finally:
        worker_mb, children_mb = worker.stop()

    result = {
        "seconds": seconds, "status": upload.status, "figures": upload.figures_imported,
        "worker_mb": worker_mb, "children_mb": children_mb, "idle_mb": worker.idle_mb,
    }
    print_app("visitor-details", result)
    if upload.status != Upload.Status.SUCCEEDED:
        print(f"upload {upload.id} {upload.status}:")
        for level, text in upload.rendered_messages()[:20]:
            print(f"  {level}: {text}")
    return result


def app_canonical(directory: Path, manifest: dict, environment: dict, timeout: int) -> dict:
    from config.celery import app as celery_app
    from traffic.models import Upload

    path = directory / CANONICAL_FILE
    slugs = canonical_slugs(manifest)
    reset_figures(slugs)
    digest = hashlib.sha256()
    for block in read_blocks(path):
        digest.update(block)
    done_uploads = Upload.objects.filter(
        store__slug__in=slugs, sha256=digest.hexdigest(), status=Upload.Status.SUCCEEDED
    )

    worker = Worker(directory / "worker-canonical.log", environment)
    status = "succeeded"
    try:
        started = time.monotonic()
        celery_app.send_task("traffic.tasks.bulk_import_file", args=[str(path), path.name])
        while True:
            # Read the log before counting: a task that logged its end has committed its uploads.
            errors = worker.errors()
            finished = re.search(r"bulk_import_file\[[^]]+\] succeeded in ", worker.log_text())
            stores_done = done_uploads.values("store_id").distinct().count()
            if stores_done == len(slugs):
                break
            worker.check_alive()
            if errors or finished or time.monotonic() - started > timeout:
                status = "failed"
                reason = f"timed out after {timeout} s"
                if errors:
                    reason = "errors in the worker log"
                elif finished:
                    reason = "task finished"
                print(f"canonical: {stores_done} of {len(slugs)} stores have the upload ({reason}). Worker log:")
                print(worker.log_tail())
                break
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
    finally:
        worker_mb, children_mb = worker.stop()

    figures = sum(done_uploads.values_list("figures_imported", flat=True))
    result = {
        "seconds": seconds, "status": status, "figures": figures,
        "worker_mb": worker_mb, "children_mb": children_mb, "idle_mb": worker.idle_mb,
    }
    print_app("canonical", result)
    return result


def print_app(layout: str, result: dict) -> None:
    print(
        f"app {layout}: {result['status']} in {result['seconds']:.1f} s, {result['figures']:,} figures; worker peak "
        f"{result['worker_mb']:.0f} MB (idle {result['idle_mb']:.0f} MB), child processes {result['children_mb']:.0f} MB",
        flush=True,
    )


# --- all ---------------------------------------------------------------------------------------------------------


def run_all(args) -> None:
    if not (args.dir / MANIFEST_FILE).exists():
        generate(args)
    manifest = read_manifest(args.dir)
    args.only = None
    args.check = False
    floors = floor(args)
    args.rows = args.import_export_rows
    import_exports = import_export(args)
    apps = app(args)

    print()
    print(f"{'file':16} {'rows':>10} {'floor s':>8} {'app s':>8} {'app/floor':>9} {'i-e s':>8} {'i-e/app':>8} {'worker MB':>9}")
    for layout in ("visitor-details", "canonical"):
        floor_seconds = floors[layout]["seconds"]
        app_result = apps[layout]
        app_seconds = app_result["seconds"] if app_result["status"] == "succeeded" else float("nan")
        import_export_seconds = import_exports[layout]["seconds"]
        memory = app_result["worker_mb"] + app_result["children_mb"]
        marker = "*" if import_exports[layout]["extrapolated"] else " "
        print(
            f"{layout:16} {file_rows(manifest, layout):>10,} {floor_seconds:8.1f} {app_seconds:8.1f} "
            f"{app_seconds / floor_seconds:8.2f}x {import_export_seconds:7.1f}{marker} "
            f"{import_export_seconds / app_seconds:7.1f}x {memory:9.0f}"
        )
    if any(result["extrapolated"] for result in import_exports.values()):
        print("* extrapolated linearly from the first --import-export-rows rows")
    print("goals: app/floor at most 2x, i-e/app at least 20x, worker peak under 400 MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def add_command(name, help_text):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--dir", "--out", dest="dir", type=Path, default=DEFAULT_DIR,
            help=f"folder of the generated files and the worker logs (default {DEFAULT_DIR})",
        )
        return command

    generate_parser = add_command("generate", "write the two CSV files and create their stores")
    generate_parser.add_argument(
        "--rows", type=int, default=VISITOR_ROWS,
        help=f"visits in the visitor-details file; the canonical file gets twice as many rows (default {VISITOR_ROWS:,})",
    )

    floor_parser = add_command("floor", "time COPY into a staging table plus one INSERT ... SELECT per file")

    import_export_parser = add_command("import-export", "time django-import-export on the same rows")
    import_export_parser.add_argument(
        "--rows", type=int, help="import only the first N rows of each file and extrapolate linearly (default: all)"
    )
    import_export_parser.add_argument(
        "--mode", choices=["tuned", "plain"], default="tuned",
        help="tuned: bulk mode, configured as the performance-tuning documentation recommends; plain: one row at a time (default tuned)",
    )

    app_parser = add_command("app", "time the app's import through a Celery worker")
    app_parser.add_argument(
        "--timeout", type=int, default=3600, help="seconds to wait for one import, also its time limit (default 3600)"
    )

    for command in (floor_parser, import_export_parser, app_parser):
        command.add_argument("--only", choices=["visitor-details", "canonical"], help="measure one file only")
    for command in (floor_parser, import_export_parser):
        command.add_argument(
            "--check", action="store_true",
            help="compare every figure written with the app's importer (minutes and gigabytes for the full files)",
        )

    all_parser = add_command("all", "generate if missing, then floor, import-export and app, and print one table")
    all_parser.add_argument("--rows", type=int, default=VISITOR_ROWS, help="visits to generate when the files are missing")
    all_parser.add_argument("--import-export-rows", type=int, help="rows per file through django-import-export (default: all)")
    all_parser.add_argument("--mode", choices=["tuned", "plain"], default="tuned", help="django-import-export configuration (default tuned)")
    all_parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for one app import (default 3600)")

    args = parser.parse_args()
    setup_django(args.dir)
    {"generate": generate, "floor": floor, "import-export": import_export, "app": app, "all": run_all}[args.command](args)


if __name__ == "__main__":
    main()
