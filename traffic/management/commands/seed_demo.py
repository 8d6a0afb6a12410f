"""Create a demo merchant with three stores and a year of generated traffic figures.

Running the command again updates the same user, industries, stores and
memberships and replaces each store's demo figures, so it never duplicates
anything. The figures depend only on the store and the date, so a second run
on the same day writes exactly the same numbers.
"""

import datetime
import functools
import hashlib
import math
import os
import random
import time
import zoneinfo
from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Industry, Membership, Store, User
from traffic.dimensions import Granularity, Region, Terminal, period_end, period_start_of
from traffic.metrics import feedback_conversion_rate
from traffic.models import TrafficFigure, Upload
from traffic.taxonomy import CATEGORIES, TOTAL

DEMO_EMAIL = "demo@example.com"
DEFAULT_DEMO_PASSWORD = "demo-password-2026"
# About 14 months, so the last full month and the last 60 days have the same days a year before (同比).
DEMO_DAYS = 430
DEMO_UPLOAD_NAME = "demo-data"
DEMO_LAYOUT = "demo"
DEMO_SHA256 = hashlib.sha256(b"traffic analytics generated demo data").hexdigest()
BATCH_SIZE = 2000

INDUSTRIES = (
    ("consumer-electronics", "消费电子", "Consumer electronics"),
    ("lighting", "照明", "Lighting"),
)


@dataclass(frozen=True)
class DemoStore:
    slug: str
    name: str
    industry_code: str
    # Store visitors on an average day, all terminals together.
    daily_visitors: int
    wireless_share: float


DEMO_STORES = (
    DemoStore("demo-brightway", "Shenzhen Brightway Electronics", "consumer-electronics", 420, 0.62),
    DemoStore("demo-soundwave", "Dongguan Soundwave Audio", "consumer-electronics", 160, 0.55),
    DemoStore("demo-lumen", "Zhongshan Lumen Lighting", "lighting", 260, 0.48),
)

# Share of a store's visitors that arrive through each category, before noise.
CATEGORY_SHARES = {
    "search": 0.30,
    "recommendation": 0.15,
    "venue": 0.06,
    "channel": 0.05,
    "interaction": 0.07,
    "self_marketing": 0.04,
    "external_promotion": 0.02,
    "direct": 0.09,
    "in_store": 0.11,
    "off_site": 0.04,
    "other": 0.02,
}

# Fraction of a category's visitors that become inquiry customers and TM customers.
CONVERSION = {
    "search": (0.035, 0.020),
    "recommendation": (0.022, 0.015),
    "venue": (0.025, 0.010),
    "channel": (0.020, 0.008),
    "interaction": (0.060, 0.025),
    "self_marketing": (0.030, 0.012),
    "external_promotion": (0.025, 0.010),
    "direct": (0.015, 0.010),
    "in_store": (0.035, 0.012),
    "off_site": (0.030, 0.010),
    "other": (0.025, 0.010),
}

WEEKDAY_FACTORS = (1.08, 1.12, 1.10, 1.05, 0.98, 0.80, 0.77)

# Row keys in a fixed order: each category, its sub-sources, then the store total.
ROW_KEYS = tuple(
    key
    for category in CATEGORIES
    for key in [(category.code, "")] + [(category.code, sub.code) for sub in category.sub_sources]
) + ((TOTAL, ""),)

# A figure is (visitors, inquiry_customers, tm_customers). A slice is the list of figures of one
# terminal and region, one per entry of ROW_KEYS and in that order.
Figure = tuple[int, int, int]


