"""Import visitor details (访客详情): one visit per row, aggregated into daily figures.

Figures are produced for every day the file covers, for each terminal (PC,
wireless and all) and each region (all traffic, and excluding mainland China,
which is country CN only). Within those, there is a figure for every sub-source
and unknown label seen in the file, for every category, and for the store total. Visitors are distinct visitor
ids per day within each group, so a buyer who came from two sub-sources counts
once in their category and once in the total. Inquiry and TM customers are
distinct visitors with the flag set in the group.

A file of IMPORT_STAGE_ROWS rows or more is counted by the database: its visits
go to a temporary table (traffic.staging) and one GROUP BY counts them, so the
worker's memory does not grow with the file. A smaller file is counted in
memory. Both routes give the same figures.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_noop

from traffic.dimensions import Granularity, Region, Terminal
from traffic.metrics import feedback_conversion_rate
from traffic.staging import RowBuffer, StagingTable
from traffic.taxonomy import CATEGORIES, TOTAL

from .base import ERROR, ImportOptions, ParsedFigure, Problem
from .figures import Label, label_to_source, warn_unknown_label
from .table import (
    CACHE_LIMIT, Preamble, ProgressReporter, Table, cell_text, is_blank_row, is_note_row, parse_flag, parse_terminal,
    read_date_in_period, read_preamble,
)
from .values import InvalidValue, is_missing, parse_decimal

# Country cells that mean mainland China. Hong Kong, Macao and Taiwan are not mainland.
MAINLAND_CHINA = ("cn", "中国", "中国大陆", "china", "mainlandchina")

# The platform keeps 31 days of visitor details, so a much longer span means a wrong
# date. It would also multiply the figures produced (every day x terminal x region x source).
MAX_DAYS = 366



class NotSummed(dict):
    """Remembered values of an extra column that contains text, where every cell reads as None."""

    def __missing__(self, key):
        return None




@dataclass
class GroupCounts:
    visitors: int = 0
    inquiry_customers: int = 0
    tm_customers: int = 0
    sums: dict = field(default_factory=dict)


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
    reader = VisitReader(table, preamble, terminals[0], problems)
    staged = progress.rows_total >= settings.IMPORT_STAGE_ROWS
    counter = StagedCounter(reader) if staged else MemoryCounter(reader)
    try:
        for visit in reader.visits(progress):
            counter.add(visit)
        counter.finish_reading()
        check_against_options(table, reader, options, problems)
        if not reader.days or any(problem.level == ERROR for problem in problems):
            return []

        first, last = preamble.period or (min(reader.days), max(reader.days))
        day_count = (last - first).days + 1
        if day_count > MAX_DAYS:
            problems.append(table.problem(
                ERROR, gettext_noop("The visits span %(days)s days, more than %(max_days)s. Check the dates in the file."),
                {"days": day_count, "max_days": MAX_DAYS}, role="date",
            ))
            return []

        days = [first + datetime.timedelta(days=offset) for offset in range(day_count)]
        groups = counter.count(terminals, regions)
    finally:
        counter.close()
    return build_figures(reader, groups, days, terminals, regions)


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


class VisitReader:
    """Reads visit rows, remembering what each distinct cell value means.

    A visitor-details file repeats a few dates, terminals, countries, channels
    and flags over many rows, so each distinct value is checked once. A row with
    a value not seen before goes through read_visit, which also reports what is
    wrong with it.
    """

    def __init__(self, table: Table, preamble: Preamble, default_terminal: str, problems: list[Problem]):
        self.table = table
        self.preamble = preamble
        self.default_terminal = default_terminal
        self.problems = problems
        self.labels: list[Label] = []
        self.label_ids: dict[str, int] = {}
        self.extra_headers = [table.headers[index] for index in table.extra_columns()]
        self.extra_indexes = table.extra_columns()
        self.numeric_extras = [True] * len(self.extra_indexes)
        self.filled_extras = [False] * len(self.extra_indexes)
        # Per extra column: {cell value: the number it stands for}.
        self.extra_values: list[dict] = [{} for _index in self.extra_indexes]
        self.has_inquired = "inquired" in table.columns
        self.has_tm = "tm_consulted" in table.columns
        self.days: set[datetime.date] = set()
        self.terminals_seen: set[str] = set()
        self.any_mainland = False
        # column role -> {cell value: parsed value}
        self.known: dict[str, dict] = {role: {} for role in ("date", "terminal", "country", "source", "flag")}

    def visits(self, progress: ProgressReporter):
        """Yield each valid visit as a tuple and report invalid rows to problems.

        The tuple is (date, visitor_id, terminal, mainland, label, inquired,
        tm_consulted, *extras). The terminal is pc or wireless, or the chosen
        terminal when the file has no terminal column. Label is an index into
        self.labels. Mainland, inquired and tm_consulted are 1 or 0, and there is
        one number per extra column (None where the row is cut short).
        """
        columns = self.table.columns
        visitor_index = columns["visitor_id"]
        date_index = columns["date"]
        source_index = columns["source"]
        terminal_index = columns.get("terminal")
        country_index = columns.get("country")
        inquired_index = columns.get("inquired")
        tm_index = columns.get("tm_consulted")
        dates, terminals, countries, sources, flags = (
            self.known["date"], self.known["terminal"], self.known["country"], self.known["source"], self.known["flag"]
        )
        default_terminal = self.default_terminal
        days_seen, terminals_seen = self.days, self.terminals_seen
        read_extras = self.read_extras if self.extra_indexes else None

        for number, cells in self.table.rows:
            progress.row_read()
            try:
                visitor_id = cells[visitor_index].strip()
                date = dates[cells[date_index]]
                terminal = terminals[cells[terminal_index]] if terminal_index is not None else default_terminal
                mainland = countries[cells[country_index]] if country_index is not None else 0
                label = sources[cells[source_index]]
                inquired = flags[cells[inquired_index]] if inquired_index is not None else 0
                tm_consulted = flags[cells[tm_index]] if tm_index is not None else 0
                if not visitor_id:
                    raise KeyError
            except (KeyError, IndexError, AttributeError, TypeError):
                if is_blank_row(cells):
                    progress.blank_row()
                    continue
                if is_note_row(cells) and cell_text(self.table.cell(cells, "visitor_id")) == "":
                    break  # notes below the table
                visit = self.read_visit(number, cells)
                if visit is None:
                    continue
                date, visitor_id, terminal, mainland, label, inquired, tm_consulted = visit

            if date not in days_seen:
                days_seen.add(date)
            if terminal not in terminals_seen:
                terminals_seen.add(terminal)
            if mainland:
                self.any_mainland = True
            if read_extras is None:
                yield (date, visitor_id, terminal, mainland, label, inquired, tm_consulted)
            else:
                yield (date, visitor_id, terminal, mainland, label, inquired, tm_consulted, *read_extras(cells))

    def read_visit(self, number: int, cells: list) -> tuple | None:
        """Read a row cell by cell, reporting errors; remember the valid values for the rows after it."""
        table, problems = self.table, self.problems
        errors_before = len(problems)

        visitor_id = cell_text(table.cell(cells, "visitor_id"))
        if not visitor_id:
            problems.append(table.problem(ERROR, gettext_noop("The visitor ID is missing."), row=number, role="visitor_id"))
        date = read_date_in_period(table, number, cells, self.preamble, problems)
        terminal = read_visit_terminal(table, number, cells, self.default_terminal, problems)
        label = self.read_source(number, cells)
        inquired = read_flag(table, number, cells, "inquired", problems)
        tm_consulted = read_flag(table, number, cells, "tm_consulted", problems)
        if any(problem.level == ERROR for problem in problems[errors_before:]):
            return None

        # Flags are kept as 1 and 0, which the staging table stores and MAX() reads on every database.
        mainland = int(is_mainland_china(cell_text(table.cell(cells, "country"))))
        inquired, tm_consulted = int(bool(inquired)), int(bool(tm_consulted))
        self.remember("date", table.cell(cells, "date"), date)
        self.remember("terminal", table.cell(cells, "terminal"), terminal)
        self.remember("country", table.cell(cells, "country"), mainland)
        for role, flag in (("inquired", inquired), ("tm_consulted", tm_consulted)):
            if role in table.columns:
                self.remember("flag", table.cell(cells, role), flag)
        return date, visitor_id, terminal, mainland, label, inquired, tm_consulted

    def remember(self, kind: str, value, meaning) -> None:
        known = self.known[kind]
        if len(known) < CACHE_LIMIT and isinstance(value, str):
            known[value] = meaning

    def read_source(self, number: int, cells: list) -> int | None:
        table = self.table
        value = table.cell(cells, "source")
        label = cell_text(value).strip()
        source = label_to_source(label) if label else None

        if source is None or source.source == TOTAL:
            self.problems.append(table.problem(
                ERROR, gettext_noop("Expected the traffic source of the visit, such as 文字搜索 or 直接访问."),
                row=number, role="source", value=label,
            ))
            return None
        if not source.known:
            warn_unknown_label(table, number, label, self.problems)

        key = (source.source, source.sub_source, source.raw_label)
        if key not in self.label_ids:
            self.label_ids[key] = len(self.labels)
            self.labels.append(source)
        label_id = self.label_ids[key]
        self.remember("source", value, label_id)
        return label_id

    def read_extras(self, cells: list) -> list:
        """Return the extra columns as numbers (0 for an empty cell), None past the row's end.

        Each column remembers what its cell values mean, so a row of values seen
        before costs one lookup per column. A column that has held a cell other
        than a number is not summed, so its later cells all read as None.
        """
        try:
            return list(map(dict.__getitem__, self.extra_values, map(cells.__getitem__, self.extra_indexes)))
        except (KeyError, IndexError, TypeError):
            return [self.read_extra(position, index, cells) for position, index in enumerate(self.extra_indexes)]

    def read_extra(self, position: int, index: int, cells: list) -> int | float | None:
        if index >= len(cells):
            return None
        values = self.extra_values[position]
        value = cells[index]
        try:
            return values[value]
        except (KeyError, TypeError):
            pass

        number = number_or_none(value)
        if number is None and not is_missing(value):
            self.numeric_extras[position] = False
            self.extra_values[position] = NotSummed()
            return None
        if number is None:
            number = 0
        else:
            self.filled_extras[position] = True
        if len(values) < CACHE_LIMIT and isinstance(value, str):
            values[value] = number
        return number

    def summable_headers(self) -> list[tuple[int, str]]:
        """Return (position, header) of the extra columns with numbers, and only numbers, in their filled cells."""
        return [
            (position, header) for position, header in enumerate(self.extra_headers)
            if self.numeric_extras[position] and self.filled_extras[position]
        ]


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


def number_or_none(value) -> int | float | None:
    """Return the cell as an int or float, or None when it is empty or not a number."""
    try:
        number = parse_decimal(value)
    except InvalidValue:
        return None
    if number is None:
        return None
    if number == int(number):
        return int(number)
    return float(number)


def check_against_options(table: Table, reader: VisitReader, options: ImportOptions, problems: list[Problem]) -> None:
    """Reject visits that contradict the terminal or region set for the upload, instead of dropping them."""
    if "terminal" in table.columns and options.terminal not in ("", Terminal.ALL):
        other = sorted(terminal for terminal in reader.terminals_seen if terminal != options.terminal)
        if other:
            problems.append(table.problem(
                ERROR,
                gettext_noop(
                    "The file has visits on terminals %(found)s, but the upload is set to %(chosen)s. Leave the "
                    "terminal of the upload empty to import every terminal."
                ),
                {"found": ", ".join(other), "chosen": options.terminal}, role="terminal",
            ))

    if "country" in table.columns and options.region == Region.EXCLUDE_CN and reader.any_mainland:
        problems.append(table.problem(
            ERROR,
            gettext_noop(
                "The file has visits from mainland China (CN), but the upload is set to exclude them. Leave "
                "the region of the upload empty: figures excluding mainland China are computed from the file."
            ),
            role="country",
        ))


def visit_sources(label: Label) -> list[tuple[str, str, str]]:
    """Return the source keys a visit counts in: its own row, its category when that differs, and the total."""
    own = (label.source, label.sub_source, label.raw_label)
    sources = [own, (TOTAL, "", "")]
    if label.sub_source:
        sources.append((label.source, "", ""))
    return sources


class MemoryCounter:
    """Counts distinct visitors per group in sets; for files small enough to hold."""

    def __init__(self, reader: VisitReader):
        self.reader = reader
        self.visits: list[tuple] = []

    def add(self, visit: tuple) -> None:
        self.visits.append(visit)

    def finish_reading(self) -> None:
        pass

    def close(self) -> None:
        self.visits = []

    def count(self, terminals: list[str], regions: list[str]) -> dict[tuple, GroupCounts]:
        summable = self.reader.summable_headers()
        sets: dict[tuple, tuple[set, set, set, dict]] = defaultdict(lambda: (set(), set(), set(), defaultdict(int)))
        sources_of = [visit_sources(label) for label in self.reader.labels]

        for date, visitor_id, visit_terminal, mainland, label, inquired, tm_consulted, *extras in self.visits:
            visit_terminals = [terminal for terminal in terminals if terminal in (visit_terminal, Terminal.ALL)]
            visit_regions = [region for region in regions if region == Region.ALL or not mainland]
            for terminal in visit_terminals:
                for region in visit_regions:
                    for source in sources_of[label]:
                        visitors, inquiry, tm, sums = sets[(date, terminal, region, source)]
                        visitors.add(visitor_id)
                        if inquired:
                            inquiry.add(visitor_id)
                        if tm_consulted:
                            tm.add(visitor_id)
                        for position, header in summable:
                            if extras[position] is not None:
                                sums[header] += extras[position]

        return {
            key: GroupCounts(len(visitors), len(inquiry), len(tm), dict(sums))
            for key, (visitors, inquiry, tm, sums) in sets.items()
        }


class StagedCounter:
    """Counts distinct visitors per group in the database, from visits staged in a temporary table."""

    def __init__(self, reader: VisitReader):
        self.reader = reader
        columns = [
            ("day", "date"), ("visitor", text_type()), ("terminal", "varchar(16)"), ("mainland", "smallint"),
            ("label", "integer"), ("inquired", "smallint"), ("tm", "smallint"),
        ]
        columns += [(f"extra_{position}", "numeric") for position in range(len(reader.extra_indexes))]
        self.visits = StagingTable("traffic_stage_visits", columns)
        self.buffer = RowBuffer(self.visits)
        self.expansions: list[StagingTable] = []

    def add(self, visit: tuple) -> None:
        self.buffer.append(visit)

    def finish_reading(self) -> None:
        self.buffer.flush()
        self.visits.analyze()

    def close(self) -> None:
        for table in [self.visits, *self.expansions]:
            table.drop()

    def count(self, terminals: list[str], regions: list[str]) -> dict[tuple, GroupCounts]:
        """Count each day, terminal, region and source with one query over small expansion tables."""
        terminal_pairs = [
            (visit_terminal, terminal) for visit_terminal in (Terminal.PC, Terminal.WIRELESS, *terminals)
            for terminal in terminals if terminal in (visit_terminal, Terminal.ALL)
        ]
        region_pairs = [
            (mainland, region) for mainland in (0, 1) for region in regions if region == Region.ALL or not mainland
        ]
        source_rows = [
            (label_id, *source) for label_id, label in enumerate(self.reader.labels) for source in visit_sources(label)
        ]
        terminal_table = self.expansion("traffic_stage_terminals", [("visit_terminal", "varchar(16)"), ("terminal", "varchar(16)")], set(terminal_pairs))
        region_table = self.expansion("traffic_stage_regions", [("mainland", "smallint"), ("region", "varchar(16)")], region_pairs)
        source_table = self.expansion(
            "traffic_stage_sources",
            [("label", "integer"), ("source", "varchar(32)"), ("sub_source", "varchar(64)"), ("raw_label", "varchar(200)")],
            source_rows,
        )

        summable = self.reader.summable_headers()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The counting sorts and hashes about one row per visit: give it memory, and skip the
                # JIT compilation, which costs more than it saves on this query.
                self.visits.execute("SET LOCAL work_mem = '256MB'")
                self.visits.execute("SET LOCAL jit = off")
            rows = self.visits.execute(self.count_sql(terminal_table, region_table, source_table, summable))

        groups = {}
        for day, terminal, region, source, sub_source, raw_label, visitors, inquiry, tm, *sums in rows:
            if isinstance(day, str):
                day = datetime.date.fromisoformat(day)  # SQLite returns the text it stored
            totals = {header: plain_number(total) for (_position, header), total in zip(summable, sums) if total is not None}
            groups[(day, terminal, region, (source, sub_source, raw_label))] = GroupCounts(visitors, inquiry, tm, totals)
        return groups

    def count_sql(self, terminals: StagingTable, regions: StagingTable, sources: StagingTable, summable) -> str:
        """Return the query that counts each group of the staged visits.

        Most visitors come from one terminal, country and channel on a day. Those
        ("single") are counted per channel first, and the few hundred counts are
        then added into their groups, with no distinct count. The visits of the
        others ("multi") are expanded into every group they belong to and
        counted once per visitor and group.
        """
        extras = [f"extra_{position}" for position, _header in summable]
        sums = "".join(f", SUM({extra}) AS {extra}" for extra in extras)
        visit_sums = "".join(f", SUM(v.{extra}) AS {extra}" for extra in extras)
        single_extras = "".join(f", g.{extra}" for extra in extras)
        plain_extras = "".join(f", {extra}" for extra in extras)
        joins = (
            f"JOIN {terminals.name} t ON t.visit_terminal = {{alias}}.terminal "
            f"JOIN {regions.name} r ON r.mainland = {{alias}}.mainland "
            f"JOIN {sources.name} s ON s.label = {{alias}}.label"
        )
        one_combination = (
            "{alias}terminal = {alias}last_terminal AND {alias}mainland = {alias}last_mainland "
            "AND {alias}label = {alias}last_label"
        )
        return f"""
            WITH per_day AS (
                SELECT day, visitor, MIN(terminal) AS terminal, MAX(terminal) AS last_terminal,
                       MIN(mainland) AS mainland, MAX(mainland) AS last_mainland, MIN(label) AS label,
                       MAX(label) AS last_label, MAX(inquired) AS inquired, MAX(tm) AS tm{sums}
                FROM {{table}}
                GROUP BY day, visitor
            ),
            single AS (
                SELECT day, terminal, mainland, label, COUNT(*) AS visitors, SUM(inquired) AS inquired,
                       SUM(tm) AS tm{sums}
                FROM per_day WHERE {one_combination.format(alias="")}
                GROUP BY day, terminal, mainland, label
            ),
            multi AS (
                SELECT v.day, t.terminal, r.region, s.source, s.sub_source, s.raw_label, MAX(v.inquired) AS inquired,
                       MAX(v.tm) AS tm{visit_sums}
                FROM {{table}} v
                JOIN per_day p ON p.day = v.day AND p.visitor = v.visitor AND NOT ({one_combination.format(alias="p.")})
                {joins.format(alias="v")}
                GROUP BY v.day, t.terminal, r.region, s.source, s.sub_source, s.raw_label, v.visitor
            )
            SELECT day, terminal, region, source, sub_source, raw_label, SUM(visitors), SUM(inquired), SUM(tm){sums}
            FROM (
                SELECT g.day, t.terminal, r.region, s.source, s.sub_source, s.raw_label, g.visitors, g.inquired,
                       g.tm{single_extras}
                FROM single g {joins.format(alias="g")}
                UNION ALL
                SELECT day, terminal, region, source, sub_source, raw_label, 1, inquired, tm{plain_extras}
                FROM multi
            ) AS counted
            GROUP BY day, terminal, region, source, sub_source, raw_label
        """

    def expansion(self, prefix: str, columns: list[tuple[str, str]], rows) -> StagingTable:
        table = StagingTable(prefix, columns)
        self.expansions.append(table)
        table.load(list(rows))
        return table


def text_type() -> str:
    """Return the column type for visitor ids: byte-order collation on PostgreSQL, which compares faster than a locale's."""
    return 'text COLLATE "C"' if connection.vendor == "postgresql" else "text"


