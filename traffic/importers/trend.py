"""Import a long trend export: one row per date, and per terminal and source when the file has those columns.

Without a granularity in the upload, every row is a day. With week or month,
each date must be the first day of its period (a Monday, or the 1st). A period
in the title is optional and, when present, every date must fall inside it.
A file without a source column contains store totals.
"""

import datetime

from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, period_start_of
from traffic.taxonomy import TOTAL, match_label

from .base import ERROR, ImportOptions, ParsedFigure, Problem
from .figures import FigureCollector, Label, check_counts, check_rate, label_to_source, read_metrics, warn_unknown_label
from .table import (
    Preamble, ProgressReporter, Table, cell_text, choose_terminal_and_region, is_blank_row, is_note_row,
    parse_terminal, read_date_in_period, read_preamble,
)
from .values import InvalidValue, parse_date


def parse_trend(
    table: Table, options: ImportOptions, problems: list[Problem], progress: ProgressReporter
) -> list[ParsedFigure]:
    """Parse one sheet's trend table; errors and warnings go to problems."""
    preamble = read_preamble(table, options)
    problems.extend(preamble.problems)
    default_terminal, region = choose_terminal_and_region(table, preamble, options, problems)
    granularity = options.granularity or Granularity.DAY

    collector = FigureCollector(table, problems)
    conflicting_terminals: set[str] = set()
    for number, cells in table.rows:
        progress.row_read()
        if is_blank_row(cells):
            progress.blank_row()
            continue
        date_cell = table.cell(cells, "date")
        if is_total_label(date_cell) or (is_note_row(cells) and not looks_like_date(date_cell)):
            break  # a total over all dates, or notes: the table ends here

        period_start = read_period_start(table, number, cells, preamble, granularity, problems)
        terminal = read_terminal(table, number, cells, default_terminal, problems)
        if terminal and options.terminal and terminal != options.terminal and terminal not in conflicting_terminals:
            conflicting_terminals.add(terminal)
            problems.append(terminal_conflict_error(table, number, cells, options.terminal))
        label, source = read_source(table, number, cells, problems)
        metrics = read_metrics(table, number, cells, problems)
        if period_start is None or terminal is None or source is None or metrics is None:
            continue

        figure = ParsedFigure(
            granularity=granularity, period_start=period_start, terminal=terminal, region=region,
            source=source.source, sub_source=source.sub_source, raw_label=source.raw_label, **metrics,
        )
        if check_counts(table, number, figure, problems):
            check_rate(table, number, figure, problems)
            collector.add(number, figure, label)

    return collector.result()


def is_total_label(value) -> bool:
    match = match_label(cell_text(value)) if isinstance(value, str) and value.strip() else None
    return match is not None and match.source == TOTAL


def looks_like_date(value) -> bool:
    try:
        parse_date(value)
    except InvalidValue:
        return False
    return True


def read_period_start(
    table: Table, number: int, cells: list, preamble: Preamble, granularity: str, problems: list[Problem]
) -> datetime.date | None:
    date = read_date_in_period(table, number, cells, preamble, problems)
    if date is None:
        return None

    if period_start_of(granularity, date) != date:
        problems.append(table.problem(
            ERROR,
            gettext_noop(
                "With %(granularity)s granularity every date must be the first day of its period "
                "(a Monday for weeks, the 1st for months). Choose day granularity for daily rows."
            ),
            {"granularity": granularity}, row=number, role="date", value=table.cell(cells, "date"),
        ))
        return None
    return date


def read_terminal(table: Table, number: int, cells: list, default: str, problems: list[Problem]) -> str | None:
    if "terminal" not in table.columns:
        return default

    value = table.cell(cells, "terminal")
    terminal = parse_terminal(value)
    if terminal is None:
        problems.append(table.problem(
            ERROR, gettext_noop("Unknown terminal: expected 全部 (All), PC or 无线 (Wireless)."),
            row=number, role="terminal", value=value,
        ))
    return terminal


def terminal_conflict_error(table: Table, number: int, cells: list, chosen: str) -> Problem:
    return table.problem(
        ERROR,
        gettext_noop(
            "The file has rows for another terminal than the %(chosen)s terminal set for the upload. "
            "Leave the terminal of the upload empty so that each row keeps its own terminal."
        ),
        {"chosen": chosen}, row=number, role="terminal", value=table.cell(cells, "terminal"),
    )


def read_source(table: Table, number: int, cells: list, problems: list[Problem]) -> tuple[str, Label | None]:
    """Return the row's label and source. A file without a source column contains store totals."""
    if "source" not in table.columns:
        return "", Label(TOTAL, "", "", known=True)

    label = cell_text(table.cell(cells, "source")).strip()
    if not label:
        problems.append(table.problem(
            ERROR, gettext_noop("The source label is missing in a row with figures."), row=number, role="source",
        ))
        return label, None

    source = label_to_source(label)
    if not source.known:
        warn_unknown_label(table, number, label, problems)
    return label, source