class Command(BaseCommand):
    help = (
        "Create the demo merchant demo@example.com (password from DEMO_PASSWORD, or a fixed default) "
        "with three stores and 430 days of generated traffic figures. Safe to run again: it replaces "
        "the demo figures instead of adding more."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--refresh", action="store_true",
            help="Regenerate the figures even when a store's demo year already ends yesterday.",
        )
        parser.add_argument("--days", type=int, default=DEMO_DAYS, help="Number of days of figures, ending yesterday.")

    def handle(self, *args, **options):
        started = time.monotonic()
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD

        user = self._demo_user(password)
        industries = self._industries()
        for demo_store in DEMO_STORES:
            store = self._store(demo_store, industries[demo_store.industry_code], user)
            if not options["refresh"] and demo_is_current(store):
                self.stdout.write(_("%(store)s: demo figures are up to date.") % {"store": store.name})
                continue
            count = seed_store_figures(store, demo_store, options["days"])
            self.stdout.write(
                _("%(store)s: %(count)d demo figures written.") % {"store": store.name, "count": count}
            )

        self.stdout.write(
            _("Demo data is ready in %(seconds).1f s. Log in as %(email)s with the password %(password)s")
            % {"seconds": time.monotonic() - started, "email": DEMO_EMAIL, "password": password}
        )

    def _demo_user(self, password: str) -> User:
        user, _created = User.objects.get_or_create(email=DEMO_EMAIL)

        # The password is set on every run, so the one printed is always the one that works.
        user.set_password(password)
        user.is_active = True
        user.save()
        return user

    def _industries(self) -> dict[str, Industry]:
        industries = {}
        for code, name_zh, name_en in INDUSTRIES:
            industry, _created = Industry.objects.update_or_create(
                code=code, defaults={"name_zh": name_zh, "name_en": name_en}
            )
            industries[code] = industry
        return industries

    def _store(self, demo_store: DemoStore, industry: Industry, user: User) -> Store:
        store, _created = Store.objects.update_or_create(
            slug=demo_store.slug, defaults={"name": demo_store.name, "main_industry": industry}
        )
        Membership.objects.update_or_create(user=user, store=store, defaults={"role": Membership.Role.OWNER})
        return store


def demo_yesterday(store: Store) -> datetime.date:
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(store.reporting_time_zone)).date()
    return today - datetime.timedelta(days=1)


def demo_is_current(store: Store) -> bool:
    """Return whether the store's demo figures already end yesterday in its reporting time zone."""
    return TrafficFigure.objects.filter(
        store=store, upload__stored_name=f"demo-{store.slug}", granularity=Granularity.DAY,
        period_start=demo_yesterday(store),
    ).exists()


def seed_store_figures(store: Store, demo_store: DemoStore, day_count: int = DEMO_DAYS) -> int:
    """Replace the store's demo figures with freshly generated ones and return how many were written.

    The figures cover the day_count days (DEMO_DAYS by default) ending yesterday in the store's
    reporting time zone, with every natural week and month that lies wholly inside them.
    """
    last_day = demo_yesterday(store)
    first_day = last_day - datetime.timedelta(days=day_count - 1)

    days = [first_day + datetime.timedelta(days=offset) for offset in range(day_count)]
    daily = {day: day_slices(demo_store, day) for day in days}
    periods = [(Granularity.DAY, day, daily[day]) for day in days]
    for granularity in (Granularity.WEEK, Granularity.MONTH):
        for start in complete_periods(granularity, first_day, last_day):
            periods.append((granularity, start, period_slices(demo_store, granularity, start, daily)))

    # With DEBUG on, Django logs every query, and on SQLite it runs one more query per INSERT
    # to quote the logged parameters. That costs about a quarter of the write time here.
    with override_settings(DEBUG=False), transaction.atomic():
        upload = demo_upload(store)
        upload.figures.all().delete()

        # A period slice that a real upload covers stays with it, and the demo rows of that slice
        # are stored as superseded.
        slices_current_elsewhere = set(
            TrafficFigure.objects.filter(store=store, is_current=True).values_list(
                "granularity", "period_start", "terminal", "region"
            )
        )

        batch = []
        count = 0
        for granularity, start, slices in periods:
            for (terminal, region), figures in slices.items():
                for (source, sub_source), figure in zip(ROW_KEYS, figures):
                    key = (granularity, start, terminal, region, source, sub_source, "")
                    current = (granularity, start, terminal, region) not in slices_current_elsewhere
                    batch.append(traffic_figure(store, upload, key, figure, is_current=current))
            if len(batch) >= BATCH_SIZE:
                TrafficFigure.objects.bulk_create(batch, batch_size=BATCH_SIZE)
                count += len(batch)
                batch = []
        TrafficFigure.objects.bulk_create(batch, batch_size=BATCH_SIZE)
        count += len(batch)

        upload.figures_imported = count
        upload.finished_at = timezone.now()
        upload.save(update_fields=["figures_imported", "finished_at"])
    return count


