"""Generated files that exercise encodings, delimiters, odd values and every rejection rule."""

import datetime
import random
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traffic.importers import ImportOptions, parse_file
from traffic.importers.table import ProgressReporter

HEADER = "流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数,商机转化率"
WEEK_TITLE = '"流量来源,时间周期2026-11-02~2026-11-08"'


def write_report(tmp_path, lines, *, encoding="utf-8", name="upload.csv"):
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


def parse(path, **options):
    return parse_file(path, "report.csv", ImportOptions(**options))


def by_label(result):
    return {(figure.source, figure.sub_source, figure.raw_label): figure for figure in result.figures}


def test_utf8_bom_tab_delimited(tmp_path):
    lines = ["流量来源\t时间周期2026-11-03~2026-11-03", "", HEADER.replace(",", "\t"), "搜索\t1,408\t54\t32\t6.11%"]
    path = tmp_path / "upload.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))

    result = parse(path)

    assert result.problems == []
    assert result.figures[0].visitors == 1408
    assert result.figures[0].granularity == "day"


def test_gb18030_semicolon(tmp_path):
    lines = ["流量来源;时间周期2026-11-02~2026-11-08", HEADER.replace(",", ";"), "图片搜索;532;29;14;8.08%", "直接访问;415;5;3;1.93%"]
    path = write_report(tmp_path, lines, encoding="gb18030")

    result = parse(path)

    assert result.problems == []
    figures = by_label(result)
    assert figures[("search", "photo_search", "")].visitors == 532
    assert figures[("direct", "", "")].feedback_conversion_rate == Decimal("0.0193")


def test_decimal_comma_rejected(tmp_path):
    lines = ["流量来源;时间周期2026-11-02~2026-11-08", HEADER.replace(",", ";"), "图片搜索;532;29;14;8,08%"]

    result = parse(write_report(tmp_path, lines, encoding="gb18030"))

    assert result.figures == []
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.row, error.column, error.value) == (3, "商机转化率", "8,08%")


def test_utf16_unicode_text(tmp_path):
    lines = ["流量来源\t时间周期2026-11-03~2026-11-03", HEADER.replace(",", "\t"), "站外\t164\t5\t0\t3.05%"]
    path = tmp_path / "upload.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))

    result = parse(path)

    assert result.problems == []
    assert result.figures[0].source == "off_site"


def test_header_after_comment_lines(tmp_path):
    lines = [
        "# exported by a helper tool",
        WEEK_TITLE,
        "终端：PC",
        "剔除中国大陆流量：是",
        "说明：数据为示例",
        "",
        "",
        HEADER,
        "店内,460,15,5,4.35%",
    ]
    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    figure = result.figures[0]
    assert figure.source == "in_store"
    assert figure.terminal == "pc"
    assert figure.region == "exclude_cn"
    assert figure.period_start == datetime.date(2026, 11, 2)


