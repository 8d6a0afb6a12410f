"""Create synthetic peer stores for the demo industries, compute their baselines and publish them.

Run after seed_demo. Each demo industry gets --stores synthetic stores with no
members, flagged as demo stores that contribute, with category and total
figures for the last 12 complete months and weeks on every terminal and
region. Then every one of those periods is recomputed and its publishable
snapshots are published, so the demo merchant's comparison page has baselines.

Running it again rewrites the same stores' figures (they depend only on the
store and the period) and adds a new, published snapshot per cohort.
"""

import datetime
import hashlib
import math
import random
import time
import zoneinfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Industry, Store
from benchmarks import compute, publication
from benchmarks.models import BaselineSnapshot, BenchmarkRun, StoreSharing
from traffic.dimensions import Granularity, Region, Terminal
from traffic.management.commands.seed_demo import CATEGORY_SHARES, CONVERSION, INDUSTRIES, cached_rate, complete_periods
from traffic.models import TrafficFigure, Upload
from traffic.taxonomy import CATEGORIES, TOTAL

DEFAULT_STORES_PER_INDUSTRY = 60
PERIODS_PER_GRANULARITY = 12
SLUG_PREFIX = "peer-demo"
BATCH_SIZE = 5000
# The synthetic stores report in the demo merchant's time zone, so their periods line up.
REPORTING_TIME_ZONE = "America/Los_Angeles"
# Share of synthetic stores whose files carry no store total row, so the category sum is used.
WITHOUT_TOTAL_ROW = 0.2


class Command(BaseCommand):
    help = (
        "Create synthetic contributing stores for the demo industries (no members), with 12 months and "
        "12 weeks of figures, then compute and publish their peer baselines. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stores", type=int, default=DEFAULT_STORES_PER_INDUSTRY,
            help="Synthetic stores per demo industry (default %(default)s).",
        )
        parser.add_argument(
            "--periods", type=int, default=PERIODS_PER_GRANULARITY,
            help="Complete months and weeks to generate and compute, newest first (default %(default)s).",
        )
        parser.add_argument(
            "--refresh", action="store_true",
            help="Regenerate and recompute even when every period already has a published baseline.",
        )

    def handle(self, *args, stores, periods, refresh=False, **options):
        started = time.monotonic()
        today = timezone.now().astimezone(zoneinfo.ZoneInfo(REPORTING_TIME_ZONE)).date()
        period_list = demo_periods(today, periods)
        if not refresh and all_published(period_list):
            self.stdout.write(_("Demo baselines are up to date."))
            return

        figure_count = 0
        for code, name_zh, name_en in INDUSTRIES:
            industry, _created = Industry.objects.update_or_create(
                code=code, defaults={"name_zh": name_zh, "name_en": name_en}
            )
            for number in range(1, stores + 1):
                store = synthetic_store(industry, number)
                figure_count += seed_store(store, period_list)
        self.stdout.write(_("%(count)d synthetic figures written.") % {"count": figure_count})

        published = 0
        for granularity, period_start in period_list:
            run = compute.start_run(granularity, period_start, BenchmarkRun.Trigger.COMMAND)
            compute.claim_run(run.pk)
            compute.execute_run(run.pk)
            published += publication.publish_run(run.pk)
        self.stdout.write(
            _("%(count)d baseline snapshots published for %(periods)d periods in %(seconds).1f s.")
            % {"count": published, "periods": len(period_list), "seconds": time.monotonic() - started}
        )


def all_published(period_list) -> bool:
    """Return whether every demo period already has a published baseline in every demo industry."""
    industries = [code for code, _name_zh, _name_en in INDUSTRIES]
    for granularity, period_start in period_list:
        published = BaselineSnapshot.objects.filter(
            granularity=granularity, period_start=period_start, industry__code__in=industries,
            published_at__isnull=False, unpublished_at__isnull=True,
        ).values("industry").distinct().count()
        if published < len(industries):
            return False
    return True


def demo_periods(today: datetime.date, count: int) -> list[tuple[str, datetime.date]]:
    """Return the last count complete months and weeks before today, as seed_demo's year has them."""
    last_day = today - datetime.timedelta(days=1)
    first_day = last_day - datetime.timedelta(days=364)
    periods = []
    for granularity in (Granularity.MONTH, Granularity.WEEK):
        starts = complete_periods(granularity, first_day, last_day)[-count:]
        periods += [(granularity, start) for start in starts]
    return periods


def synthetic_store(industry: Industry, number: int) -> Store:
    slug = f"{SLUG_PREFIX}-{industry.code}-{number:03d}"[:64]
    store, _created = Store.objects.update_or_create(
        slug=slug,
        defaults={
            "name": f"Demo peer {number:03d} ({industry.name_en})",
            "main_industry": industry,
            "reporting_time_zone": REPORTING_TIME_ZONE,
        },
    )
    StoreSharing.objects.update_or_create(store=store, defaults={"contributes": True, "is_demo": True})
    return store