def plain_number(value) -> int | float:
    """Return a database sum as an int when it is whole, else as a float, like the in-memory count."""
    if value == int(value):
        return int(value)
    return float(value)


def all_categories() -> list[tuple[str, str, str]]:
    return [(category.code, "", "") for category in CATEGORIES] + [(TOTAL, "", "")]


def build_figures(
    reader: VisitReader, groups: dict[tuple, GroupCounts], days: list[datetime.date], terminals: list[str],
    regions: list[str],
) -> list[ParsedFigure]:
    """Emit a figure for every day, terminal, region and source, with zero visitors where there were none."""
    seen = {source for label in reader.labels for source in visit_sources(label)}
    sources = all_categories() + sorted(seen - set(all_categories()))
    empty = GroupCounts()
    figures = []
    for day in days:
        for terminal in terminals:
            for region in regions:
                for source in sources:
                    counts = groups.get((day, terminal, region, source), empty)
                    figures.append(build_figure(day, terminal, region, source, counts, reader.has_inquired, reader.has_tm))
    return figures


def build_figure(
    day: datetime.date, terminal: str, region: str, source: tuple[str, str, str], counts: GroupCounts,
    has_inquired: bool, has_tm: bool,
) -> ParsedFigure:
    visitors = counts.visitors
    inquiry_customers = counts.inquiry_customers if has_inquired else None
    tm_customers = counts.tm_customers if has_tm else None
    return ParsedFigure(
        granularity=Granularity.DAY, period_start=day, terminal=terminal, region=region,
        source=source[0], sub_source=source[1], raw_label=source[2],
        visitors=visitors, inquiry_customers=inquiry_customers, tm_customers=tm_customers,
        feedback_conversion_rate=feedback_conversion_rate(visitors, inquiry_customers, tm_customers),
        extra=dict(counts.sums),
    )
