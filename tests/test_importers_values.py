"""Cell parsers: counts, rates, dates and periods, with property tests for the number and date forms."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traffic.importers.values import InvalidValue, find_period, parse_count, parse_date, parse_rate

FULL_WIDTH_DIGITS = str.maketrans("0123456789,", "０１２３４５６７８９，")


@pytest.mark.parametrize("cell", ["", "-", "--", "—", "－－", None, "  "])
def test_count_missing_is_none(cell):
    assert parse_count(cell) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,408", 1408),
        ("1.2万", 12000),
        ("１４０８", 1408),
        ("１，４０８", 1408),
        (205.0, 205),
        (7, 7),
        ("205.0", 205),
        ("-3", -3),
        ("0.5亿", 50_000_000),
        ("1.23456万", 12346),
    ],
)
def test_count_forms(cell, expected):
    assert parse_count(cell) == expected


@pytest.mark.parametrize("cell", ["12.5", "abc", "1,2", "1,2345", "6.11%", 2.5, True, datetime.date(2026, 1, 1)])
def test_count_rejects_non_counts(cell):
    with pytest.raises(InvalidValue):
        parse_count(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("6.11%", Decimal("0.0611")),
        ("０.５％", Decimal("0.005")),
        (0.0611, Decimal("0.0611")),
        ("0.0611", Decimal("0.0611")),
        ("100%", Decimal("1")),
        ("--", None),
        ("-%", None),
    ],
)
def test_rate_forms(cell, expected):
    assert parse_rate(cell) == expected


@pytest.mark.parametrize("cell", ["abc%", "six", "1e999999%"])
def test_rate_rejects_text(cell):
    with pytest.raises(InvalidValue):
        parse_rate(cell)


@pytest.mark.parametrize(
    "cell",
    [
        "2026-11-03", "2026/11/3", "20261103", "2026年11月3日", "2026.11.03", "2026-11-03 00:00:00",
        46329, 46329.0, "46329", datetime.datetime(2026, 11, 3, 8, 30), datetime.date(2026, 11, 3),
    ],
)
def test_date_forms(cell):
    assert parse_date(cell) == datetime.date(2026, 11, 3)


@pytest.mark.parametrize("cell", ["2026-02-30", "yesterday", "", "2026-13-01", 0, -5, True])
def test_date_rejects_invalid(cell):
    with pytest.raises(InvalidValue):
        parse_date(cell)


def test_period_in_titles():
    week = find_period("流量来源,时间周期2026-11-02~2026-11-08")
    day = find_period("Traffic Source, Period 2026-11-03~2026-11-03")
    full_width = find_period("时间周期：２０２６－１０－０１～２０２６－１０－３１")

    assert week == (datetime.date(2026, 11, 2), datetime.date(2026, 11, 8))
    assert day == (datetime.date(2026, 11, 3), datetime.date(2026, 11, 3))
    assert full_width == (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    assert find_period("终端：无线") is None


@given(st.integers(min_value=0, max_value=10**12))
def test_count_round_trips_written_forms(number):
    assert parse_count(str(number)) == number
    assert parse_count(f"{number:,}") == number
    assert parse_count(f"{number:,}".translate(FULL_WIDTH_DIGITS)) == number
    assert parse_count(float(number)) == number


@given(st.integers(min_value=0, max_value=10**8))
def test_count_wan_unit(tenths):
    text = f"{Decimal(tenths) / 10}万"

    assert parse_count(text) == tenths * 1000


@given(st.decimals(min_value=0, max_value=200, places=2))
def test_rate_percent_text(percent):
    assert parse_rate(f"{percent}%") == percent / 100


@given(st.text(max_size=30))
def test_parsers_raise_only_invalid_value(text):
    for parse in (parse_count, parse_rate, parse_date):
        try:
            parse(text)
        except InvalidValue:
            pass


@given(st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(9999, 12, 31)))
def test_date_round_trips_written_forms(day):
    serial = (day - datetime.date(1899, 12, 30)).days

    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.year}/{day.month}/{day.day}") == day
    assert parse_date(day.strftime("%Y%m%d")) == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == day
    assert parse_date(serial) == day
    assert parse_date(float(serial)) == day
