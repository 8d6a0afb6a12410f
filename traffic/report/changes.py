"""What changed: sources whose latest period left the range of the periods before it.

The rule: a source's visitors, inquiry customers or feedback conversion rate in the latest
period with data is below the minimum or above the maximum of the same figure in the eight
periods of the same granularity before it. At least four of those eight need a value.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from traffic.dimensions import Granularity, period_label
from traffic.report.filters import CHANGE_HISTORY_PERIODS
from traffic.report.figures import RATE, Figures
from traffic.templatetags.traffic_format import count, percent

MIN_HISTORY = 4
WATCHED_METRICS = ("visitors", "inquiry_customers", RATE)
MAX_CHANGES = 6


@dataclass(frozen=True)
class Change:
    source_key: str
    label: str
    metric: str
    value: int | Decimal
    low: int | Decimal
    high: int | Decimal
    direction: str  # "up" or "down"
    sentence: str
    # How far outside the range, relative to the range's top; ranks the list.
    excess: float


def detect_changes(
    per_period: dict[str, dict[datetime.date, Figures]],
    labels: dict[str, str],
    granularity: str,
    trend_periods: list[datetime.date],
    latest: datetime.date | None,
) -> list[Change]:
    """Return the sources and metrics that broke their range in the latest period, largest first."""
    if latest is None or latest not in trend_periods:
        return []
    position = trend_periods.index(latest)
    history_periods = trend_periods[max(0, position - CHANGE_HISTORY_PERIODS):position]

    changes = []
    for key, periods in per_period.items():
        latest_figures = periods.get(latest)
        if latest_figures is None:
            continue
        for metric in WATCHED_METRICS:
            value = latest_figures.value(metric)
            history = [periods[start].value(metric) for start in history_periods if start in periods]
            history = [item for item in history if item is not None]
            if value is None or len(history) < MIN_HISTORY:
                continue

            low, high = min(history), max(history)
            if low <= value <= high:
                continue
            direction = "up" if value > high else "down"
            edge = high if direction == "up" else low
            excess = abs(float(value) - float(edge)) / max(float(high), 1e-9)
            sentence = change_sentence(labels[key], metric, value, low, high, direction, granularity, latest, len(history))
            changes.append(Change(key, labels[key], metric, value, low, high, direction, sentence, excess))

    changes.sort(key=lambda change: change.excess, reverse=True)
    return changes[:MAX_CHANGES]


def metric_phrase(metric: str) -> str:
    phrases = {
        "visitors": _("visitors"),
        "inquiry_customers": _("inquiry customers"),
        RATE: _("feedback conversion rate"),
    }
    return phrases[metric]


def format_value(metric: str, value) -> str:
    return percent(value) if metric == RATE else count(value)


def change_sentence(label, metric, value, low, high, direction, granularity, period, history_count) -> str:
    """Return one sentence in the active language, for example "Search: visitors were 512 on …"."""
    params = {
        "source": label,
        "metric": metric_phrase(metric),
        "value": format_value(metric, value),
        "period": period_label(granularity, period),
        "count": history_count,
        "low": format_value(metric, low),
        "high": format_value(metric, high),
    }
    templates = {
        (Granularity.DAY, "up"): _(
            "%(source)s: %(metric)s reached %(value)s on %(period)s, above the range of the previous %(count)d days (%(low)s to %(high)s)."
        ),
        (Granularity.DAY, "down"): _(
            "%(source)s: %(metric)s fell to %(value)s on %(period)s, below the range of the previous %(count)d days (%(low)s to %(high)s)."
        ),
        (Granularity.WEEK, "up"): _(
            "%(source)s: %(metric)s reached %(value)s in the week %(period)s, above the range of the previous %(count)d weeks (%(low)s to %(high)s)."
        ),
        (Granularity.WEEK, "down"): _(
            "%(source)s: %(metric)s fell to %(value)s in the week %(period)s, below the range of the previous %(count)d weeks (%(low)s to %(high)s)."
        ),
        (Granularity.MONTH, "up"): _(
            "%(source)s: %(metric)s reached %(value)s in %(period)s, above the range of the previous %(count)d months (%(low)s to %(high)s)."
        ),
        (Granularity.MONTH, "down"): _(
            "%(source)s: %(metric)s fell to %(value)s in %(period)s, below the range of the previous %(count)d months (%(low)s to %(high)s)."
        ),
    }
    return templates[(granularity, direction)] % params