def demo_upload(store: Store) -> Upload:
    now = timezone.now()
    upload, _created = Upload.objects.update_or_create(
        stored_name=f"demo-{store.slug}",
        defaults={
            "store": store,
            "original_name": DEMO_UPLOAD_NAME,
            "sha256": DEMO_SHA256,
            "size_bytes": 0,
            "status": Upload.Status.SUCCEEDED,
            "layout": DEMO_LAYOUT,
            "rows_read": 0,
            "messages": [],
            "started_at": now,
            "finished_at": now,
        },
    )
    return upload


def traffic_figure(store, upload, key, figure: Figure, is_current: bool) -> TrafficFigure:
    granularity, period_start, terminal, region, source, sub_source, raw_label = key
    visitors, inquiry_customers, tm_customers = figure
    return TrafficFigure(
        # Ids rather than instances, because assigning an instance runs the relation descriptor for every row.
        store_id=store.id,
        upload_id=upload.id,
        granularity=granularity,
        period_start=period_start,
        terminal=terminal,
        region=region,
        source=source,
        sub_source=sub_source,
        raw_label=raw_label,
        visitors=visitors,
        inquiry_customers=inquiry_customers,
        tm_customers=tm_customers,
        feedback_conversion_rate=cached_rate(visitors, inquiry_customers, tm_customers),
        is_current=is_current,
    )


# Most days repeat the same small counts, so the Decimal division is worth caching.
cached_rate = functools.lru_cache(maxsize=65536)(feedback_conversion_rate)


def complete_periods(granularity: str, first_day: datetime.date, last_day: datetime.date) -> list[datetime.date]:
    """Return the starts of the natural periods that lie wholly within first_day..last_day."""
    starts = []
    start = period_start_of(granularity, first_day)
    while start <= last_day:
        end = period_end(granularity, start)
        if start >= first_day and end <= last_day:
            starts.append(start)
        start = end + datetime.timedelta(days=1)
    return starts


# Generation.
#
# Each day gets PC and wireless figures for every row first. Everything else
# is derived from them with functions that never decrease when an input grows,
# and that use one factor per slice for all rows. That keeps the orderings of
# the base figures: a parent is at least each of its sub-sources, the total at
# least every category, and inquiry and TM customers at most the visitors.
# All is derived last, from the PC and wireless figures of the same region and
# period, so that it lies between the larger of the two and their sum.

# Share of the buyers of a day or period who used both terminals, and so count once in All.
BOTH_TERMINALS_SHARE = (0.03, 0.08)

# A buyer who comes back on another day counts once in the week or month, so a
# week or month figure is the sum of its days times one of these factors. They
# must stay below 1 - max(BOTH_TERMINALS_SHARE) / 2 = 0.96, which keeps the All
# figure of a period at or below the sum of its daily All figures.
RETURNING_FACTORS = {Granularity.WEEK: (0.86, 0.94), Granularity.MONTH: (0.74, 0.84)}


def day_slices(demo_store: DemoStore, day: datetime.date) -> dict[tuple[str, str], list[Figure]]:
    """Generate one day's figures for every terminal and region."""
    rng = random.Random(f"{demo_store.slug}:{day.isoformat()}")
    level = demo_store.daily_visitors * WEEKDAY_FACTORS[day.weekday()] * season_factor(day) * rng.uniform(0.85, 1.15)

    pc = terminal_figures(rng, level * (1 - demo_store.wireless_share))
    wireless = terminal_figures(rng, level * demo_store.wireless_share)

    # Mainland China traffic (domestic buyers, the store's own staff) varies from day to day.
    outside_cn = 1 - rng.uniform(0.06, 0.16)
    slices = {
        (Terminal.PC, Region.ALL): pc,
        (Terminal.WIRELESS, Region.ALL): wireless,
        (Terminal.PC, Region.EXCLUDE_CN): [scale(figure, outside_cn) for figure in pc],
        (Terminal.WIRELESS, Region.EXCLUDE_CN): [scale(figure, outside_cn) for figure in wireless],
    }
    return add_all_terminals(slices, rng.uniform(*BOTH_TERMINALS_SHARE))


