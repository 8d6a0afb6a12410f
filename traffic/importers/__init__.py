"""Importers for the exports of the Alibaba.com Data Manager (数据管家 / 数据参谋).

parse_file() is the one entry point: it reads the file, finds the table in
each sheet, recognises the layout from the header and hands the table to the
parser of that layout. It returns figures and problems and never writes to the
database; the caller stores nothing when result.errors is not empty.
"""

import logging
import pathlib

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, Region, Terminal
from traffic.staging import FigureStage

from .base import ERROR, WARNING, ImportOptions, ImportRejected, ParsedFigure, ParseResult, Problem
from .reading import UnreadableFile, read_sheets
from .canonical import parse_canonical
from .source_report import parse_source_report
from .table import CANONICAL, SOURCE_REPORT, TREND, VISITOR_DETAILS, ProgressReporter, find_table, is_blank_row
from .trend import parse_trend
from .visitor_details import parse_visitor_details

logger = logging.getLogger(__name__)

PARSERS = {
    SOURCE_REPORT: parse_source_report,
    TREND: parse_trend,
    VISITOR_DETAILS: parse_visitor_details,
    CANONICAL: parse_canonical,
}

NO_HEADER_MESSAGE = gettext_noop(
    "No table header was found in the first 20 rows. Expected a header with a source column such as "
    "流量渠道 and a visitors column such as 店铺访问人数."
)

__all__ = ["ImportOptions", "ImportRejected", "ParsedFigure", "ParseResult", "Problem", "parse_file"]


def parse_file(path: pathlib.Path, original_name: str, options: ImportOptions, progress=None) -> ParseResult:
    """Parse an uploaded export into figures, detecting its layout from the content.

    Bad input never raises: it becomes an error Problem in result.problems. A
    DatabaseError raised by the progress callback or the staging is the one
    exception passed on. A large canonical file leaves its figures in
    result.stage, a temporary table, instead of result.figures; the caller
    writes them and then calls result.drop_stage().
    progress, when given, is called as progress(rows_read, rows_total) every
    thousand rows and once at the end.
    """
    result = ParseResult()
    try:
        parse_into(result, pathlib.Path(path), original_name, options, progress)
    except DatabaseError:
        result.discard_figures()
        # Raised by the progress callback: the database is in trouble, not the file, so the
        # task's retry for transient errors must see it.
        raise
    except Exception:
        # Last resort, so that a bug shows as a rejected upload and not as a failed task.
        logger.exception("Importer failed on %s", original_name)
        result.discard_figures()
        result.problems.append(Problem(
            ERROR, gettext_noop("The file could not be imported because of an internal error. Report it to support."),
            file=original_name,
        ))
    return result


def parse_into(result: ParseResult, path: pathlib.Path, original_name: str, options: ImportOptions, progress) -> None:
    if not check_options(options, original_name, result.problems):
        return

    try:
        sheets = read_sheets(path)
        rows_total = sum(len(sheet.rows) for sheet in sheets)
        if rows_total > settings.IMPORT_MAX_ROWS:
            result.problems.append(Problem(
                ERROR, gettext_noop("The file has %(count)s rows; at most %(limit)s rows are imported from one file. Split it into smaller files."),
                {"count": rows_total, "limit": settings.IMPORT_MAX_ROWS}, file=original_name,
            ))
            return
        parse_sheets(result, sheets, original_name, options, ProgressReporter(progress, rows_total))
    except UnreadableFile as exc:
        # Raised while opening the file, or while reading a text file row by row.
        result.discard_figures()
        result.problems.append(Problem(ERROR, exc.message, exc.params, file=original_name))


def parse_sheets(result: ParseResult, sheets: list, original_name: str, options: ImportOptions, reporter) -> None:
    for sheet in sheets:
        table = find_table(sheet.rows, original_name, sheet.name)
        # The total counted every line; the header and the lines above it are not data rows.
        reporter.rows_total -= table.header_row if table is not None else len(sheet.rows)
        if table is None:
            if len(sheets) > 1 and not all(is_blank_row(row) for row in sheet.rows):
                result.problems.append(Problem(WARNING, NO_HEADER_MESSAGE, file=original_name, sheet=sheet.name))
            continue
        if result.layout and table.layout != result.layout:
            result.problems.append(Problem(
                WARNING, gettext_noop("This sheet has another layout than the first sheet and was not imported."),
                file=original_name, sheet=sheet.name,
            ))
            continue

        result.layout = table.layout
        filled_before = reporter.filled_rows
        figures = PARSERS[table.layout](table, options, result.problems, reporter)
        if isinstance(figures, FigureStage):
            if result.stage is None:
                result.stage = figures
            else:
                result.stage.extend(figures)
        else:
            result.figures.extend(figures)
        result.rows_read += reporter.filled_rows - filled_before

    reporter.finish()
    finish_result(result, original_name, sheets)


def finish_result(result: ParseResult, original_name: str, sheets: list) -> None:
    """Turn "no table anywhere" into one clear error, and drop the figures of a rejected file."""
    if not result.layout:
        has_data = any(not is_blank_row(row) for sheet in sheets for row in sheet.rows)
        message = NO_HEADER_MESSAGE if has_data else gettext_noop(
            "The file contains no data. Export the report again and upload the new file."
        )
        result.problems = [problem for problem in result.problems if problem.message != NO_HEADER_MESSAGE]
        sheet = sheets[0].name if len(sheets) == 1 else ""
        result.problems.append(Problem(ERROR, message, file=original_name, sheet=sheet))
    elif not result.figures and not (result.stage and result.stage.count) and not result.errors:
        result.problems.append(Problem(
            ERROR, gettext_noop("The table has a header but no rows of figures."), file=original_name,
        ))

    if result.errors:
        result.discard_figures()


def check_options(options: ImportOptions, original_name: str, problems: list[Problem]) -> bool:
    """Reject an option value that is not one of the dimension choices."""
    allowed = {
        "granularity": Granularity.values,
        "terminal": Terminal.values,
        "region": Region.values,
    }
    valid = True
    for name, values in allowed.items():
        value = getattr(options, name)
        if value and value not in values:
            problems.append(Problem(
                ERROR, gettext_noop("The upload option %(option)s has an unknown value; expected one of %(choices)s."),
                {"option": name, "choices": ", ".join(values)}, file=original_name, value=value,
            ))
            valid = False
    return valid