def seed_store(store: Store, periods) -> int:
    """Replace the store's synthetic figures; return how many rows were written."""
    profile = store_profile(store.slug)
    with transaction.atomic():
        upload = synthetic_upload(store)
        upload.figures.all().delete()

        batch = []
        for granularity, period_start in periods:
            for (terminal, region), rows in period_rows(store.slug, profile, granularity, period_start).items():
                for source, (visitors, inquiry, tm) in rows.items():
                    batch.append(TrafficFigure(
                        store_id=store.id,
                        upload_id=upload.id,
                        granularity=granularity,
                        period_start=period_start,
                        terminal=terminal,
                        region=region,
                        source=source,
                        visitors=visitors,
                        inquiry_customers=inquiry,
                        tm_customers=tm,
                        feedback_conversion_rate=cached_rate(visitors, inquiry, tm),
                        # Synthetic stores have no real uploads, so their rows are always the current ones.
                        is_current=True,
                    ))
        TrafficFigure.objects.bulk_create(batch, batch_size=BATCH_SIZE)
        Upload.objects.filter(pk=upload.pk).update(figures_imported=len(batch), finished_at=timezone.now())
    return len(batch)


def synthetic_upload(store: Store) -> Upload:
    now = timezone.now()
    upload, _created = Upload.objects.update_or_create(
        stored_name=f"demo-peer-{store.slug}"[:100],
        defaults={
            "store": store,
            "original_name": "synthetic-peer-data",
            "sha256": hashlib.sha256(store.slug.encode()).hexdigest(),
            "status": Upload.Status.SUCCEEDED,
            "layout": "demo",
            "started_at": now,
            "finished_at": now,
        },
    )
    return upload


def store_profile(slug: str) -> dict:
    """Draw a store's lasting traits: size, terminal split, source mix and how well it converts."""
    rng = random.Random(f"profile:{slug}")
    weights = {code: share * rng.uniform(0.5, 1.6) for code, share in CATEGORY_SHARES.items()}
    scale = sum(weights.values())
    return {
        # Store visitors per month, all terminals: a long tail, median near 6,000.
        "monthly_visitors": 6000 * math.exp(rng.gauss(0, 0.8)),
        "wireless_share": rng.uniform(0.45, 0.7),
        "mix": {code: weight / scale for code, weight in weights.items()},
        "skill": math.exp(rng.gauss(0, 0.35)),
        "has_total_row": rng.random() >= WITHOUT_TOTAL_ROW,
    }


def period_rows(slug: str, profile: dict, granularity: str, period_start: datetime.date) -> dict:
    """Generate one period's rows for every terminal and region: {(terminal, region): {source: figure}}."""
    rng = random.Random(f"{slug}:{granularity}:{period_start.isoformat()}")
    level = profile["monthly_visitors"] * rng.uniform(0.85, 1.15)
    if granularity == Granularity.WEEK:
        level *= 7 / 30.4375

    pc = terminal_rows(rng, profile, level * (1 - profile["wireless_share"]))
    wireless = terminal_rows(rng, profile, level * profile["wireless_share"])
    # Buyers on both terminals count once in All.
    every = {source: tuple(a + b - math.floor(min(a, b) * 0.05) for a, b in zip(pc[source], wireless[source])) for source in pc}
    outside_cn = rng.uniform(0.84, 0.94)

    result = {}
    for terminal, rows in ((Terminal.ALL, every), (Terminal.PC, pc), (Terminal.WIRELESS, wireless)):
        result[(terminal, Region.ALL)] = with_total(rows, profile)
        scaled = {source: tuple(math.floor(value * outside_cn) for value in figure) for source, figure in rows.items()}
        result[(terminal, Region.EXCLUDE_CN)] = with_total(scaled, profile)
    return result


def terminal_rows(rng: random.Random, profile: dict, level: float) -> dict:
    rows = {}
    for category in CATEGORIES:
        visitors = round(level * profile["mix"][category.code] * rng.uniform(0.8, 1.2))
        inquiry_rate, tm_rate = CONVERSION[category.code]
        skill = profile["skill"] * rng.uniform(0.8, 1.2)
        inquiry = min(visitors, round(visitors * inquiry_rate * skill))
        tm = min(visitors, round(visitors * tm_rate * skill))
        rows[category.code] = (visitors, inquiry, tm)
    return rows


def with_total(rows: dict, profile: dict) -> dict:
    """Add the store total row, below the category sum because visitors are de-duplicated across sources."""
    if not profile["has_total_row"]:
        return dict(rows)
    totals = [math.floor(sum(figure[metric] for figure in rows.values()) * 0.88) for metric in range(3)]
    return {**rows, TOTAL: tuple(totals)}
