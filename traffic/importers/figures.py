"""Turn table rows into checked figures, for the traffic-source report and the trend."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_noop

from traffic.metrics import feedback_conversion_rate
from traffic.taxonomy import match_label

from .base import ERROR, WARNING, ParsedFigure, Problem
from .table import Table, cell_text
from .values import InvalidValue, parse_count, parse_decimal, parse_rate

COUNT_ROLES = ("visitors", "inquiry_customers", "tm_customers")

# A rate in the file may differ from the one computed from its counts by rounding.
# A gap of more than half a percentage point means the columns do not belong together.
RATE_TOLERANCE = Decimal("0.005")


@dataclass
class Label:
    source: str
    sub_source: str
    raw_label: str  # the label as written, kept only when the taxonomy does not know it
    known: bool


def label_to_source(label: str) -> Label:
    """Return the source a row label names. An unknown label becomes `other` and keeps its own text."""
    match = match_label(label)
    if match is None:
        return Label("other", "", label, known=False)
    return Label(match.source, match.sub_source, "", known=True)


UNKNOWN_LABEL_MESSAGE = gettext_noop(
    "Unknown traffic source; its figures are kept under its own label and counted as Others "
    "until an administrator maps the label."
)


def warn_unknown_label(table: Table, number: int, label: str, problems: list[Problem]) -> None:
    """Warn about an unknown label on the first row that has it, not on every row."""
    for problem in problems:
        if problem.message == UNKNOWN_LABEL_MESSAGE and problem.value == label and problem.sheet == table.sheet:
            return
    problems.append(table.problem(WARNING, UNKNOWN_LABEL_MESSAGE, row=number, role="source", value=label))


def read_metrics(table: Table, number: int, cells: list, problems: list[Problem]) -> dict | None:
    """Parse the counts and the rate of a row; return None (and add errors) when a cell is invalid."""
    metrics: dict = {}
    valid = True

    for role in (*COUNT_ROLES, "feedback_conversion_rate"):
        value = table.cell(cells, role)
        parse = parse_rate if role == "feedback_conversion_rate" else parse_count
        try:
            metrics[role] = parse(value)
        except InvalidValue as exc:
            problems.append(table.problem(ERROR, exc.message, row=number, role=role, value=value))
            valid = False

    metrics["extra"] = read_extra(table, cells)
    return metrics if valid else None


def read_extra(table: Table, cells: list) -> dict:
    """Keep the columns this importer does not know, keyed by header text (page views, impressions…)."""
    extra = {}
    for index in table.extra_columns():
        if index >= len(cells) or cell_text(cells[index]) == "":
            continue
        extra[table.headers[index]] = extra_value(cells[index])
    return extra


def extra_value(value):
    """Return the cell as a number when it contains one, else as text, so that extra stays JSON-serializable."""
    try:
        number = parse_decimal(value)
    except InvalidValue:
        return cell_text(value)
    if number is None:
        return None
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def check_counts(table: Table, number: int, figure: ParsedFigure, problems: list[Problem]) -> bool:
    """Add an error for a negative count or for customers above visitors; return False if any."""
    valid = True

    for role in COUNT_ROLES:
        value = getattr(figure, role)
        if value is not None and value < 0:
            problems.append(table.problem(
                ERROR, gettext_noop("A count of people cannot be negative."), row=number, role=role, value=value,
            ))
            valid = False

    if figure.visitors is None or figure.visitors < 0:
        return valid

    for role in ("inquiry_customers", "tm_customers"):
        value = getattr(figure, role)
        if value is not None and value > figure.visitors:
            problems.append(table.problem(
                ERROR,
                gettext_noop(
                    "There are more customers (%(customers)s) than visitors (%(visitors)s). A customer "
                    "who inquires or chats is also a visitor, so the columns are probably shifted."
                ),
                {"customers": value, "visitors": figure.visitors},
                row=number, role=role, value=value,
            ))
            valid = False
    return valid


def check_rate(table: Table, number: int, figure: ParsedFigure, problems: list[Problem]) -> None:
    """Compute the rate when the file has none, or warn when the file's rate disagrees with its counts."""
    computed = feedback_conversion_rate(figure.visitors, figure.inquiry_customers, figure.tm_customers)
    if figure.feedback_conversion_rate is None:
        figure.feedback_conversion_rate = computed
        return
    if computed is None or abs(figure.feedback_conversion_rate - computed) <= RATE_TOLERANCE:
        return

    problems.append(table.problem(
        WARNING,
        gettext_noop(
            "The feedback conversion rate differs from (inquiry customers + TM customers) ÷ visitors = "
            "%(computed)s by more than half a percentage point. The rate in the file is kept."
        ),
        {"computed": f"{computed * 100:.2f}%"},
        row=number, role="feedback_conversion_rate", value=f"{figure.feedback_conversion_rate * 100:.2f}%",
    ))


class FigureCollector:
    """Collects figures and rejects a key that appears twice with different figures."""

    def __init__(self, table: Table, problems: list[Problem]):
        self.table = table
        self.problems = problems
        self.figures: dict[tuple, tuple[ParsedFigure, int]] = {}

    def add(self, number: int, figure: ParsedFigure, label: str) -> None:
        key = (figure.store, *figure.key())
        if key not in self.figures:
            self.figures[key] = (figure, number)
            return

        first, first_number = self.figures[key]
        report_duplicate(self.table, self.problems, number, first_number, figure == first, label)

    def result(self) -> list[ParsedFigure]:
        return [figure for figure, _number in self.figures.values()]


def report_duplicate(table: Table, problems: list[Problem], number: int, first_number: int, same: bool, label: str) -> None:
    """Report a row whose key an earlier row already has: a warning when it repeats it exactly, else an error."""
    if same:
        problems.append(table.problem(
            WARNING, gettext_noop("This row repeats row %(first_row)s exactly and was skipped."),
            {"first_row": first_number}, row=number, role="source", value=label,
        ))
        return

    problems.append(table.problem(
        ERROR,
        gettext_noop(
            "This source already appears on row %(first_row)s for the same period, terminal and region, "
            "with different figures. Remove one of the two rows."
        ),
        {"first_row": first_number}, row=number, role="source", value=label,
    ))
