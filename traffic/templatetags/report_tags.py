"""Template helpers of the traffic page: derived-figure marks, changes, sort links and the repeated parts.

The grids (source-table cells, chart fallback tables, coverage strips) run to thousands of
cells for a range of days. Template loops, filters and includes cost about 0.1 ms per cell,
so these tags render each row or table in one pass. The same goes for the other loops of the
page: the filter options, the chart-source checkboxes and the source table's headings and bodies.
"""

import functools
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy as _

from traffic.report.figures import DERIVED_DAYS, DERIVED_LABELS, DERIVED_RANGE, DERIVED_TERMINALS, PARTIAL, RATE
from traffic.templatetags.traffic_format import MISSING, count, percent

register = template.Library()

CENT = Decimal("0.01")

# One symbol per reason, the same in both languages and in exports.
REASON_SYMBOLS = {DERIVED_RANGE: "Σ", DERIVED_DAYS: "†", DERIVED_TERMINALS: "‡", DERIVED_LABELS: "§", PARTIAL: "*"}
REASON_ORDER = (DERIVED_RANGE, DERIVED_DAYS, DERIVED_TERMINALS, DERIVED_LABELS, PARTIAL)

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
    DERIVED_LABELS: _(
        "Others plus the source labels not yet mapped, listed under it, which the file's own Others row does not contain. "
        "A buyer who came through two of them counts twice."
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


@functools.lru_cache(maxsize=64)
def _marks_html(reasons: frozenset[str], language: str) -> str:
    """Return the <sup> marks of a set of reasons in the active language (passed in as the cache key).

    Each mark links to the legend above the table, because a title shows only on hover, not on a tap.
    """
    return "".join(
        f'<sup class="mark"><a href="#derived-legend" title="{escape(str(text))}">{symbol}</a></sup>'
        for symbol, text in marks(reasons)
    )


@functools.lru_cache(maxsize=8)
def _cell_texts(language: str) -> dict[str, str]:
    """Return the escaped fixed texts of the source table in the active language (passed in as the cache key)."""
    return {
        "previous_title": escape(gettext("Change on previous period")),
        "previous_name": escape(gettext("PoP")),
        "year_title": escape(gettext("Change on a year before")),
        "year_name": escape(gettext("YoY")),
        "unmapped_title": escape(
            gettext("This label is not in the taxonomy yet; it is counted under Others until an administrator maps it.")
        ),
        "unmapped": escape(gettext("unmapped")),
    }


@register.simple_tag
def source_cells(row):
    """Render the metric cells of one source-table row: value, marks, changes, and the share after visitors."""
    return mark_safe(_source_cells(row, get_language()))


def _source_cells(row, language: str) -> str:
    texts = _cell_texts(language)
    previous_title, previous_name = texts["previous_title"], texts["previous_name"]
    year_title, year_name = texts["year_title"], texts["year_name"]

    parts = []
    for metric, value, notes, previous, year in row.cells():
        formatted = percent(value) if metric == RATE else _count(value)
        marks_html = _marks_html(notes, language) if notes else ""
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
    return "".join(parts)


@register.simple_tag
def column_headers(filters, columns, report_path):
    """Render the source table's metric headings: a sort link, and a button that opens the column's definition.

    columns is the view's (sort key, heading, definition) per column.
    """
    parts = []
    for column, label, definition in columns:
        label = conditional_escape(label)
        definition = conditional_escape(definition)
        link = conditional_escape(f"{report_path}?{sort_query(filters, column)}")
        button_label = gettext("Definition of %(label)s") % {"label": label}
        parts.append(
            f'<th scope="col" class="num" aria-sort="{sort_state(filters, column)}">\n'
            f'  <a class="sort" href="{link}" hx-get="{link}" hx-target="#report-body" hx-swap="outerHTML">{label}</a>\n'
            f'  <button type="button" class="info" popovertarget="def-{column}" title="{definition}" aria-label="{button_label}">?</button>\n'
            f'  <div popover id="def-{column}" class="definition"><strong>{label}</strong><br>{definition}</div>\n'
            "</th>\n"
        )
    return mark_safe("".join(parts))


@register.simple_tag
def source_table_bodies(categories):
    """Render the source table's bodies: per category a <tbody> with its row, then one with its sub-sources if any."""
    language = get_language()
    texts = _cell_texts(language)
    parts = []
    for row in categories:
        source = escape(row.source)
        label = conditional_escape(row.label)
        no_data = "" if row.has_data else " no-data"
        if row.children:
            heading = f'<button type="button" class="toggle" aria-expanded="true" aria-controls="sub-{source}">{label}</button>'
        else:
            heading = f'<span class="no-toggle">{label}</span>'
        parts.append(
            f'<tbody class="category" data-source="{source}">\n'
            f'<tr class="category-row{no_data}">\n'
            f'<th scope="row">{heading}</th>\n'
            f"{_source_cells(row, language)}</tr>\n</tbody>\n"
        )
        if not row.children:
            continue

        parts.append(f'<tbody class="sub-sources" id="sub-{source}">\n')
        for child in row.children:
            raw_label, badge = "", ""
            if child.raw_label:
                raw_label = f' data-raw-label="{escape(child.raw_label)}"'
                badge = f' <span class="badge" title="{texts["unmapped_title"]}">{texts["unmapped"]}</span>'
            parts.append(
                f'<tr class="sub-row" data-source="{escape(child.source)}" data-sub-source="{escape(child.sub_source)}"{raw_label}>\n'
                f'<th scope="row">{conditional_escape(child.label)}{badge}</th>\n'
                f"{_source_cells(child, language)}</tr>\n"
            )
        parts.append("</tbody>\n")
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


def _chart_cells(values, is_rate: bool) -> str:
    """Render one row of chart values as <td> cells; the common types skip _chart_number, with the same text."""
    if is_rate:
        return "".join([
            f'<td class="num">{value:.2f}%</td>' if type(value) is float else f'<td class="num">{_chart_number(value, True)}</td>'
            for value in values
        ])
    return "".join([
        f'<td class="num">{value:,}</td>' if type(value) is int else f'<td class="num">{_chart_number(value, False)}</td>'
        for value in values
    ])


def _table_rows(entries, values_key: str, is_rate: bool, derived_title: str | None, separator: str) -> str:
    rows = []
    for entry in entries:
        mark = ""
        if derived_title and entry["derived"]:
            mark = f' <sup class="mark" title="{derived_title}">†‡</sup>'
        cells = _chart_cells(entry[values_key], is_rate)
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
def coverage_rows(rows):
    """Render the coverage calendar's rows: one per terminal and region, a strip of squares per granularity.

    Each square is titled with its period. The squares of a period are the same HTML in every
    row, so they are built once per column.
    """
    squares = {}
    for strip in rows[0].strips if rows else ():
        column = strip.column
        titles = [escape(label) for label in column.labels]
        squares[id(column)] = (
            [f'<span class="cov yes" title="{title}"></span>' for title in titles],
            [f'<span class="cov no" title="{title}"></span>' for title in titles],
        )

    parts = []
    for row in rows:
        shown_class = ' class="shown"' if row.is_shown else ""
        parts.append(
            f'<tr{shown_class} data-terminal="{escape(row.terminal)}" data-region="{escape(row.region)}">\n'
            f'  <th scope="row">{conditional_escape(row.label)}</th>\n'
        )
        for strip in row.strips:
            yes, no = squares[id(strip.column)]
            cells = "".join([yes[index] if flag else no[index] for index, flag in enumerate(strip.has_data)])
            parts.append(
                f'  <td class="strip strip-{strip.granularity}"><span class="cov-count">{strip.with_data}/{len(strip.has_data)}</span>\n'
                f'    <span class="cells">{cells}</span></td>\n'
            )
        parts.append("</tr>\n")
    return mark_safe("".join(parts))


@register.simple_tag
def select_options(choices, selected):
    """Render the <option> elements of a filter, marking the one equal to selected."""
    parts = []
    for value, label in choices:
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{conditional_escape(value)}"{mark}>{conditional_escape(label)}</option>')
    return mark_safe("".join(parts))


@register.simple_tag
def series_checkboxes(choices, chosen):
    """Render one checkbox per chart source. Sub-sources (keys with a dot) get the class that indents them."""
    parts = []
    for value, label in choices:
        kind = "sub" if "." in value else "main"
        mark = " checked" if value in chosen else ""
        parts.append(
            f'<label class="{kind}"><input type="checkbox" name="series" value="{conditional_escape(value)}"{mark}> '
            f"{conditional_escape(label)}</label>\n"
        )
    return mark_safe("".join(parts))
