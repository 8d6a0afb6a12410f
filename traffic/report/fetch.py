"""The traffic page's figure queries: coverage, sums over the windows, and the trend.

The SQL is written out here rather than built with the ORM. Each query is a UNION ALL of
branches with equality or IN lists on the leading columns of an index and one period_start
range, so PostgreSQL reads only the index entries of the requested periods. The ORM form of
the sums (24 filtered aggregates over one OR of ranges) cost about 20 ms to compile per
request, and PostgreSQL ran it by reading every figure of the store.
"""

import datetime
from dataclasses import dataclass
from decimal import Context, Decimal

from django.db import connection

from traffic.coverage_index import TABLE as COVERED_TABLE, uses_covered_periods
from traffic.models import TrafficFigure
from traffic.report.figures import METRICS, RATE, Coverage, Figures, Window, combine
from traffic.report.periods import contiguous_runs
from traffic.taxonomy import OTHER

TABLE = TrafficFigure._meta.db_table

# (granularity, terminal, first period start, last period start)
Run = tuple[str, str, datetime.date, datetime.date]

# SQLite returns the rate as a float; turn it into a Decimal of the column's scale, as PostgreSQL returns it.
SQLITE_DECIMALS = Context(prec=15)
RATE_QUANTUM = Decimal(1).scaleb(-TrafficFigure._meta.get_field(RATE).decimal_places)


@dataclass(frozen=True)
class CoverageBox:
    """Slices whose covered periods one query branch reads: every combination of the three tuples, over one span."""

    granularities: tuple[str, ...]
    terminals: tuple[str, ...]
    regions: tuple[str, ...]
    first_day: datetime.date
    last_day: datetime.date


def coverage_for(store, boxes: list[CoverageBox]) -> Coverage:
    """Return which periods have figures in the given boxes, as (granularity, terminal, region, period_start).

    On PostgreSQL this reads the covered-periods table (traffic.coverage_index), one row per
    period. SQLite has no such table, so there it reads the distinct periods of the current
    figures. One branch per box: PostgreSQL runs each as one index-only scan that steps through
    the IN lists, so a box of 18 slices costs about as much to plan as a box of one.
    """
    if uses_covered_periods():
        select = f"SELECT granularity, terminal, region, period_start FROM {COVERED_TABLE}"
        common_conditions = ["store_id = %s"]
    else:
        select = f"SELECT DISTINCT granularity, terminal, region, period_start FROM {TABLE}"
        common_conditions = ["store_id = %s", "is_current"]

    branches, params = [], []
    for box in boxes:
        conditions = list(common_conditions)
        params.append(store.pk)
        for column, values in (("granularity", box.granularities), ("terminal", box.terminals), ("region", box.regions)):
            conditions.append(_equals_any(column, values))
            params += values
        conditions.append("period_start BETWEEN %s AND %s")
        params += [_date(box.first_day), _date(box.last_day)]
        branches.append(f"{select} WHERE {' AND '.join(conditions)}")
    if not branches:
        return set()

    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return {(granularity, terminal, region, _to_date(start)) for granularity, terminal, region, start in rows}
    # PostgreSQL returns each row as the tuple a Coverage holds, so the set is built in C.
    return set(rows)


def _equals_any(column: str, values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return f"{column} = %s"
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def merge_intervals(intervals):
    merged = []
    for first_day, last_day in sorted(intervals):
        if merged and first_day <= merged[-1][1] + datetime.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last_day))
        else:
            merged.append((first_day, last_day))
    return merged


def window_runs(window: Window) -> list[Run]:
    """Return the stored rows a window adds up, as runs of consecutive periods of one granularity and terminal.

    A 90-day range of uploaded days is one run, not 90 periods.
    """
    by_slice: dict[tuple[str, str], list[datetime.date]] = {}
    for plan in window.plans:
        for granularity, terminal, start in plan.selections:
            by_slice.setdefault((granularity, terminal), []).append(start)

    runs = []
    for (granularity, terminal), starts in sorted(by_slice.items()):
        for first, last in contiguous_runs(granularity, starts):
            runs.append((granularity, terminal, first, last))
    return runs


