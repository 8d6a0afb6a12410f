"""Percentiles (linear interpolation, as PostgreSQL percentile_cont), medians, Wilson intervals, top groups."""

import math

import pytest

from benchmarks.stats import median, percentile_cont, top_group_size, wilson_interval


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        # n=4: position 0.25*3 = 0.75, so 1 + 0.75*(2-1) = 1.75.
        ([1, 2, 3, 4], 0.25, 1.75),
        ([1, 2, 3, 4], 0.5, 2.5),
        # position 0.75*3 = 2.25: 3 + 0.25*(4-3).
        ([1, 2, 3, 4], 0.75, 3.25),
        ([1, 2, 3, 4], 0.0, 1),
        ([1, 2, 3, 4], 1.0, 4),
        # n=5: positions 1, 2 and 3 fall on ranks exactly.
        ([10, 20, 30, 40, 50], 0.25, 20),
        ([10, 20, 30, 40, 50], 0.5, 30),
        ([10, 20, 30, 40, 50], 0.75, 40),
        # position 0.1*4 = 0.4: 10 + 0.4*10.
        ([10, 20, 30, 40, 50], 0.1, 14),
        ([7], 0.25, 7),
    ],
)
def test_percentile_cont_by_hand(values, fraction, expected):
    assert percentile_cont(values, fraction) == pytest.approx(expected)


def test_percentile_of_nothing_is_none():
    assert percentile_cont([], 0.5) is None


def test_percentile_rejects_fraction_outside_unit():
    with pytest.raises(ValueError):
        percentile_cont([1, 2], 1.5)


def test_median_odd_and_even():
    assert median([0.01, 0.02, 0.03]) == pytest.approx(0.02)
    assert median([0.01, 0.02, 0.03, 0.05]) == pytest.approx(0.025)


def test_wilson_interval_by_hand():
    # 40 of 1,000: p = 0.04, z = 1.96 (two-sided 95%).
    z = 1.959963984540054
    n, p = 1000, 0.04
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator

    low, high = wilson_interval(40, 1000)

    assert low == pytest.approx(centre - half)
    assert high == pytest.approx(centre + half)
    assert low == pytest.approx(0.029511, abs=1e-5)
    assert high == pytest.approx(0.054010, abs=1e-5)


def test_wilson_interval_at_zero_successes():
    low, high = wilson_interval(0, 50)

    assert low == pytest.approx(0, abs=1e-12)
    # z² / (n + z²) for x = 0.
    assert high == pytest.approx(3.8415 / (50 + 3.8415), abs=1e-4)


def test_wilson_interval_without_trials():
    assert wilson_interval(0, 0) is None


def test_wilson_interval_rejects_more_successes_than_trials():
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


@pytest.mark.parametrize(
    ("cohort", "rule", "value", "expected"),
    [(62, "percent", 10, 7), (50, "percent", 10, 5), (49, "percent", 10, 5), (40, "percent", 10, 4), (30, "count", 5, 5), (3, "count", 5, 3)],
)
def test_top_group_size(cohort, rule, value, expected):
    assert top_group_size(cohort, rule, value) == expected
