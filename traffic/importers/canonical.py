"""Import the app's own canonical CSV: one row per store, period, terminal, region and source.

Columns (header names are exact, in any order; optional ones may be left out):

    store (optional), period_start, granularity, terminal, region, source,
    sub_source (optional), raw_label (optional), visitors, inquiry_customers,
    tm_customers, feedback_conversion_rate (optional, a fraction such as 0.0611
    or a percentage such as 6.11%)

Codes are the ones the API returns: granularity day|week|month, terminal
all|pc|wireless, region all|exclude_cn, source a category code or total. A row
whose store column names another store than the upload's is rejected, except in
a bulk import by platform staff, which writes every store the file names.
"""

from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, Region, Terminal, period_start_of
from traffic.taxonomy import CATEGORY_BY_CODE, SUB_SOURCE_BY_CODE, TOTAL

from .base import ERROR, WARNING, ImportOptions, ParsedFigure, Problem
from .figures import FigureCollector, check_counts, check_rate, read_metrics
from .table import ProgressReporter, Table, cell_text, is_blank_row
from .values import InvalidValue, parse_date

CANONICAL_COLUMNS = (
    "store", "period_start", "granularity", "terminal", "region", "source", "sub_source", "raw_label",
    "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate",
)
REQUIRED_COLUMNS = {"period_start", "granularity", "terminal", "region", "source", "visitors", "inquiry_customers", "tm_customers"}


def canonical_columns(headers: list[str]) -> dict[str, int] | None:
    """Return the column index of each canonical column, or None when the header is not canonical."""
    columns = {}
    for index, header in enumerate(headers):
        name = header.strip().lower()
        if name in CANONICAL_COLUMNS and name not in columns:
            columns[name] = index
    if not REQUIRED_COLUMNS <= columns.keys():
        return None
    return columns


def parse_canonical(
    table: Table, options: ImportOptions, problems: list[Problem], progress: ProgressReporter
) -> list[ParsedFigure]:
    """Parse a canonical table; the upload's options must agree with every row, since the file states them all."""
    collector = FigureCollector(table, problems)

    for number, cells in table.rows:
        progress.row_read()
        if is_blank_row(cells):
            continue

        dimensions = read_dimensions(table, number, cells, options, problems)
        metrics = read_metrics(table, number, cells, problems)
        if dimensions is None or metrics is None:
            continue
        metrics["extra"] = {}

        figure = ParsedFigure(**dimensions, **metrics)
        if check_counts(table, number, figure, problems):
            check_rate(table, number, figure, problems)
            collector.add(number, figure, figure.raw_label or figure.sub_source or figure.source)

    return collector.result()


def read_dimensions(table, number, cells, options, problems) -> dict | None:
    values = {}
    valid = True
    for role, choices, option in (
        ("granularity", Granularity.values, options.granularity),
        ("terminal", Terminal.values, options.terminal),
        ("region", Region.values, options.region),
    ):
        value = cell_text(table.cell(cells, role)).lower()
        if value not in choices:
            problems.append(table.problem(
                ERROR, gettext_noop("Expected one of %(choices)s."), {"choices": ", ".join(choices)}, row=number, role=role, value=value,
            ))
            valid = False
        elif option and value != option:
            problems.append(table.problem(
                ERROR, gettext_noop("The row states %(stated)s, but the upload sets %(chosen)s. Leave the upload option empty for canonical files."),
                {"stated": value, "chosen": option}, row=number, role=role, value=value,
            ))
            valid = False
        values[role] = value

    source = read_source(table, number, cells, problems)
    period_start = read_period_start(table, number, cells, values.get("granularity"), problems)
    if not valid or source is None or period_start is None:
        return None

    store = read_store(table, number, cells, options, problems)
    if store is None:
        return None
    return {**values, **source, "period_start": period_start, "store": store}


def read_store(table, number, cells, options, problems) -> str | None:
    """Return the row's store slug ("" when the column is empty in a single-store upload), or None on error."""
    store = cell_text(table.cell(cells, "store")).strip()
    if options.store:
        if store and store != options.store:
            problems.append(table.problem(
                ERROR, gettext_noop("This row belongs to store %(row_store)s, but the file is uploaded to store %(store)s."),
                {"row_store": store, "store": options.store}, row=number, role="store", value=store,
            ))
            return None
        return ""
    if not store:
        problems.append(table.problem(
            ERROR, gettext_noop("A bulk import needs the store's slug on every row."), row=number, role="store",
        ))
        return None
    return store


def read_source(table, number, cells, problems) -> dict | None:
    source = cell_text(table.cell(cells, "source")).strip()
    sub_source = cell_text(table.cell(cells, "sub_source")).strip()
    raw_label = cell_text(table.cell(cells, "raw_label")).strip()

    if source != TOTAL and source not in CATEGORY_BY_CODE:
        problems.append(table.problem(
            ERROR, gettext_noop("Expected a source code: one of %(choices)s."),
            {"choices": ", ".join([*CATEGORY_BY_CODE, TOTAL])}, row=number, role="source", value=source,
        ))
        return None
    if source == TOTAL and (sub_source or raw_label):
        problems.append(table.problem(
            ERROR, gettext_noop("The store total has no sub-source or raw label."), row=number, role="sub_source", value=sub_source or raw_label,
        ))
        return None
    if sub_source and (source, sub_source) not in SUB_SOURCE_BY_CODE:
        problems.append(table.problem(
            WARNING, gettext_noop("This sub-source code is not in the taxonomy; it is imported as written."),
            row=number, role="sub_source", value=sub_source,
        ))
    return {"source": source, "sub_source": sub_source, "raw_label": raw_label}


def read_period_start(table, number, cells, granularity, problems):
    value = table.cell(cells, "period_start")
    try:
        day = parse_date(value)
    except InvalidValue as exc:
        problems.append(table.problem(ERROR, exc.message, row=number, role="period_start", value=value))
        return None
    if granularity in Granularity.values and period_start_of(granularity, day) != day:
        problems.append(table.problem(
            ERROR, gettext_noop("A %(granularity)s starts on %(start)s, not on this date."),
            {"granularity": granularity, "start": period_start_of(granularity, day).isoformat()},
            row=number, role="period_start", value=value,
        ))
        return None
    return day
