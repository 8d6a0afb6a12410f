"""Find the table in a sheet: its header row, what each column holds, and the preamble above it.

Shared by the layout parsers. Column names are matched after normalize_label
(full-width folded, spaces removed, lower case), so `Store Visitors` and
`store visitors` are the same column.
"""

import datetime
import itertools
import time
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop

from traffic.dimensions import Region, Terminal
from traffic.taxonomy import normalize_label

from .base import ERROR, WARNING, Problem
from .values import InvalidValue, find_period, fold_text

HEADER_SEARCH_ROWS = 20

# Distinct cell values that a reader remembers per column; beyond this, values are parsed each time.
CACHE_LIMIT = 100_000

SOURCE_REPORT = "traffic_source_report"
TREND = "trend"
VISITOR_DETAILS = "visitor_details"
CANONICAL = "canonical"

# Column role -> header texts seen in Chinese and English exports.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source": ("流量渠道", "流量来源", "来源渠道", "来源", "渠道", "Traffic Channel", "Traffic Source", "Source"),
    "sub_source": ("子渠道", "二级渠道", "二级来源", "细分渠道", "Sub-channel", "Sub-source", "Sub Source"),
    "visitors": ("店铺访问人数", "访客数", "访客人数", "访问人数", "Store Visitors", "Visitors", "UV"),
    "inquiry_customers": ("店内询盘人数", "询盘客户数", "询盘人数", "Inquiry Customers"),
    "tm_customers": ("店内TM咨询人数", "TM咨询客户数", "TM咨询人数", "TM Consultation Customers"),
    "feedback_conversion_rate": (
        "商机转化率", "反馈转化率", "Feedback Conversion Rate", "Opportunity Conversion Rate",
    ),
    "date": ("日期", "统计日期", "访问日期", "时间", "Date", "Visit Date"),
    "terminal": ("终端", "终端类型", "Terminal", "Device"),
    "visitor_id": ("访客ID", "访客编号", "Visitor ID"),
    "country": ("国家/地区", "国家", "地区", "Country/Region", "Country", "Region"),
    "inquired": ("是否询盘", "Inquired", "Sent Inquiry"),
    "tm_consulted": ("是否TM咨询", "TM Consulted", "Started TM Consultation"),
}
ROLE_BY_HEADER = {
    normalize_label(header): role for role, headers in COLUMN_SYNONYMS.items() for header in headers
}

# NOTE: APP and WAP both map to wireless, so a trend file that lists both for the same
# date and source is rejected as a duplicate key. Their wireless figure cannot be summed
# from them, because a buyer who used both is counted in each.
TERMINAL_VALUES = {
    "全部": Terminal.ALL, "所有": Terminal.ALL, "total": Terminal.ALL, "all": Terminal.ALL,
    "pc": Terminal.PC,
    "无线": Terminal.WIRELESS, "ws": Terminal.WIRELESS, "wireless": Terminal.WIRELESS,
    "app": Terminal.WIRELESS, "wap": Terminal.WIRELESS, "mobile": Terminal.WIRELESS,
}
YES_VALUES = ("是", "yes", "y", "true", "1")
NO_VALUES = ("否", "no", "n", "false", "0")


@dataclass
class Table:
    """One sheet's table: the header, the preamble rows above it and the data rows below."""

    layout: str
    file: str
    sheet: str
    header_row: int  # 1-based
    headers: list[str]
    columns: dict[str, int]  # role -> 0-based column index
    preamble: list[list]
    rows: "TableRows"  # (1-based row number, cells), read again on each iteration

    def column_name(self, index: int) -> str:
        """Return the header text of a column, or its letter when the header cell is empty."""
        if index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        return column_letter(index)

    def cell(self, cells: list, role: str):
        index = self.columns.get(role)
        if index is None or index >= len(cells):
            return ""
        return cells[index]

    def extra_columns(self) -> list[int]:
        known = set(self.columns.values())
        return [index for index, header in enumerate(self.headers) if header and index not in known]

    def problem(self, level: str, message: str, params: dict | None = None, *, row=None, role="", value="") -> Problem:
        column = self.column_name(self.columns[role]) if role in self.columns else ""
        return Problem(
            level, message, params or {}, file=self.file, sheet=self.sheet, row=row, column=column,
            value=cell_text(value),
        )


