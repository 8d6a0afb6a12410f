"""The coverage calendar: which days, weeks and months have figures, per terminal and region."""

import datetime
from dataclasses import dataclass

from traffic.dimensions import Granularity, Region, Terminal, period_label
from traffic.report.figures import Coverage
from traffic.report.periods import periods_between


@dataclass
class CoverageColumn:
    """The periods of one granularity that the calendar shows, the same for every terminal and region."""

    granularity: str
    starts: list[datetime.date]
    labels: list[str]


@dataclass
class CoverageStrip:
    column: CoverageColumn
    # One flag per period of the column: whether it has figures.
    has_data: list[bool]

    @property
    def granularity(self) -> str:
        return self.column.granularity

    @property
    def cells(self) -> list[tuple[datetime.date, str, bool]]:
        """Return (period start, label, has data) for each period."""
        return list(zip(self.column.starts, self.column.labels, self.has_data))

    @property
    def with_data(self) -> int:
        return sum(self.has_data)


@dataclass
class CoverageRow:
    terminal: str
    region: str
    label: str
    strips: list[CoverageStrip]
    is_shown: bool


def coverage_calendar(coverage: Coverage, first_day, last_day, terminal: str, region: str) -> list[CoverageRow]:
    """Return one row per terminal and region with a strip of days, weeks and months.

    The strips cover first_day..last_day; weeks and months that overlap its edges are included.
    """
    if first_day is None:
        return []

    columns = []
    for granularity in Granularity.values:
        starts = periods_between(granularity, first_day, last_day)
        columns.append(CoverageColumn(granularity, starts, [period_label(granularity, start) for start in starts]))

    rows = []
    for slice_terminal, terminal_label in Terminal.choices:
        for slice_region, region_label in Region.choices:
            strips = []
            for column in columns:
                granularity = column.granularity
                has_data = [(granularity, slice_terminal, slice_region, start) in coverage for start in column.starts]
                strips.append(CoverageStrip(column, has_data))
            rows.append(
                CoverageRow(
                    terminal=slice_terminal,
                    region=slice_region,
                    label=f"{terminal_label} · {region_label}",
                    strips=strips,
                    is_shown=(slice_terminal, slice_region) == (terminal, region),
                )
            )
    return rows
