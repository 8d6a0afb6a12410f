"""The coverage calendar: which days, weeks and months have figures, per terminal and region."""

import datetime
from dataclasses import dataclass

from traffic.dimensions import Granularity, Region, Terminal, period_label
from traffic.report.figures import Coverage
from traffic.report.periods import periods_between


@dataclass
class CoverageStrip:
    granularity: str
    # (period start, label, has data)
    cells: list[tuple[datetime.date, str, bool]]

    @property
    def with_data(self) -> int:
        return sum(1 for _start, _label, has_data in self.cells if has_data)


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

    rows = []
    for slice_terminal, terminal_label in Terminal.choices:
        for slice_region, region_label in Region.choices:
            strips = []
            for granularity in Granularity.values:
                cells = [
                    (start, period_label(granularity, start), (granularity, slice_terminal, slice_region, start) in coverage)
                    for start in periods_between(granularity, first_day, last_day)
                ]
                strips.append(CoverageStrip(granularity, cells))
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