def test_header_after_row_20_is_not_found(tmp_path):
    lines = [WEEK_TITLE] + [""] * 20 + [HEADER, "店内,460,15,5,4.35%"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert "流量渠道" in result.errors[0].message
    assert result.errors[0].file == "report.csv"


def test_english_header_synonyms(tmp_path):
    lines = [
        "Traffic Source, Period 2026-11-03~2026-11-03",
        "Terminal: Wireless",
        "Source,UV,Inquiry Customers,TM Consultation Customers,Opportunity Conversion Rate,Page Views",
        "Direct visit,42,1,0,2.38%,130",
    ]
    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    figure = result.figures[0]
    assert figure.terminal == "wireless"
    assert figure.extra == {"Page Views": 130}


def test_missing_values_stay_none(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,-,--,,", "店内,460,,5,", "站外,164,5,0,－－"]

    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    figures = by_label(result)
    search = figures[("search", "", "")]
    assert search.visitors is None
    assert search.inquiry_customers is None
    assert search.tm_customers is None
    assert search.feedback_conversion_rate is None
    assert figures[("in_store", "", "")].inquiry_customers is None
    assert figures[("in_store", "", "")].feedback_conversion_rate is None
    assert figures[("off_site", "", "")].feedback_conversion_rate == Decimal("0.030488")


def test_wan_unit_and_full_width_digits(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,1.2万,１２０,６０,1.50%", "\u3000\u3000文字搜索,１，４０８,3,0,"]

    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    figures = by_label(result)
    assert figures[("search", "", "")].visitors == 12000
    assert figures[("search", "", "")].inquiry_customers == 120
    assert figures[("search", "text_search", "")].visitors == 1408
    assert figures[("search", "text_search", "")].feedback_conversion_rate == Decimal("0.002131")


def test_unknown_label_kept_with_warning(tmp_path):
    lines = [WEEK_TITLE, HEADER, "频道,223,3,0,1.35%", "\u3000\u3000直播会场 ,40,1,0,2.50%"]

    result = parse(write_report(tmp_path, lines))

    assert result.errors == []
    assert len(result.warnings) == 1
    assert result.warnings[0].value == "直播会场"
    assert result.warnings[0].row == 4
    unknown = by_label(result)[("other", "", "直播会场")]
    assert unknown.visitors == 40


def test_sub_source_in_second_column(tmp_path):
    lines = [
        WEEK_TITLE,
        "流量渠道,二级渠道,店铺访问人数,店内询盘人数,店内TM咨询人数",
        "搜索,,1408,54,32",
        ",文字搜索,467,23,10",
        "导购会场,大促会场,145,4,1",
    ]
    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    figures = by_label(result)
    assert figures[("search", "", "")].visitors == 1408
    assert figures[("search", "text_search", "")].visitors == 467
    assert figures[("venue", "promotion_venue", "")].visitors == 145


def test_negative_count_rejected(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,1408,54,32,6.11%", "店内,460,-15,5,"]

    result = parse(write_report(tmp_path, lines))

    assert result.figures == []
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.file, error.row, error.column, error.value) == ("report.csv", 4, "店内询盘人数", "-15")
    assert "negative" in error.message


def test_inquiry_above_visitors_rejected(tmp_path):
    lines = [WEEK_TITLE, HEADER, "站外推广,88,93,1,"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert result.errors[0].column == "店内询盘人数"
    assert result.errors[0].params == {"customers": 93, "visitors": 88}


def test_tm_above_visitors_rejected(tmp_path):
    lines = [WEEK_TITLE, HEADER, "站外推广,88,3,89,"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert result.errors[0].column == "店内TM咨询人数"


def test_duplicate_key_conflict_rejected(tmp_path):
    lines = [WEEK_TITLE, HEADER, "直接访问,415,5,3,", "Direct visit,416,5,3,"]

    result = parse(write_report(tmp_path, lines))

    assert result.figures == []
    assert len(result.errors) == 1
    assert result.errors[0].row == 4
    assert result.errors[0].params == {"first_row": 3}


def test_identical_duplicate_warns(tmp_path):
    lines = [WEEK_TITLE, HEADER, "直接访问,415,5,3,", "直接访问,415,5,3,"]

    result = parse(write_report(tmp_path, lines))

    assert result.errors == []
    assert len(result.figures) == 1
    assert len(result.warnings) == 1


def test_rate_disagreeing_with_counts_warns(tmp_path):
    lines = [WEEK_TITLE, HEADER, "直接访问,415,5,3,2.50%", "店内,460,15,5,4.80%"]

    result = parse(write_report(tmp_path, lines))

    assert result.errors == []
    assert [warning.row for warning in result.warnings] == [3]
    assert by_label(result)[("direct", "", "")].feedback_conversion_rate == Decimal("0.025")


def test_total_row_then_notes(tmp_path):
    lines = [
        WEEK_TITLE, HEADER, "搜索,1408,54,32,6.11%", "合计,4169,123,57,4.32%", "", "注：访客数按天去重。",
        "数据更新时间：2026-11-09",
    ]
    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    total = by_label(result)[("total", "", "")]
    assert total.visitors == 4169
    assert len(result.figures) == 2


def test_data_below_total_row_warns(tmp_path):
    lines = [WEEK_TITLE, HEADER, "合计,4169,123,57,4.32%", "搜索,1408,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines))

    assert result.errors == []
    assert len(result.figures) == 1
    assert len(result.warnings) == 1
    assert result.warnings[0].row == 4


def test_notes_without_total_row(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,1408,54,32,6.11%", "注：数据仅供参考"]

    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    assert len(result.figures) == 1


def test_empty_file_rejected(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    result = parse(path)

    assert len(result.errors) == 1
    assert "empty" in result.errors[0].message
    assert result.errors[0].file == "report.csv"


def test_blank_lines_only_rejected(tmp_path):
    result = parse(write_report(tmp_path, [",,,", "", ",,"]))

    assert len(result.errors) == 1
    assert "no data" in result.errors[0].message


def test_random_bytes_rejected(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(random.Random(20261103).randbytes(4096))

    result = parse(path)

    assert len(result.errors) == 1
    assert "UTF-8" in result.errors[0].message


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_broken_workbook_rejected(tmp_path, magic):
    path = tmp_path / "broken.xls"
    path.write_bytes(magic + random.Random(7).randbytes(2048))

    result = parse(path)

    assert len(result.errors) == 1
    assert "Excel" in result.errors[0].message


def test_missing_file_rejected(tmp_path):
    result = parse(tmp_path / "gone.csv")

    assert len(result.errors) == 1
    assert "opened" in result.errors[0].message


def test_not_natural_period_rejected(tmp_path):
    lines = ['"流量来源,时间周期2026-11-03~2026-11-09"', HEADER, "搜索,1408,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines))

    assert result.figures == []
    assert len(result.errors) == 1
    assert "natural" in result.errors[0].message
    assert result.errors[0].params["start"] == "2026-11-03"


def test_not_natural_period_with_granularity(tmp_path):
    lines = ['"流量来源,时间周期2026-11-03~2026-11-09"', HEADER, "搜索,1408,54,32,6.11%"]
    path = write_report(tmp_path, lines)

    as_month = parse(path, granularity="month")
    as_week = parse(path, granularity="week")

    assert as_month.errors == []
    assert as_month.figures[0].period_start == datetime.date(2026, 11, 1)
    assert len(as_week.errors) == 1
    assert "does not fit" in as_week.errors[0].message


def test_missing_period_rejected(tmp_path):
    result = parse(write_report(tmp_path, [HEADER, "搜索,1408,54,32,6.11%"]))

    assert len(result.errors) == 1
    assert "No period" in result.errors[0].message


def test_options_override_preamble(tmp_path):
    lines = [WEEK_TITLE, "终端：无线", "剔除中国大陆流量：否", HEADER, "搜索,1408,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines), terminal="pc", region="exclude_cn")

    assert result.errors == []
    assert (result.figures[0].terminal, result.figures[0].region) == ("pc", "exclude_cn")
    assert len(result.warnings) == 2


def test_unknown_preamble_terminal_rejected(tmp_path):
    lines = [WEEK_TITLE, "终端：平板", HEADER, "搜索,1408,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert result.errors[0].row == 2


def test_unknown_option_rejected(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,1408,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines), terminal="tablet")

    assert len(result.errors) == 1
    assert result.errors[0].value == "tablet"


def test_invalid_count_names_cell(tmp_path):
    lines = [WEEK_TITLE, HEADER, "搜索,many,54,32,6.11%"]

    result = parse(write_report(tmp_path, lines))

    error = result.errors[0]
    assert (error.row, error.column, error.value) == (3, "店铺访问人数", "many")
    assert "Expected a number" in error.message
    with translation.override("en"):
        assert "row 3" in error.render()
    with translation.override("zh-hans"):
        assert "第 3 行" in error.render()


TREND_HEADER = "日期,终端,流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数"


def test_trend_date_outside_period(tmp_path):
    lines = ['"流量趋势,时间周期2026-10-01~2026-10-31"', TREND_HEADER, "2026-10-31,PC,搜索,140,3,0", "2026/11/1,PC,搜索,150,1,0"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert result.errors[0].row == 4
    assert result.errors[0].value == "2026/11/1"


def test_trend_week_dates_must_be_mondays(tmp_path):
    lines = [TREND_HEADER, "2026-11-02,无线,搜索,900,30,10", "2026-11-10,无线,搜索,880,20,10"]

    result = parse(write_report(tmp_path, lines), granularity="week")

    assert len(result.errors) == 1
    assert result.errors[0].row == 3


def test_trend_week_rows(tmp_path):
    lines = [TREND_HEADER, "2026-11-02,WS,搜索,900,30,10", "20261109,APP,搜索,880,20,10"]

    result = parse(write_report(tmp_path, lines), granularity="week")

    assert result.problems == []
    period_starts = [figure.period_start for figure in result.figures]
    assert period_starts == [datetime.date(2026, 11, 2), datetime.date(2026, 11, 9)]
    assert {figure.terminal for figure in result.figures} == {"wireless"}
    assert {figure.granularity for figure in result.figures} == {"week"}


def test_trend_without_source_is_total(tmp_path):
    lines = ["日期,访客数,询盘人数,TM咨询人数", "46327,300,9,4", "46328,310,--,4", "合计,610,9,8"]

    result = parse(write_report(tmp_path, lines))

    assert result.problems == []
    assert [figure.source for figure in result.figures] == ["total", "total"]
    assert result.figures[0].period_start == datetime.date(2026, 11, 1)
    assert result.figures[1].inquiry_customers is None


def test_trend_unknown_terminal_rejected(tmp_path):
    lines = [TREND_HEADER, "2026-11-02,平板,搜索,900,30,10"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert result.errors[0].column == "终端"


DETAILS_HEADER = "访客ID,访问日期,国家/地区,终端,流量渠道,浏览量,停留时长(秒),搜索词,是否询盘,是否TM咨询"


def test_visitor_details_small(tmp_path):
    lines = [
        DETAILS_HEADER,
        "a,2026-11-01,CN,PC,文字搜索,3,60,led,是,否",
        "a,2026-11-01,CN,PC,图片搜索,2,30,,否,是",
        "b,2026-11-01,HK,无线,文字搜索,1,10,,否,否",
        "c,2026-11-03,TW,无线,直播会场,4,20,,是,否",
    ]
    result = parse(write_report(tmp_path, lines))

    assert result.errors == []
    assert [warning.value for warning in result.warnings] == ["直播会场"]
    figures = {
        (f.period_start.day, f.terminal, f.region, f.source, f.sub_source, f.raw_label): f for f in result.figures
    }
    search_all = figures[(1, "all", "all", "search", "", "")]
    assert (search_all.visitors, search_all.inquiry_customers, search_all.tm_customers) == (2, 1, 1)
    assert search_all.extra == {"浏览量": 6, "停留时长(秒)": 100}
    assert figures[(1, "all", "exclude_cn", "search", "", "")].visitors == 1
    assert figures[(1, "pc", "all", "search", "text_search", "")].visitors == 1
    assert figures[(1, "pc", "exclude_cn", "total", "", "")].visitors == 0
    assert figures[(2, "all", "all", "total", "", "")].visitors == 0
    assert figures[(3, "wireless", "exclude_cn", "other", "", "直播会场")].inquiry_customers == 1
    assert figures[(3, "wireless", "exclude_cn", "other", "", "")].visitors == 0
    assert figures[(3, "wireless", "all", "total", "", "")].visitors == 1
    # 3 days x 3 terminals x 2 regions x (11 categories + total + 2 sub-sources + 1 unknown label)
    assert len(result.figures) == 3 * 3 * 2 * 15


def test_visitor_details_minimal_columns(tmp_path):
    lines = ["访客ID,访问日期,流量渠道", "a,2026-11-01,RFQ", "a,2026-11-01,RFQ", "b,2026-11-01,店内"]

    result = parse(write_report(tmp_path, lines), terminal="wireless")

    assert result.problems == []
    assert {(figure.terminal, figure.region) for figure in result.figures} == {("wireless", "all")}
    figures = by_label(result)
    assert figures[("self_marketing", "rfq", "")].visitors == 1
    assert figures[("total", "", "")].visitors == 2
    assert figures[("total", "", "")].inquiry_customers is None
    assert figures[("total", "", "")].feedback_conversion_rate is None


def test_visitor_details_bad_flag_rejected(tmp_path):
    lines = [DETAILS_HEADER, "a,2026-11-01,CN,PC,文字搜索,3,60,led,maybe,否"]

    result = parse(write_report(tmp_path, lines))

    assert len(result.errors) == 1
    assert (result.errors[0].row, result.errors[0].column) == (2, "是否询盘")


def test_progress_reported_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(ProgressReporter, "MIN_SECONDS", 0)
    lines = [WEEK_TITLE, HEADER] + [f"未知渠道{index},10,1,0," for index in range(2500)]
    calls = []

    parse_file(write_report(tmp_path, lines), "report.csv", ImportOptions(), progress=lambda *args: calls.append(args))

    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_progress_reported_at_most_twice_a_second():
    seconds = iter([0.0, 0.2, 0.4, 0.6, 0.7, 1.2])
    calls = []
    reporter = ProgressReporter(lambda *args: calls.append(args), 7000, clock=lambda: next(seconds))

    for _row in range(6500):
        reporter.row_read()
    reporter.finish()

    assert calls == [(1000, 7000), (4000, 7000), (6000, 7000), (7000, 7000)]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.text(max_size=8), max_size=6), max_size=8), st.sampled_from([",", "\t", ";"]))
def test_any_text_table_never_crashes(tmp_path, rows, delimiter):
    lines = [WEEK_TITLE, HEADER.replace(",", delimiter)] + [delimiter.join(cells) for cells in rows]
    path = tmp_path / "fuzz.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    result = parse(path)

    assert not any("internal error" in problem.message for problem in result.problems)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=512))
def test_any_bytes_never_crash(tmp_path, data):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)

    result = parse(path)

    assert not any("internal error" in problem.message for problem in result.problems)