def _run_branch(select: str, store, region: str, run: Run, params: list) -> str:
    granularity, terminal, first, last = run
    params += [store.pk, region, granularity, terminal, _date(first), _date(last)]
    return (
        f"SELECT {select} FROM {TABLE} WHERE store_id = %s AND is_current AND region = %s "
        "AND granularity = %s AND terminal = %s AND period_start BETWEEN %s AND %s"
    )


def aggregate_windows(store, region: str, windows: dict[str, Window]) -> dict[tuple[str, str, str], dict[str, Figures]]:
    """Sum every source over each window in one query.

    Returns {(source, sub_source, raw_label): {window name: Figures}}. The windows may
    overlap (a range longer than a year overlaps the year before it), so each branch is
    tagged with its window's position and a row can count in several windows.
    """
    names = list(windows)
    queried = []
    branches, params = [], []
    for position, name in enumerate(names):
        select = f"{position} AS window_position, source, sub_source, raw_label, {', '.join(METRICS)}"
        runs = window_runs(windows[name])
        if runs:
            queried.append(name)
        for run in runs:
            branches.append(_run_branch(select, store, region, run, params))
    if not branches:
        return {}

    aggregates = []
    for metric in METRICS:
        # One stored rate is shown as the file gave it; combine() recomputes a summed rate from the counts.
        total = "MAX" if metric == RATE else "SUM"
        aggregates.append(f"COUNT({metric}), {total}({metric})")
    sql = (
        f"SELECT window_position, source, sub_source, raw_label, {', '.join(aggregates)} "
        f"FROM ({' UNION ALL '.join(branches)}) AS parts GROUP BY window_position, source, sub_source, raw_label"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    # Window.units and Window.reasons go through every plan, so take them once per window.
    units = [windows[name].units for name in names]
    reasons = [windows[name].reasons for name in names]
    result: dict[tuple[str, str, str], dict[str, Figures]] = {}
    for position, source, sub_source, raw_label, *values in rows:
        counts = values[0::2]
        sums = values[1::2]
        sums[-1] = _decimal(sums[-1])
        # A source missing from a queried window gets empty Figures there, not None.
        figures_by_window = result.setdefault((source, sub_source, raw_label), {name: Figures() for name in queried})
        figures_by_window[names[position]] = combine(sums, counts, units[position], reasons[position])
    return result


def trend_rows(store, region: str, window: Window, sub_sources: list[tuple[str, str]]):
    """Return the stored rows of the trend: categories, the store total, the chosen sub-sources,
    and the labels not yet mapped under Others, which the trend adds to Others.

    Each row is (granularity, period_start, source, sub_source, raw_label, visitors,
    inquiry_customers, tm_customers, feedback_conversion_rate).
    """
    runs = window_runs(window)
    if not runs:
        return []

    keys, key_params = ["sub_source = ''"], []
    for source, sub_source in sub_sources:
        keys.append("(source = %s AND sub_source = %s)")
        key_params += [source, sub_source]
    branches, params = [], []
    for run in runs:
        select = f"granularity, period_start, source, sub_source, raw_label, {', '.join(METRICS)}"
        branch = _run_branch(select, store, region, run, params)
        branches.append(
            f"{branch} AND (raw_label = '' AND ({' OR '.join(keys)}) OR source = %s AND sub_source = '' AND raw_label <> '')"
        )
        params += key_params + [OTHER]

    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        rows = cursor.fetchall()
    if connection.vendor != "sqlite":
        # PostgreSQL already returns dates and Decimals.
        return rows
    return [
        (granularity, _to_date(start), source, sub_source, raw_label, visitors, inquiry, tm, _decimal(rate))
        for granularity, start, source, sub_source, raw_label, visitors, inquiry, tm, rate in rows
    ]


def _date(day: datetime.date):
    return connection.ops.adapt_datefield_value(day)


def _to_date(value) -> datetime.date:
    # SQLite returns dates as ISO text.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return SQLITE_DECIMALS.create_decimal_from_float(value).quantize(RATE_QUANTUM)
