"""Every synthetic sample export imports with the exact figures it contains."""

import csv
import datetime
import pathlib
from collections import defaultdict
from decimal import Decimal

import pytest

from traffic.importers import ImportOptions, parse_file

SAMPLES = pathlib.Path("/work/shared/samples")

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the sample exports are not on this machine")


def parse_sample(name, **options):
    return parse_file(SAMPLES / name, name, ImportOptions(**options))


def figure_for(result, source, sub_source="", **dimensions):
    matches = [
        figure for figure in result.figures
        if figure.source == source and figure.sub_source == sub_source
        and all(getattr(figure, name) == value for name, value in dimensions.items())
    ]
    assert len(matches) == 1, f"{len(matches)} figures for {source}/{sub_source} {dimensions}"
    return matches[0]


def test_xls_month_wireless():
    result = parse_sample("traffic-source_month_2026-10_wireless.xls")

    assert result.problems == []
    assert result.layout == "traffic_source_report"
    assert len(result.figures) == 27
    assert {figure.granularity for figure in result.figures} == {"month"}
    assert {figure.period_start for figure in result.figures} == {datetime.date(2026, 10, 1)}
    assert {figure.terminal for figure in result.figures} == {"wireless"}
    assert {figure.region for figure in result.figures} == {"all"}

    search = figure_for(result, "search")
    assert (search.visitors, search.inquiry_customers, search.tm_customers) == (6225, 222, 93)
    assert search.feedback_conversion_rate == Decimal("0.0506")

    category_navigation = figure_for(result, "search", "category_navigation")
    assert category_navigation.visitors == 4232
    assert category_navigation.raw_label == ""

    edm = figure_for(result, "self_marketing", "edm")
    assert (edm.visitors, edm.inquiry_customers, edm.tm_customers) == (315, 7, 3)

    others = figure_for(result, "other")
    assert others.visitors == 298


def test_xlsx_day_english():
    result = parse_sample("traffic-source_day_2026-11-03_pc_en.xlsx")

    assert result.problems == []
    assert len(result.figures) == 27
    assert {figure.granularity for figure in result.figures} == {"day"}
    assert {figure.period_start for figure in result.figures} == {datetime.date(2026, 11, 3)}
    assert {figure.terminal for figure in result.figures} == {"all"}

    search = figure_for(result, "search")
    assert search.visitors == 205
    assert isinstance(search.visitors, int)
    assert search.feedback_conversion_rate == Decimal("0.0293")

    favorites = figure_for(result, "interaction", "favorites_cart")
    assert (favorites.visitors, favorites.inquiry_customers, favorites.tm_customers) == (23, 1, 0)

    fans = figure_for(result, "self_marketing", "fans")
    assert fans.visitors == 9


def test_xlsx_terminal_from_options():
    result = parse_sample("traffic-source_day_2026-11-03_pc_en.xlsx", terminal="pc")

    assert result.errors == []
    assert {figure.terminal for figure in result.figures} == {"pc"}


def test_gbk_csv_week_with_total():
    result = parse_sample("traffic-source_week_2026-11-02_all_gbk.csv")

    assert result.problems == []
    assert len(result.figures) == 28
    assert {figure.granularity for figure in result.figures} == {"week"}
    assert {figure.period_start for figure in result.figures} == {datetime.date(2026, 11, 2)}

    search = figure_for(result, "search")
    assert (search.visitors, search.inquiry_customers, search.tm_customers) == (1408, 54, 32)
    assert search.feedback_conversion_rate == Decimal("0.0611")

    total = figure_for(result, "total")
    assert (total.visitors, total.inquiry_customers, total.tm_customers) == (4169, 123, 57)
    assert total.feedback_conversion_rate == Decimal("0.0432")

    weekly_deals = figure_for(result, "channel", "weekly_deals")
    assert weekly_deals.visitors == 28


def test_gbk_csv_part_of_month_warns():
    result = parse_sample("traffic-source_week_2026-11-02_all_gbk.csv", granularity="month")

    assert result.errors == []
    assert {figure.period_start for figure in result.figures} == {datetime.date(2026, 11, 1)}
    assert len(result.warnings) == 1
    assert "only part" in result.warnings[0].message


def test_trend_daily_utf8_bom():
    result = parse_sample("traffic-trend_daily_2026-10.csv")

    assert result.problems == []
    assert result.layout == "trend"
    assert len(result.figures) == 31 * 2 * 11
    assert result.rows_read == 682
    assert {figure.granularity for figure in result.figures} == {"day"}
    assert {figure.terminal for figure in result.figures} == {"pc", "wireless"}

    first = figure_for(result, "search", period_start=datetime.date(2026, 10, 1), terminal="pc")
    assert (first.visitors, first.inquiry_customers, first.tm_customers) == (140, 3, 0)
    assert first.feedback_conversion_rate == Decimal("0.021429")

    wireless = figure_for(result, "recommendation", period_start=datetime.date(2026, 10, 1), terminal="wireless")
    assert (wireless.visitors, wireless.inquiry_customers, wireless.tm_customers) == (115, 5, 1)

    last = figure_for(result, "in_store", period_start=datetime.date(2026, 10, 31), terminal="wireless")
    assert (last.visitors, last.inquiry_customers, last.tm_customers) == (40, 1, 0)


