"""Import the traffic-source report (流量来源): one row per source for one period.

The period comes from the title above the header, such as
`流量来源,时间周期2026-11-02~2026-11-08`. Sub-sources follow their category,
often indented with full-width spaces, or sit in a second column; the label
alone decides what a row is. A total row (合计) is the store total and closes
the table, and anything below it is notes.
"""

import datetime

from django.utils.translation import gettext_noop

from traffic.dimensions import natural_period, period_end, period_start_of
from traffic.taxonomy import TOTAL

from .base import ERROR, WARNING, ImportOptions, ParsedFigure, Problem
from .figures import FigureCollector, check_counts, check_rate, label_to_source, read_metrics, warn_unknown_label
from .table import (
    Preamble, ProgressReporter, Table, cell_text, choose_terminal_and_region, is_blank_row, is_note_row,
    read_preamble,
)


def parse_source_report(
    table: Table, options: ImportOptions, problems: list[Problem], progress: ProgressReporter
) -> list[ParsedFigure]:
    """Parse one sheet's traffic-source table; errors and warnings go to problems."""
    preamble = read_preamble(table, options)
    problems.extend(preamble.problems)

    period = choose_period(table, preamble, options, problems)
    terminal, region = choose_terminal_and_region(table, preamble, options, problems)
    if period is None:
        return []
    granularity, period_start = period

    collector = FigureCollector(table, problems)
    table_ended = warned_after_table = False
    for number, cells in table.rows:
        progress.row_read()
        if is_blank_row(cells):
            progress.blank_row()
            continue
        if table_ended:
            if not is_note_row(cells) and not warned_after_table:
                problems.append(rows_after_table_warning(table, number, cells))
                warned_after_table = True
            continue

        label = row_label(table, cells)
        source = label_to_source(label)
        if not source.known and is_note_row(cells):
            table_ended = True
            continue
        if not label:
            problems.append(table.problem(
                ERROR, gettext_noop("The source label is missing in a row with figures."), row=number, role="source",
            ))
            continue

        metrics = read_metrics(table, number, cells, problems)
        if metrics is None:
            continue
        figure = ParsedFigure(
            granularity=granularity, period_start=period_start, terminal=terminal, region=region,
            source=source.source, sub_source=source.sub_source, raw_label=source.raw_label, **metrics,
        )
        if not check_counts(table, number, figure, problems):
            continue
        check_rate(table, number, figure, problems)

        if not source.known:
            warn_unknown_label(table, number, label, problems)
        collector.add(number, figure, label)
        table_ended = figure.source == TOTAL

    return collector.result()


def row_label(table: Table, cells: list) -> str:
    """Return the row's label: the sub-source column when the file has one and it is filled, else the source."""
    sub_label = cell_text(table.cell(cells, "sub_source")).strip()
    if sub_label:
        return sub_label
    return cell_text(table.cell(cells, "source")).strip()


def choose_period(
    table: Table, preamble: Preamble, options: ImportOptions, problems: list[Problem]
) -> tuple[str, datetime.date] | None:
    """Return (granularity, period_start) from the stated period and the upload's granularity."""
    if preamble.period is None:
        problems.append(table.problem(ERROR, gettext_noop(
            "No period was found above the header. Expected a title such as "
            "流量来源,时间周期2026-11-02~2026-11-08; export the report again with its title rows."
        )))
        return None
    start, end = preamble.period
    params = {"start": start.isoformat(), "end": end.isoformat(), "granularity": options.granularity}

    if not options.granularity:
        granularity = natural_period(start, end)
        if granularity is None:
            problems.append(table.problem(ERROR, gettext_noop(
                "The period %(start)s~%(end)s is not a natural day, week (Monday to Sunday) or month. "
                "Choose a granularity for the upload, or export a natural period."
            ), params))
            return None
        return granularity, start

    period_start = period_start_of(options.granularity, start)
    natural_end = period_end(options.granularity, period_start)
    if end > natural_end:
        problems.append(table.problem(ERROR, gettext_noop(
            "The period %(start)s~%(end)s does not fit in one natural %(granularity)s. "
            "Choose a longer granularity, or export one %(granularity)s at a time."
        ), params))
        return None
    if (start, end) != (period_start, natural_end):
        problems.append(table.problem(WARNING, gettext_noop(
            "The period %(start)s~%(end)s covers only part of its %(granularity)s; "
            "it is stored as the figures of the whole %(granularity)s."
        ), params))
    return options.granularity, period_start


def rows_after_table_warning(table: Table, number: int, cells: list) -> Problem:
    return table.problem(
        WARNING,
        gettext_noop("Rows below the total row or the notes were not imported. Put every source above the total row."),
        row=number, value=row_label(table, cells),
    )
