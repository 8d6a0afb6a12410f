"""Order statistics and the Wilson score interval used by peer baselines."""

import math
from collections.abc import Sequence

# The two-sided 95% quantile of the standard normal distribution.
Z_95 = 1.959963984540054


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Return the percentile by linear interpolation between closest ranks.

    This is PostgreSQL's percentile_cont and NumPy's default "linear" method:
    the position is fraction * (n - 1) in the sorted values, and a position
    between two ranks interpolates between their values. Returns None for no values.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    count = len(sorted_values)
    if count == 0:
        return None

    position = fraction * (count - 1)
    lower = math.floor(position)
    upper = min(lower + 1, count - 1)
    weight = position - lower
    return sorted_values[lower] + weight * (sorted_values[upper] - sorted_values[lower])


def median(sorted_values: Sequence[float]) -> float | None:
    return percentile_cont(sorted_values, 0.5)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Return the Wilson score interval (low, high) for a proportion, or None without trials.

    Unlike the normal approximation it stays inside [0, 1] and behaves at 0 and
    at small counts, which is where many sources of a small store are.
    """
    if trials <= 0:
        return None
    if successes < 0 or successes > trials:
        raise ValueError(f"successes must be between 0 and {trials}, not {successes}")

    proportion = successes / trials
    z_squared = z * z
    denominator = 1 + z_squared / trials
    centre = (proportion + z_squared / (2 * trials)) / denominator
    half_width = z * math.sqrt(proportion * (1 - proportion) / trials + z_squared / (4 * trials * trials)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def top_group_size(cohort_size: int, rule: str, value: int) -> int:
    """Return how many stores form the top group: the top value% rounded up, or the top value stores."""
    if rule == "percent":
        return min(cohort_size, math.ceil(cohort_size * value / 100))
    return min(cohort_size, value)
