"""Result types shared by the importers: parsed figures and the problems found on the way.

Messages are stored as an English msgid plus parameters and translated when
shown, so one upload reads in Chinese for one user and in English for another.
Mark every msgid with gettext_noop where it is written.
"""

import datetime
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.utils.translation import gettext, pgettext

ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    level: str
    message: str  # English msgid, marked with gettext_noop; may hold %(name)s placeholders
    params: dict = field(default_factory=dict)
    file: str = ""
    sheet: str = ""
    row: int | None = None  # 1-based, as a spreadsheet shows it
    column: str = ""  # the column's header, or its letter when there is no header
    value: str = ""

    def render_message(self) -> str:
        """Return the message alone in the active language, without its location."""
        text = gettext(self.message)
        if self.params:
            text = text % self._display_params()
        return text

    def _display_params(self) -> dict:
        """Show a granularity code (day, week, month) by its label in the active language."""
        from traffic.dimensions import Granularity

        params = dict(self.params)
        if params.get("granularity") in Granularity.values:
            params["granularity"] = str(Granularity(params["granularity"]).label)
        return params

    def render(self) -> str:
        """Return the message in the active language with its location."""
        text = self.render_message()

        location = []
        if self.file:
            location.append(gettext("file %(file)s") % {"file": self.file})
        if self.sheet:
            location.append(gettext("sheet %(sheet)s") % {"sheet": self.sheet})
        if self.row is not None:
            location.append(gettext("row %(row)s") % {"row": self.row})
        if self.column:
            location.append(gettext("column %(column)s") % {"column": self.column})
        if self.value != "":
            location.append(gettext("value “%(value)s”") % {"value": self.value})
        if not location:
            return text
        # Translators: separates the parts of a location such as "file a.csv, row 3".
        separator = pgettext("location separator", ", ")
        return gettext("%(message)s (%(location)s)") % {"message": text, "location": separator.join(location)}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Problem":
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__ if key in data})


@dataclass
class ImportOptions:
    """Dimensions stated by the uploader or the command line; each one overrides the file's own statement."""

    granularity: str = ""
    terminal: str = ""
    region: str = ""
    # (first day, last day) for files that state no period of their own.
    period: tuple[datetime.date, datetime.date] | None = None
    # Slug of the store being imported into; a canonical row naming another store is an error.
    # "" in a bulk import, where every canonical row must name its store.
    store: str = ""
    # In a bulk import, the slugs of the stores that exist. A row naming any other store is an error.
    known_stores: frozenset[str] | None = None


@dataclass
class ParsedFigure:
    granularity: str
    period_start: datetime.date
    terminal: str
    region: str
    source: str
    sub_source: str = ""
    raw_label: str = ""
    visitors: int | None = None
    inquiry_customers: int | None = None
    tm_customers: int | None = None
    feedback_conversion_rate: Decimal | None = None
    extra: dict = field(default_factory=dict)
    # Slug of the store a multi-store canonical file names on this row; "" in every other layout.
    store: str = ""

    def key(self) -> tuple:
        return (
            self.granularity,
            self.period_start,
            self.terminal,
            self.region,
            self.source,
            self.sub_source,
            self.raw_label,
        )


@dataclass
class ParseResult:
    layout: str = ""
    figures: list[ParsedFigure] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    # The figures of a large canonical file, in a temporary table (traffic.staging.FigureStage).
    stage: object = None

    @property
    def figure_count(self) -> int:
        return self.stage.count if self.stage is not None else len(self.figures)

    def discard_figures(self) -> None:
        """Forget the figures, and drop the temporary table of staged ones."""
        self.figures = []
        self.drop_stage()

    def drop_stage(self) -> None:
        """Drop the temporary table of staged figures, once they are written or not wanted."""
        if self.stage is not None:
            self.stage.drop()
            self.stage = None

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.level == WARNING]


class ImportRejected(Exception):
    """Raised by an importer when the file cannot be imported; nothing is written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problem.message % problem.params if problem.params else problem.message for problem in problems))
        self.problems = problems