@dataclass
class Preamble:
    """Settings stated in the lines above the header, with "" for a setting they do not state."""

    period: tuple[datetime.date, datetime.date] | None = None
    terminal: str = ""
    region: str = ""
    problems: list[Problem] = field(default_factory=list)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value).strip()


def is_blank_row(cells: list) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


def find_table(rows, file: str, sheet: str) -> Table | None:
    """Return the table whose header is on one of the first 20 rows, or None if there is no known header.

    rows is a list or a TextRows; the data rows below the header are not read here.
    """
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    for index, cells in enumerate(head):
        headers = [fold_text(cell_text(cell)) for cell in cells]
        columns = canonical_columns(headers)
        layout = CANONICAL if columns is not None else None
        if layout is None:
            columns = match_columns(headers)
            layout = classify_layout(columns)
        if layout is None:
            continue

        return Table(
            layout=layout, file=file, sheet=sheet, header_row=index + 1, headers=headers,
            columns=columns, preamble=head[:index], rows=TableRows(rows, index + 1),
        )
    return None


class TableRows:
    """The data rows below a header as (1-based row number, cells); iterable more than once."""

    def __init__(self, rows, first_index: int):
        self.rows = rows
        self.first_index = first_index

    def __iter__(self):
        data = itertools.islice(self.rows, self.first_index, None)
        return enumerate(data, start=self.first_index + 1)


def canonical_columns(headers: list[str]) -> dict[str, int] | None:
    from .canonical import canonical_columns as match_canonical

    return match_canonical(headers)


def match_columns(headers: list[str]) -> dict[str, int]:
    """Map each known role to the first column whose header names it."""
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        role = ROLE_BY_HEADER.get(normalize_label(header))
        if role and role not in columns:
            columns[role] = index
    return columns


def classify_layout(columns: dict[str, int]) -> str | None:
    if {"visitor_id", "date", "source"} <= columns.keys():
        return VISITOR_DETAILS
    if {"date", "visitors"} <= columns.keys():
        return TREND
    if {"source", "visitors"} <= columns.keys():
        return SOURCE_REPORT
    return None


def read_preamble(table: Table, options) -> Preamble:
    """Read the period, terminal and region stated in the rows above the header.

    A period given with the upload replaces the stated one, with a warning when they differ.
    """
    preamble = Preamble()

    for number, cells in enumerate(table.preamble, start=1):
        text = " ".join(cell_text(cell) for cell in cells if cell_text(cell))
        if not text:
            continue
        read_period_line(table, preamble, number, text)
        read_setting_line(table, preamble, number, text)

    if options.period:
        if preamble.period and preamble.period != options.period:
            preamble.problems.append(table.problem(
                WARNING,
                gettext_noop("The file states the period %(stated)s, but the upload sets %(chosen)s; %(chosen)s is used."),
                {"stated": format_period(preamble.period), "chosen": format_period(options.period)},
            ))
        preamble.period = options.period

    return preamble


def format_period(period: tuple[datetime.date, datetime.date]) -> str:
    return f"{period[0].isoformat()}~{period[1].isoformat()}"


def read_period_line(table: Table, preamble: Preamble, number: int, text: str) -> None:
    if preamble.period is not None:
        return
    try:
        preamble.period = find_period(text)
    except InvalidValue as exc:
        preamble.problems.append(table.problem(ERROR, exc.message, row=number, value=text))
        return

    if preamble.period and preamble.period[1] < preamble.period[0]:
        preamble.problems.append(
            table.problem(ERROR, gettext_noop("The period ends before it starts."), row=number, value=text)
        )
        preamble.period = None


def read_setting_line(table: Table, preamble: Preamble, number: int, text: str) -> None:
    """Read `终端：无线`, `Terminal: PC`, `剔除中国大陆流量：是` and their English forms."""
    for part in fold_text(text).replace("，", ",").split(","):
        name, separator, value = part.partition(":")
        if not separator:
            continue
        name, value = normalize_label(name), normalize_label(value)

        if name in ("终端", "terminal", "终端类型", "device"):
            preamble.terminal = parse_terminal(value) or ""
            if not preamble.terminal:
                preamble.problems.append(table.problem(
                    ERROR, gettext_noop("Unknown terminal: expected 全部 (All), PC or 无线 (Wireless)."),
                    row=number, value=part.strip(),
                ))
        elif name in ("剔除中国大陆流量", "excludemainlandchina", "excludemainlandchinatraffic"):
            preamble.region = parse_region_flag(value) or ""
            if not preamble.region:
                preamble.problems.append(table.problem(
                    ERROR,
                    gettext_noop("Unknown value for excluding mainland China traffic: expected 是 (yes) or 否 (no)."),
                    row=number, value=part.strip(),
                ))


