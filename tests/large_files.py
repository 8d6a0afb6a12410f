"""Generators of large export files for the fault tests.

The files follow the platform's visitor-details layout (访客详情, one visit per row,
UTF-8 CSV). Values are drawn from a seeded random generator, so the same
arguments always write the same bytes.
"""

import csv
import datetime
import itertools
import random
from pathlib import Path

VISITOR_DETAILS_HEADER = [
    "访客ID", "访问日期", "国家/地区", "终端", "流量渠道", "浏览量", "停留时长(秒)", "搜索词", "是否询盘", "是否TM咨询",
]

# Channel labels of the export and the category each one belongs to in traffic.taxonomy.
# 文字搜索 is the text_search sub-source of search; the others are categories without a sub-source.
CHANNEL_CATEGORIES = {
    "文字搜索": "search",
    "系统推荐": "recommendation",
    "直接访问": "direct",
    "店内": "in_store",
}
COUNTRIES = ("CN", "US", "DE", "IN", "VN", "MX", "HK", "TW")
TERMINALS = ("PC", "无线")
SEARCH_TERMS = ("solar panel", "bluetooth speaker", "", "")


def write_visitor_details(
    path: Path, rows: int, first_day: datetime.date, days: int, seed: int, visitor_pool: int | None = None,
    *, channel_weights: dict[str, float] | None = None, country_weights: dict[str, float] | None = None,
) -> Path:
    """Write a visitor-details CSV of `rows` visits spread over `days` days from `first_day`.

    Visitor ids come from a pool of `visitor_pool` ids (default: a third of the
    rows), so many visitors come back on the same day and distinct counts differ
    from row counts. About 3 % of visits are inquiries and 2 % TM consultations.
    Channel labels and countries are drawn uniformly from CHANNEL_CATEGORIES and
    COUNTRIES, or by weight from `channel_weights` and `country_weights` (label or
    country code -> relative weight) when given.
    """
    generator = random.Random(seed)
    pool = visitor_pool or max(1, rows // 3)
    pick_channel = weighted_picker(generator, channel_weights, list(CHANNEL_CATEGORIES))
    pick_country = weighted_picker(generator, country_weights, list(COUNTRIES))

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(VISITOR_DETAILS_HEADER)
        for _ in range(rows):
            day = first_day + datetime.timedelta(days=generator.randrange(days))
            writer.writerow([
                f"v{generator.randrange(pool):09d}",
                day.isoformat(),
                pick_country(),
                generator.choice(TERMINALS),
                pick_channel(),
                generator.randint(1, 20),
                generator.randint(5, 900),
                generator.choice(SEARCH_TERMS),
                "是" if generator.random() < 0.03 else "否",
                "是" if generator.random() < 0.02 else "否",
            ])
    return path


def weighted_picker(generator: random.Random, weights: dict[str, float] | None, uniform: list[str]):
    """Return a function that draws one value: by weight when weights are given, else uniformly from `uniform`.

    The uniform draw is the generator's choice(), so files written without weights keep their bytes.
    """
    if weights is None:
        return lambda: generator.choice(uniform)

    values = list(weights)
    cumulative = list(itertools.accumulate(weights.values()))
    return lambda: generator.choices(values, cum_weights=cumulative)[0]