def add_all_terminals(slices: dict, both_share: float) -> dict:
    """Add the All slices for both regions, computed from the PC and wireless slices."""
    for region in (Region.ALL, Region.EXCLUDE_CN):
        pc = slices[(Terminal.PC, region)]
        wireless = slices[(Terminal.WIRELESS, region)]
        slices[(Terminal.ALL, region)] = [combine_terminals(a, b, both_share) for a, b in zip(pc, wireless)]
    return slices


def season_factor(day: datetime.date) -> float:
    """Return a yearly swing of ±18%: lowest in early February (Chinese New Year), highest in August."""
    angle = 2 * math.pi * (day.timetuple().tm_yday - 40) / 365.25
    return 1 - 0.18 * math.cos(angle)


def terminal_figures(rng: random.Random, level: float) -> list[Figure]:
    """Generate the figures of every row for one terminal on one day."""
    figures = []
    category_figures = []

    for category in CATEGORIES:
        visitors = round(level * CATEGORY_SHARES[category.code] * rng.uniform(0.75, 1.25))
        inquiry_rate, tm_rate = CONVERSION[category.code]

        children = []
        if category.sub_sources:
            weights = [rng.uniform(0.5, 1.5) for _sub in category.sub_sources]
            # A buyer may arrive through two sub-sources, so the children add up to a bit more than the parent.
            overlap = rng.uniform(1.0, 1.12)
            for weight in weights:
                child_visitors = min(visitors, round(visitors * weight / sum(weights) * overlap))
                children.append(customers(rng, child_visitors, inquiry_rate, tm_rate))

        parent = customers(rng, visitors, inquiry_rate, tm_rate)
        if children:
            # Every buyer of the category came through one of its sub-sources, so the parent
            # lies between the largest child and the sum of the children.
            parent = (
                visitors,
                between(parent[1], max(child[1] for child in children), sum(child[1] for child in children)),
                between(parent[2], max(child[2] for child in children), sum(child[2] for child in children)),
            )
        figures.append(parent)
        figures.extend(children)
        category_figures.append(parent)

    # Visitors are de-duplicated across sources, so the total is below the sum of the categories.
    dedup = rng.uniform(0.82, 0.92)
    total = []
    for metric in range(3):
        values = [figure[metric] for figure in category_figures]
        total.append(max(max(values), math.floor(sum(values) * dedup)))
    total[1] = min(total[1], total[0])
    total[2] = min(total[2], total[0])
    figures.append(tuple(total))
    return figures


def between(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def customers(rng: random.Random, visitors: int, inquiry_rate: float, tm_rate: float) -> Figure:
    inquiry_customers = min(visitors, round(visitors * inquiry_rate * rng.uniform(0.4, 1.6)))
    tm_customers = min(visitors, round(visitors * tm_rate * rng.uniform(0.4, 1.6)))
    return visitors, inquiry_customers, tm_customers


def combine_terminals(pc: Figure, wireless: Figure, both_share: float) -> Figure:
    """Return the All figure: PC plus wireless, less the buyers counted on both."""
    return tuple(a + b - math.floor(min(a, b) * both_share) for a, b in zip(pc, wireless))


def scale(figure: Figure, factor: float) -> Figure:
    # Rounding, not flooring: with factor < 1 the result never exceeds the input, and a
    # single inquiry does not vanish from the figures without mainland China.
    return tuple(round(value * factor) for value in figure)


def period_slices(demo_store, granularity: str, start: datetime.date, daily: dict) -> dict[tuple[str, str], list[Figure]]:
    """Derive a week's or month's figures from the PC and wireless figures of its days."""
    end = period_end(granularity, start)
    days = [start + datetime.timedelta(days=offset) for offset in range((end - start).days + 1)]
    rng = random.Random(f"{demo_store.slug}:{granularity}:{start.isoformat()}")
    returning = rng.uniform(*RETURNING_FACTORS[granularity])

    slices = {}
    for terminal in (Terminal.PC, Terminal.WIRELESS):
        for region in (Region.ALL, Region.EXCLUDE_CN):
            sums = [[0, 0, 0] for _key in ROW_KEYS]
            for day in days:
                for row, figure in enumerate(daily[day][(terminal, region)]):
                    for metric in range(3):
                        sums[row][metric] += figure[metric]
            slices[(terminal, region)] = [scale(tuple(row), returning) for row in sums]
    return add_all_terminals(slices, rng.uniform(*BOTH_TERMINALS_SHARE))
