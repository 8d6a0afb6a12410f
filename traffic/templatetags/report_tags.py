"""Template helpers of the traffic page: derived-figure marks, changes, sort links and the cell grids.

The grids (source-table cells, chart fallback tables, coverage strips) run to thousands of
cells for a range of days. Template loops, filters and includes cost about 0.1 ms per cell,
so these tags render each row or table in one pass.
"""

from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _

from traffic.report.figures import DERIVED_DAYS, DERIVED_RANGE, DERIVED_TERMINALS, PARTIAL, RATE
from traffic.templatetags.traffic_format import MISSING, count, percent

register = template.Library()

CENT = Decimal("0.01")

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
    if value > 0:
        sign = "+"
    elif value < 0:
        sign = "−"
    else:
        sign = "±"

    if delta.is_points:
        return f"{sign}{abs(value):.2f} pp"
    return f"{sign}{abs(value):.1f}%"


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


def _marks_html(reasons) -> str:
    return "".join(
        f'<sup class="mark" title="{escape(str(text))}">{symbol}</sup>' for symbol, text in marks(reasons)
    )


@register.simple_tag
def source_cells(row):
    """Render the metric cells of one source-table row: value, marks, changes, and the share after visitors."""
    previous_title = escape(gettext("Change on previous period"))
    previous_name = escape(gettext("PoP"))
    year_title = escape(gettext("Change on a year before"))
    year_name = escape(gettext("YoY"))

    parts = []
    for metric, value, notes, previous, year in row.cells():
        formatted = percent(value) if metric == RATE else _count(value)
        marks_html = _marks_html(notes)
        parts.append(
            f'<td class="num" data-metric="{metric}"><span class="value">{formatted}</span>{marks_html}\n'
            f'  <span class="deltas"><span class="delta {change_class(previous)}" title="{previous_title}">'
            f"{previous_name} {change(previous)}</span> "
            f'<span class="delta {change_class(year)}" title="{year_title}">{year_name} {change(year)}</span></span></td>\n'
        )
        if metric == "visitors":
            parts.append(
                f'<td class="num" data-metric="share"><span class="value">{percent(row.share)}</span>{marks_html}</td>\n'
            )
    return mark_safe("".join(parts))


def _count(value) -> str:
    """Format a count like the count filter; an int takes Python's "," format, which gives the same text faster."""
    if type(value) is int:
        return f"{value:,}"
    return count(value)


def _chart_number(value, is_rate: bool) -> str:
    """Format a chart value as the fallback tables show it: 12.34% for rates and shares, 1,234 for counts."""
    if value is None:
        return MISSING
    if is_rate:
        if type(value) is float:
            # The chart's percentages are floats from round(x, 2), which have no halves left to
            # round, so "%.2f" gives the same text as floatformat:2 at a fraction of the cost.
            return f"{value:.2f}%"
        # Anything else gets floatformat:2's rounding, half up on the decimal text.
        return f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)}%"
    return _count(value)


def _table_rows(entries, values_key: str, is_rate: bool, derived_title: str | None, separator: str) -> str:
    rows = []
    for entry in entries:
        mark = ""
        if derived_title and entry["derived"]:
            mark = f' <sup class="mark" title="{derived_title}">†‡</sup>'
        cells = "".join(f'<td class="num">{_chart_number(value, is_rate)}</td>' for value in entry[values_key])
        rows.append(f'<tr><th scope="row">{escape(entry["label"])}{mark}</th>{separator}{cells}</tr>')
    return "\n".join(rows)


@register.simple_tag
def trend_table_rows(report):
    """Render the rows of the trend chart's fallback table: one per period, one column per chart source."""
    derived_title = escape(gettext("Derived figure: see the marks above the source table."))
    return mark_safe(_table_rows(report.chart_table, "values", report.chart["isRate"], derived_title, "\n  "))


@register.simple_tag
def mix_table_rows(report):
    """Render the rows of the source-mix chart's fallback table, shares in percent."""
    return mark_safe(_table_rows(report.chart_table, "mix", True, None, ""))


@register.simple_tag
def coverage_cells(strip):
    """Render one coverage strip as a row of squares, each titled with its period."""
    return mark_safe(
        "".join(
            f'<span class="cov {"yes" if has_data else "no"}" title="{escape(label)}"></span>'
            for _start, label, has_data in strip.cells
        )
    )
