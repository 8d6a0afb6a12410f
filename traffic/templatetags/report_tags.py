"""Template helpers of the traffic page: derived-figure marks, changes and sort links."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _

from traffic.report.figures import DERIVED_DAYS, DERIVED_RANGE, DERIVED_TERMINALS, PARTIAL
from traffic.templatetags.traffic_format import MISSING

register = template.Library()

# One symbol per reason, the same in both languages and in exports.
REASON_SYMBOLS = {DERIVED_RANGE: "Σ", DERIVED_DAYS: "†", DERIVED_TERMINALS: "‡", PARTIAL: "*"}
REASON_ORDER = (DERIVED_RANGE, DERIVED_DAYS, DERIVED_TERMINALS, PARTIAL)

REASON_TEXTS = {
    DERIVED_RANGE: _(
        "Sum over the periods of the range. A buyer who came in two periods counts twice, "
        "because visitors are de-duplicated per day only and customers are counted per period."
    ),
    DERIVED_DAYS: _(
        "No figure was uploaded for this week or month, so it is the sum of its days. "
        "A buyer who came on two days counts twice."
    ),
    DERIVED_TERMINALS: _(
        "No All-terminals figure was uploaded for this period, so it is PC plus Wireless. "
        "A buyer who used both counts twice, which the platform's All does not."
    ),
    PARTIAL: _("Some of the summed periods have no figure for this source; the sum covers only those that have one."),
}


def reason_symbols(reasons) -> str:
    return "".join(REASON_SYMBOLS[reason] for reason in REASON_ORDER if reason in reasons)


@register.filter
def marks(reasons):
    """Return [(symbol, explanation)] for the reasons of a derived figure, in a fixed order."""
    return [(REASON_SYMBOLS[reason], REASON_TEXTS[reason]) for reason in REASON_ORDER if reason in reasons]


@register.filter
def change(delta):
    """Format a change: +12.3% for counts, +0.45 pp for the rate, — when there is none."""
    if delta is None:
        return MISSING
    value = Decimal(delta.value) * 100
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    unit = " pp" if delta.is_points else "%"
    return f"{sign}{abs(value):.1f}{unit}" if not delta.is_points else f"{sign}{abs(value):.2f}{unit}"


@register.filter
def change_class(delta):
    if delta is None or delta.value == 0:
        return "flat"
    return "up" if delta.value > 0 else "down"


@register.simple_tag
def sort_query(filters, column):
    """Return the query string that sorts by column: descending first, ascending on the second click.

    The column "" returns to the taxonomy order.
    """
    if not column:
        return filters.query_string(sort="")
    sort = column if filters.sort == f"-{column}" else f"-{column}"
    return filters.query_string(sort=sort)


@register.simple_tag
def sort_state(filters, column):
    """Return the aria-sort value of a column header."""
    if filters.sort == column:
        return "ascending"
    if filters.sort == f"-{column}":
        return "descending"
    return "none"


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
