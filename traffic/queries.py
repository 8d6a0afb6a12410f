"""Read-only queries over a store's current traffic figures."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from traffic.models import TrafficFigure
from traffic.taxonomy import CATEGORIES, TOTAL, source_label

METRIC_FIELDS = ("visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate")


def current_figures(store, granularity: str, terminal: str, region: str):
    return TrafficFigure.objects.filter(
        store=store, granularity=granularity, terminal=terminal, region=region, is_current=True
    )


def available_periods(store, granularity: str, terminal: str, region: str) -> list[datetime.date]:
    """Return the period starts that have figures, newest first."""
    return list(
        current_figures(store, granularity, terminal, region)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .distinct()
    )


@dataclass
class SourceRow:
    source: str
    sub_source: str
    raw_label: str
    label: str
    visitors: int | None = None
    inquiry_customers: int | None = None
    tm_customers: int | None = None
    feedback_conversion_rate: Decimal | None = None
    has_data: bool = False
    children: list["SourceRow"] = field(default_factory=list)


@dataclass
class SourceTable:
    categories: list[SourceRow]
    total: SourceRow | None


def source_table(store, granularity: str, period_start: datetime.date, terminal: str, region: str) -> SourceTable:
    """Build the 11 categories in taxonomy order, each with its sub-sources and unmapped labels."""
    figures = current_figures(store, granularity, terminal, region).filter(period_start=period_start)
    by_key = {
        (row["source"], row["sub_source"], row["raw_label"]): row
        for row in figures.values("source", "sub_source", "raw_label", *METRIC_FIELDS)
    }

    categories = []
    for category in CATEGORIES:
        row = _source_row(by_key, category.code, "", "", category.label)
        for sub in category.sub_sources:
            child = _source_row(by_key, category.code, sub.code, "", sub.label)
            if child.has_data:
                row.children.append(child)
        for source, sub_source, raw_label in sorted(by_key):
            if source == category.code and raw_label:
                row.children.append(_source_row(by_key, source, sub_source, raw_label, raw_label))
        categories.append(row)

    total = _source_row(by_key, TOTAL, "", "", source_label(TOTAL))
    return SourceTable(categories=categories, total=total if total.has_data else None)


def _source_row(by_key, source, sub_source, raw_label, label) -> SourceRow:
    row = SourceRow(source=source, sub_source=sub_source, raw_label=raw_label, label=label)
    values = by_key.get((source, sub_source, raw_label))
    if values:
        row.has_data = True
        for name in METRIC_FIELDS:
            setattr(row, name, values[name])
    return row


def visitors_trend(store, granularity: str, terminal: str, region: str, start, end) -> dict:
    """Return chart data: period starts and, per category, visitors (None where missing)."""
    rows = (
        current_figures(store, granularity, terminal, region)
        .filter(period_start__gte=start, period_start__lte=end, sub_source="", raw_label="")
        .exclude(source=TOTAL)
        .values_list("period_start", "source", "visitors")
    )
    periods = sorted({period for period, _, _ in rows})
    index = {period: position for position, period in enumerate(periods)}
    series = {category.code: [None] * len(periods) for category in CATEGORIES}
    for period, source, visitors in rows:
        if source in series:
            series[source][index[period]] = visitors

    return {
        "labels": [period.isoformat() for period in periods],
        "datasets": [
            {"source": category.code, "label": category.label, "data": series[category.code]}
            for category in CATEGORIES
        ],
    }


def api_rows(store, granularity: str, terminal: str, region: str, start=None, end=None) -> list[dict]:
    figures = current_figures(store, granularity, terminal, region)
    if start:
        figures = figures.filter(period_start__gte=start)
    if end:
        figures = figures.filter(period_start__lte=end)

    rows = []
    for figure in figures.order_by("period_start", "source", "sub_source", "raw_label").values(
        "period_start", "source", "sub_source", "raw_label", *METRIC_FIELDS
    ):
        rate = figure["feedback_conversion_rate"]
        rows.append(
            {
                "period_start": figure["period_start"].isoformat(),
                "source": figure["source"],
                "sub_source": figure["sub_source"] or None,
                "raw_label": figure["raw_label"] or None,
                "visitors": figure["visitors"],
                "inquiry_customers": figure["inquiry_customers"],
                "tm_customers": figure["tm_customers"],
                "feedback_conversion_rate": float(rate) if rate is not None else None,
            }
        )
    return rows
