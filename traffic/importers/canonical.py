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

import datetime
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, Region, Terminal, period_start_of
from traffic.metrics import feedback_conversion_rate
from traffic.staging import FigureStage
from traffic.taxonomy import CATEGORY_BY_CODE, SUB_SOURCE_BY_CODE, TOTAL

from .base import ERROR, WARNING, ImportOptions, ParsedFigure, Problem
from .figures import RATE_TOLERANCE, FigureCollector, check_counts, check_rate, read_metrics
from .table import CACHE_LIMIT, ProgressReporter, Table, cell_text, is_blank_row
from .values import InvalidValue, parse_date, parse_rate

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


# Fields of the tuple that CanonicalReader.rows() yields for each valid row: the columns of a FigureStage.
ROW_FIELDS = (
    "row_number", "store", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label",
    "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate",
)


def parse_canonical(
    table: Table, options: ImportOptions, problems: list[Problem], progress: ProgressReporter
) -> "list[ParsedFigure] | FigureStage":
    """Parse a canonical table; the upload's options must agree with every row, since the file states them all.

    A table of at least IMPORT_STAGE_ROWS rows is written to a FigureStage, a
    temporary table, instead of a list, so that two million rows do not have to
    fit in the worker's memory. The caller drops the stage.
    """
    reader = CanonicalReader(table, options, problems)
    if progress.rows_total >= settings.IMPORT_STAGE_ROWS:
        stage = FigureStage()
        try:
            stage.fill(reader.rows(progress))
            stage.check_duplicates(table, problems)
        except BaseException:
            stage.drop()
            raise
        return stage

    collector = FigureCollector(table, problems)
    for row in reader.rows(progress):
        figure = ParsedFigure(**dict(zip(ROW_FIELDS[1:], row[1:])))
        collector.add(row[0], figure, figure.raw_label or figure.sub_source or figure.source)
    return collector.result()


class CanonicalReader:
    """Reads canonical rows, remembering what each distinct dimension value means.

    A row whose cells are all plain (known codes, dates seen before, counts in
    digits) is read without the general parsers. Any other row goes through
    read_row, which also reports what is wrong with it.
    """

    def __init__(self, table: Table, options: ImportOptions, problems: list[Problem]):
        self.table = table
        self.options = options
        self.problems = problems
        self.dimensions: dict[str, dict] = {"granularity": {}, "terminal": {}, "region": {}}
        self.sources: dict[tuple, tuple] = {}
        self.periods: dict[tuple, datetime.date] = {}
        self.stores: dict[str, str] = {}
        self.rates: dict[str, Decimal] = {}

    def rows(self, progress: ProgressReporter):
        """Yield each valid row as a tuple in ROW_FIELDS order; report invalid rows to problems."""
        columns = self.table.columns
        index = {name: columns.get(name) for name in CANONICAL_COLUMNS}
        granularities, terminals, regions = (self.dimensions[role] for role in ("granularity", "terminal", "region"))
        sources, periods, stores, rates = self.sources, self.periods, self.stores, self.rates
        granularity_index, terminal_index, region_index = index["granularity"], index["terminal"], index["region"]
        source_index, sub_source_index, raw_label_index = index["source"], index["sub_source"], index["raw_label"]
        period_index, store_index, rate_index = index["period_start"], index["store"], index["feedback_conversion_rate"]
        visitors_index, inquiry_index, tm_index = index["visitors"], index["inquiry_customers"], index["tm_customers"]

        for number, cells in self.table.rows:
            progress.row_read()
            try:
                granularity = granularities[cells[granularity_index]]
                terminal = terminals[cells[terminal_index]]
                region = regions[cells[region_index]]
                source, sub_source, raw_label = sources[(
                    cells[source_index],
                    cells[sub_source_index] if sub_source_index is not None else "",
                    cells[raw_label_index] if raw_label_index is not None else "",
                )]
                period_start = periods[(cells[period_index], granularity)]
                store = stores[cells[store_index]] if store_index is not None else ""
                visitors = plain_count(cells[visitors_index])
                inquiry_customers = plain_count(cells[inquiry_index])
                tm_customers = plain_count(cells[tm_index])
                if inquiry_customers > visitors or tm_customers > visitors:
                    raise ValueError
                rate = feedback_conversion_rate(visitors, inquiry_customers, tm_customers)
                if rate_index is not None and cells[rate_index] != "":
                    stated = rates[cells[rate_index]]
                    if stated is not None:
                        if rate is not None and abs(stated - rate) > RATE_TOLERANCE:
                            raise ValueError  # read_row warns about it
                        rate = stated
            except (KeyError, IndexError, ValueError, TypeError, AttributeError):
                if is_blank_row(cells):
                    progress.blank_row()
                    continue
                row = self.read_row(number, cells)
                if row is None:
                    continue
                yield row
                continue
            yield (
                number, store, granularity, period_start, terminal, region, source, sub_source, raw_label,
                visitors, inquiry_customers, tm_customers, rate,
            )

    def read_row(self, number: int, cells: list) -> tuple | None:
        """Read a row cell by cell, reporting errors; remember the valid values for the rows after it."""
        table, problems = self.table, self.problems
        problems_before = len(problems)
        dimensions = read_dimensions(table, number, cells, self.options, problems)
        metrics = read_metrics(table, number, cells, problems)
        if dimensions is None or metrics is None:
            return None
        metrics["extra"] = {}

        figure = ParsedFigure(**dimensions, **metrics)
        if not check_counts(table, number, figure, problems):
            return None
        check_rate(table, number, figure, problems)
        if len(problems) == problems_before:
            self.remember(cells, figure)
        return tuple(getattr(figure, name) if name != "row_number" else number for name in ROW_FIELDS)

    def remember(self, cells: list, figure: ParsedFigure) -> None:
        """Remember the cell values of a row that read without errors or warnings."""
        table = self.table
        if len(self.periods) >= CACHE_LIMIT or len(self.sources) >= CACHE_LIMIT:
            return
        for role in ("granularity", "terminal", "region"):
            self.dimensions[role][table.cell(cells, role)] = getattr(figure, role)
        source_cells = (
            table.cell(cells, "source"),
            table.cell(cells, "sub_source") if "sub_source" in table.columns else "",
            table.cell(cells, "raw_label") if "raw_label" in table.columns else "",
        )
        self.sources[source_cells] = (figure.source, figure.sub_source, figure.raw_label)
        self.periods[(table.cell(cells, "period_start"), figure.granularity)] = figure.period_start
        if "store" in table.columns:
            self.stores[table.cell(cells, "store")] = figure.store
        rate_cell = table.cell(cells, "feedback_conversion_rate")
        if isinstance(rate_cell, str) and rate_cell and len(self.rates) < CACHE_LIMIT:
            self.rates[rate_cell] = parse_rate(rate_cell)


def plain_count(value) -> int:
    """Return a count written in plain ASCII digits; raise ValueError for anything else."""
    if not value.isascii() or not value.isdigit():
        raise ValueError(value)
    return int(value)


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
    if options.known_stores is not None and store not in options.known_stores:
        problems.append(table.problem(
            ERROR, gettext_noop("Store %(store)s does not exist. Check the slug, or create the store first."),
            {"store": store}, row=number, role="store", value=store,
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