def parse_terminal(value) -> str | None:
    return TERMINAL_VALUES.get(normalize_label(cell_text(value)))


def parse_region_flag(value) -> str | None:
    flag = parse_flag(value)
    if flag is None:
        return None
    return Region.EXCLUDE_CN if flag else Region.ALL


def parse_flag(value) -> bool | None:
    """Parse a yes/no cell (是/否, Yes/No, 1/0); None when it is neither."""
    text = normalize_label(cell_text(value))
    if text in YES_VALUES:
        return True
    if text in NO_VALUES:
        return False
    return None


def choose_terminal_and_region(table: Table, preamble: Preamble, options, problems: list[Problem]) -> tuple[str, str]:
    """Return the terminal and region: the upload's options win over the preamble, then `all`."""
    if options.terminal and preamble.terminal and options.terminal != preamble.terminal:
        problems.append(table.problem(
            WARNING,
            gettext_noop("The file states terminal %(stated)s, but the upload sets %(chosen)s; %(chosen)s is used."),
            {"stated": preamble.terminal, "chosen": options.terminal},
        ))
    if options.region and preamble.region and options.region != preamble.region:
        problems.append(table.problem(
            WARNING,
            gettext_noop("The file states region %(stated)s, but the upload sets %(chosen)s; %(chosen)s is used."),
            {"stated": preamble.region, "chosen": options.region},
        ))

    terminal = options.terminal or preamble.terminal or Terminal.ALL
    region = options.region or preamble.region or Region.ALL
    return terminal, region


def is_note_row(cells: list) -> bool:
    """Return True for a row with text in one cell only, such as a note below the table."""
    filled = [cell for cell in cells if cell_text(cell) != ""]
    return len(filled) == 1 and isinstance(filled[0], str)


class ProgressReporter:
    """Calls progress(rows_read, rows_total) every REPORT_EVERY rows, and at most every MIN_SECONDS seconds.

    Each report is an UPDATE of the upload row and a commit. Without the time
    limit, a file of a million rows would commit a thousand times, while the
    progress bar needs a few updates a second at most.
    """

    REPORT_EVERY = 1000
    MIN_SECONDS = 0.5

    def __init__(self, callback, rows_total: int, clock=time.monotonic):
        self.callback = callback
        self.rows_total = rows_total
        self.rows_read = 0
        self.blank_rows = 0
        self.clock = clock
        self.reported_at = None

    @property
    def filled_rows(self) -> int:
        return self.rows_read - self.blank_rows

    def blank_row(self) -> None:
        """Count a blank row already passed to row_read(), so that filled_rows leaves it out."""
        self.blank_rows += 1

    def row_read(self) -> None:
        self.rows_read += 1
        if self.callback and self.rows_read % self.REPORT_EVERY == 0:
            now = self.clock()
            if self.reported_at is None or now - self.reported_at >= self.MIN_SECONDS:
                self.reported_at = now
                self.callback(self.rows_read, self.rows_total)

    def finish(self) -> None:
        if self.callback:
            self.callback(self.rows_total, self.rows_total)


def read_date_in_period(table: Table, number: int, cells: list, preamble: Preamble, problems: list[Problem]):
    """Parse the row's date; return None and add an error when it is invalid or outside the stated period."""
    from .values import parse_date

    value = table.cell(cells, "date")
    try:
        date = parse_date(value)
    except InvalidValue as exc:
        problems.append(table.problem(ERROR, exc.message, row=number, role="date", value=value))
        return None

    if preamble.period and not preamble.period[0] <= date <= preamble.period[1]:
        start, end = preamble.period
        problems.append(table.problem(
            ERROR, gettext_noop("The date is outside the period %(start)s~%(end)s stated in the title."),
            {"start": start.isoformat(), "end": end.isoformat()}, row=number, role="date", value=value,
        ))
        return None
    return date
