"""Import visitor details (访客详情): one visit per row, aggregated into daily figures.

Figures are produced for every day the file covers, for each terminal (PC,
wireless and all) and each region (all traffic, and excluding mainland China,
which is country CN only). Within those, there is a figure for every sub-source
and unknown label seen in the file, for every category, and for the store total. Visitors are distinct visitor
ids per day within each group, so a buyer who came from two sub-sources counts
once in their category and once in the total. Inquiry and TM customers are
distinct visitors with the flag set in the group.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, Region, Terminal
from traffic.metrics import feedback_conversion_rate
from traffic.taxonomy import CATEGORIES, TOTAL

from .base import ERROR, ImportOptions, ParsedFigure, Problem
from .figures import Label, label_to_source, warn_unknown_label
from .table import (
    Preamble, ProgressReporter, Table, cell_text, is_blank_row, is_note_row, parse_flag, parse_terminal,
    read_date_in_period, read_preamble,
)
from .values import InvalidValue, is_missing, parse_decimal

# Country cells that mean mainland China. Hong Kong, Macao and Taiwan are not mainland.
MAINLAND_CHINA = ("cn", "中国", "中国大陆", "china", "mainlandchina")

# The platform keeps 31 days of visitor details, so a much longer span means a wrong
# date. It would also multiply the figures produced (every day x terminal x region x source).
MAX_DAYS = 366


@dataclass
class Visit:
    date: datetime.date
    visitor_id: str
    terminal: str  # pc or wireless, or the chosen terminal when the file has no terminal column
    mainland: bool
    source: Label
    inquired: bool | None  # None when the file has no such column
    tm_consulted: bool | None
    numbers: dict[str, int | float] = field(default_factory=dict)  # summable extra columns


@dataclass
class GroupCounts:
    visitors: set = field(default_factory=set)
    inquiry_customers: set = field(default_factory=set)
    tm_customers: set = field(default_factory=set)
    sums: dict = field(default_factory=lambda: defaultdict(int))


def parse_visitor_details(
    table: Table, options: ImportOptions, problems: list[Problem], progress: ProgressReporter
) -> list[ParsedFigure]:
    """Parse one sheet of visits into daily figures; errors and warnings go to problems."""
    preamble = read_preamble(table, options)
    problems.extend(preamble.problems)
    if options.granularity not in ("", Granularity.DAY):
        problems.append(table.problem(ERROR, gettext_noop(
            "Visitor details are imported as daily figures. Choose day granularity, or leave it empty."
        )))
        return []

    terminals = output_terminals(table, preamble, options)
    regions = output_regions(table, preamble, options)
    visits = read_visits(table, preamble, terminals[0], problems, progress)
    check_against_options(table, visits, options, problems)
    if not visits or any(problem.level == ERROR for problem in problems):
        return []

    first, last = covered_period(visits, preamble)
    day_count = (last - first).days + 1
    if day_count > MAX_DAYS:
        problems.append(table.problem(
            ERROR, gettext_noop("The visits span %(days)s days, more than %(max_days)s. Check the dates in the file."),
            {"days": day_count, "max_days": MAX_DAYS}, role="date",
        ))
        return []

    days = [first + datetime.timedelta(days=offset) for offset in range(day_count)]

    return aggregate(visits, days, terminals, regions, "inquired" in table.columns, "tm_consulted" in table.columns)


def output_terminals(table: Table, preamble: Preamble, options: ImportOptions) -> list[str]:
    """Return the terminals to produce figures for; the first one is the default of a visit."""
    if "terminal" not in table.columns:
        return [options.terminal or preamble.terminal or Terminal.ALL]
    if options.terminal in ("", Terminal.ALL):
        return [Terminal.PC, Terminal.WIRELESS, Terminal.ALL]
    return [options.terminal]


def output_regions(table: Table, preamble: Preamble, options: ImportOptions) -> list[str]:
    if "country" not in table.columns:
        return [options.region or preamble.region or Region.ALL]
    if options.region in ("", Region.ALL):
        return [Region.ALL, Region.EXCLUDE_CN]
    return [options.region]


def read_visits(
    table: Table, preamble: Preamble, default_terminal: str, problems: list[Problem], progress: ProgressReporter
) -> list[Visit]:
    summable = summable_columns(table)
    visits = []

    for number, cells in table.rows:
        progress.row_read()
        if is_blank_row(cells):
            continue
        if is_note_row(cells) and table.cell(cells, "visitor_id") == "":
            break  # notes below the table

        visit = read_visit(table, number, cells, preamble, default_terminal, problems)
        if visit is not None:
            visit.numbers = {
                header: number_or_zero(cells[index]) for header, index in summable.items() if index < len(cells)
            }
            visits.append(visit)
    return visits


def read_visit(
    table: Table, number: int, cells: list, preamble: Preamble, default_terminal: str, problems: list[Problem]
) -> Visit | None:
    """Read one visit row; return None (and add errors) when a cell is invalid."""
    errors_before = len(problems)

    visitor_id = cell_text(table.cell(cells, "visitor_id"))
    if not visitor_id:
        problems.append(table.problem(ERROR, gettext_noop("The visitor ID is missing."), row=number, role="visitor_id"))
    date = read_date_in_period(table, number, cells, preamble, problems)
    terminal = read_visit_terminal(table, number, cells, default_terminal, problems)
    source = read_visit_source(table, number, cells, problems)
    inquired = read_flag(table, number, cells, "inquired", problems)
    tm_consulted = read_flag(table, number, cells, "tm_consulted", problems)

    if any(problem.level == ERROR for problem in problems[errors_before:]):
        return None
    country = cell_text(table.cell(cells, "country"))
    return Visit(
        date=date, visitor_id=visitor_id, terminal=terminal, mainland=is_mainland_china(country), source=source,
        inquired=inquired, tm_consulted=tm_consulted,
    )


def read_visit_terminal(table: Table, number: int, cells: list, default: str, problems: list[Problem]) -> str | None:
    if "terminal" not in table.columns:
        return default

    value = table.cell(cells, "terminal")
    terminal = parse_terminal(value)
    if terminal not in (Terminal.PC, Terminal.WIRELESS):
        problems.append(table.problem(
            ERROR, gettext_noop("Unknown terminal for a visit: expected PC or 无线 (Wireless)."),
            row=number, role="terminal", value=value,
        ))
        return None
    return terminal


def read_visit_source(table: Table, number: int, cells: list, problems: list[Problem]) -> Label | None:
    label = cell_text(table.cell(cells, "source")).strip()
    source = label_to_source(label) if label else None

    if source is None or source.source == TOTAL:
        problems.append(table.problem(
            ERROR, gettext_noop("Expected the traffic source of the visit, such as 文字搜索 or 直接访问."),
            row=number, role="source", value=label,
        ))
        return None
    if not source.known:
        warn_unknown_label(table, number, label, problems)
    return source


def read_flag(table: Table, number: int, cells: list, role: str, problems: list[Problem]) -> bool | None:
    if role not in table.columns:
        return None

    value = table.cell(cells, role)
    if is_missing(value):
        return False
    flag = parse_flag(value)
    if flag is None:
        problems.append(table.problem(
            ERROR, gettext_noop("Expected 是 (yes) or 否 (no)."), row=number, role=role, value=value,
        ))
    return flag


def is_mainland_china(country: str) -> bool:
    return country.replace(" ", "").lower() in MAINLAND_CHINA


def summable_columns(table: Table) -> dict[str, int]:
    """Return the extra columns (page views, stay time) whose every filled cell is a number."""
    columns = {}
    for index in table.extra_columns():
        values = [cells[index] for _number, cells in table.rows if index < len(cells) and not is_missing(cells[index])]
        if values and all(is_number(value) for value in values):
            columns[table.headers[index]] = index
    return columns


def is_number(value) -> bool:
    try:
        return parse_decimal(value) is not None
    except InvalidValue:
        return False


def number_or_zero(value) -> int | float:
    number = parse_decimal(value) if is_number(value) else 0
    if number == int(number):
        return int(number)
    return float(number)


def check_against_options(table: Table, visits: list[Visit], options: ImportOptions, problems: list[Problem]) -> None:
    """Reject visits that contradict the terminal or region set for the upload, instead of dropping them."""
    if "terminal" in table.columns and options.terminal not in ("", Terminal.ALL):
        other = sorted({visit.terminal for visit in visits if visit.terminal != options.terminal})
        if other:
            problems.append(table.problem(
                ERROR,
                gettext_noop(
                    "The file has visits on terminals %(found)s, but the upload is set to %(chosen)s. Leave the "
                    "terminal of the upload empty to import every terminal."
                ),
                {"found": ", ".join(other), "chosen": options.terminal}, role="terminal",
            ))

    if "country" in table.columns and options.region == Region.EXCLUDE_CN:
        if any(visit.mainland for visit in visits):
            problems.append(table.problem(
                ERROR,
                gettext_noop(
                    "The file has visits from mainland China (CN), but the upload is set to exclude them. Leave "
                    "the region of the upload empty: figures excluding mainland China are computed from the file."
                ),
                role="country",
            ))


def aggregate(
    visits: list[Visit], days: list[datetime.date], terminals: list[str], regions: list[str],
    has_inquired: bool, has_tm: bool,
) -> list[ParsedFigure]:
    """Count distinct visitors per day, terminal, region and source, and emit a figure for each."""
    groups: dict[tuple, GroupCounts] = defaultdict(GroupCounts)
    sources_seen: set[tuple[str, str, str]] = set()

    for visit in visits:
        sources = visit_sources(visit.source)
        sources_seen.update(sources)
        for terminal in visit_terminals(visit, terminals):
            for region in visit_regions(visit, regions):
                for source in sources:
                    count_visit(groups[(visit.date, terminal, region, source)], visit)

    sources = all_categories() + sorted(sources_seen - set(all_categories()))
    figures = []
    for day in days:
        for terminal in terminals:
            for region in regions:
                for source in sources:
                    counts = groups.get((day, terminal, region, source), GroupCounts())
                    figures.append(build_figure(day, terminal, region, source, counts, has_inquired, has_tm))
    return figures


def visit_sources(label: Label) -> list[tuple[str, str, str]]:
    """Return the source keys a visit counts in: its own row, its category when that differs, and the total."""
    own = (label.source, label.sub_source, label.raw_label)
    sources = [own, (TOTAL, "", "")]
    if label.sub_source:
        sources.append((label.source, "", ""))
    return sources


def visit_terminals(visit: Visit, terminals: list[str]) -> list[str]:
    return [terminal for terminal in terminals if terminal in (visit.terminal, Terminal.ALL)]


def visit_regions(visit: Visit, regions: list[str]) -> list[str]:
    return [region for region in regions if region == Region.ALL or not visit.mainland]


def count_visit(counts: GroupCounts, visit: Visit) -> None:
    counts.visitors.add(visit.visitor_id)
    if visit.inquired:
        counts.inquiry_customers.add(visit.visitor_id)
    if visit.tm_consulted:
        counts.tm_customers.add(visit.visitor_id)
    for header, number in visit.numbers.items():
        counts.sums[header] += number


def all_categories() -> list[tuple[str, str, str]]:
    return [(category.code, "", "") for category in CATEGORIES] + [(TOTAL, "", "")]


def covered_period(visits: list[Visit], preamble: Preamble) -> tuple[datetime.date, datetime.date]:
    """Return the stated period, or the first and last day with visits.

    Every day in between gets figures, because a day without rows had no visitors.
    """
    if preamble.period:
        return preamble.period
    return min(visit.date for visit in visits), max(visit.date for visit in visits)


def build_figure(
    day: datetime.date, terminal: str, region: str, source: tuple[str, str, str], counts: GroupCounts,
    has_inquired: bool, has_tm: bool,
) -> ParsedFigure:
    visitors = len(counts.visitors)
    inquiry_customers = len(counts.inquiry_customers) if has_inquired else None
    tm_customers = len(counts.tm_customers) if has_tm else None
    return ParsedFigure(
        granularity=Granularity.DAY, period_start=day, terminal=terminal, region=region,
        source=source[0], sub_source=source[1], raw_label=source[2],
        visitors=visitors, inquiry_customers=inquiry_customers, tm_customers=tm_customers,
        feedback_conversion_rate=feedback_conversion_rate(visitors, inquiry_customers, tm_customers),
        extra=dict(counts.sums),
    )