def test_trend_terminal_option_conflict():
    result = parse_sample("traffic-trend_daily_2026-10.csv", terminal="pc")

    assert len(result.errors) == 1
    assert result.errors[0].column == "终端"
    assert result.errors[0].value == "无线"
    assert result.errors[0].row == 13
    assert result.figures == []


def test_visitor_details_spot_values():
    result = parse_sample("visitor-details_2026-11-01_14.csv")

    assert result.problems == []
    assert result.layout == "visitor_details"
    # 14 days x 3 terminals x 2 regions x (11 categories + total + 16 sub-sources in the file)
    assert len(result.figures) == 14 * 3 * 2 * 28

    day = datetime.date(2026, 11, 1)
    search_pc = figure_for(result, "search", period_start=day, terminal="pc", region="all")
    assert (search_pc.visitors, search_pc.inquiry_customers) == (25, 1)

    total = figure_for(result, "total", period_start=day, terminal="all", region="all")
    assert total.visitors == 160  # 166 rows, 6 repeat visitors

    total_without_cn = figure_for(result, "total", period_start=day, terminal="all", region="exclude_cn")
    assert total_without_cn.visitors == 149

    last_day = figure_for(result, "total", period_start=datetime.date(2026, 11, 14), terminal="wireless", region="all")
    assert last_day.visitors == 100


def test_visitor_details_match_reference_count():
    """Compare every figure with a direct count over the CSV rows."""
    result = parse_sample("visitor-details_2026-11-01_14.csv")
    expected = reference_visitor_counts(SAMPLES / "visitor-details_2026-11-01_14.csv")

    found = {
        (f.period_start.isoformat(), f.terminal, f.region, f.source, f.sub_source): (
            f.visitors, f.inquiry_customers, f.tm_customers,
        )
        for f in result.figures
    }
    for key, counts in expected.items():
        assert found[key] == counts, key
    assert sum(visitors for visitors, _inquiry, _tm in found.values()) == sum(v for v, _i, _t in expected.values())


def reference_visitor_counts(path):
    """Count distinct visitors per group straight from the rows, by a route independent of the importer."""
    sub_sources = {
        "文字搜索": ("search", "text_search"), "图片搜索": ("search", "photo_search"),
        "类目导航": ("search", "category_navigation"), "日常会场": ("venue", "daily_venue"),
        "大促会场": ("venue", "promotion_venue"), "Weekly Deals": ("channel", "weekly_deals"),
        "Brand Zone": ("channel", "brand_zone"), "Bargain Buys": ("channel", "bargain_buys"),
        "Ranking products": ("channel", "ranking_products"),
        "Top-ranking suppliers": ("channel", "top_ranking_suppliers"), "询盘": ("interaction", "inquiry"),
        "订单": ("interaction", "order"), "收藏/购物车/对比/分享": ("interaction", "favorites_cart"),
        "RFQ": ("self_marketing", "rfq"), "粉丝通": ("self_marketing", "fans"), "客户通EDM": ("self_marketing", "edm"),
    }
    categories = {
        "系统推荐": "recommendation", "站外推广": "external_promotion", "直接访问": "direct", "店内": "in_store",
        "站外": "off_site", "其他": "other",
    }
    sets = defaultdict(lambda: (set(), set(), set()))
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = row["流量渠道"]
            if label in sub_sources:
                category, sub_source = sub_sources[label]
                keys = [(category, sub_source), (category, "")]
            else:
                keys = [(categories[label], "")]
            keys.append(("total", ""))
            terminals = ["pc" if row["终端"] == "PC" else "wireless", "all"]
            regions = ["all"] if row["国家/地区"] == "CN" else ["all", "exclude_cn"]
            for terminal in terminals:
                for region in regions:
                    for source, sub_source in keys:
                        visitors, inquiry, tm = sets[(row["访问日期"], terminal, region, source, sub_source)]
                        visitors.add(row["访客ID"])
                        if row["是否询盘"] == "是":
                            inquiry.add(row["访客ID"])
                        if row["是否TM咨询"] == "是":
                            tm.add(row["访客ID"])
    return {key: (len(v), len(i), len(t)) for key, (v, i, t) in sets.items()}


def test_visitor_details_terminal_conflict():
    result = parse_sample("visitor-details_2026-11-01_14.csv", terminal="pc")

    assert len(result.errors) == 1
    assert result.errors[0].params["found"] == "wireless"
    assert result.figures == []


def test_visitor_details_region_conflict():
    result = parse_sample("visitor-details_2026-11-01_14.csv", region="exclude_cn")

    assert len(result.errors) == 1
    assert result.errors[0].column == "国家/地区"


def test_visitor_details_week_rejected():
    result = parse_sample("visitor-details_2026-11-01_14.csv", granularity="week")

    assert len(result.errors) == 1
    assert "daily" in result.errors[0].message
