"""The traffic page as CSV (UTF-8 with a byte-order mark, for Excel on Chinese Windows) and XLSX.

Both start with the filters, then the source table, then the trend by period. Text cells that
a spreadsheet could read as a formula are neutralised (traffic.spreadsheets).
"""

import csv
import io
from decimal import Decimal

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from traffic.dimensions import Granularity, Region, Terminal
from traffic.report.build import PREVIOUS, SHARE_OF_TOTAL, YEAR_BEFORE, Report
from traffic.report.figures import METRICS, RATE
from traffic.report.filters import Metric, RangePreset
from traffic.spreadsheets import XlsxCells, neutralise
from traffic.templatetags.report_tags import reason_symbols
from traffic.templatetags.traffic_format import MISSING

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filter_lines(store, report: Report) -> list[tuple[str, str]]:
    filters = report.filters
    covered = ""
    if filters.covered_first_day:
        covered = f"{filters.covered_first_day.isoformat()} ~ {filters.covered_last_day.isoformat()}"
    share = _("store total as uploaded") if report.share_basis == SHARE_OF_TOTAL else _("sum of the categories")
    return [
        (_("Store"), store.name),
        (_("Granularity"), str(Granularity(filters.granularity).label)),
        (_("Range"), str(RangePreset(filters.preset).label)),
        (_("Dates"), covered or MISSING),
        (_("Periods with data"), f"{report.periods_with_data} / {report.period_count}"),
        (_("Terminal"), str(Terminal(filters.terminal).label)),
        (_("Region"), str(Region(filters.region).label)),
        (_("Share of visitors is of"), share if report.share_basis else MISSING),
        (_("Compared with (previous period)"), report.comparisons[PREVIOUS] or MISSING),
        (_("Compared with (a year before)"), report.comparisons[YEAR_BEFORE] or MISSING),
        (_("Exported at"), timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
        (_("Marks"), _("Σ sum over the periods of the range; † week or month summed from days; ‡ All summed from PC and Wireless; § Others with the labels not yet mapped added in; * some periods lack this figure")),
    ]


def table_header() -> list[str]:
    header = [_("Category"), _("Sub-source"), _("Unmapped label")]
    for metric in METRICS:
        header.append(_metric_heading(metric))
        if metric == "visitors":
            header.append(_("Share of visitors (%)"))
    for metric in METRICS:
        label = Metric(metric).label
        if metric == RATE:
            # The rate changes by percentage points, as the page shows it.
            header.append(_("%(metric)s, change on previous period (pp)") % {"metric": label})
            header.append(_("%(metric)s, change on a year before (pp)") % {"metric": label})
        else:
            header.append(_("%(metric)s, change on previous period (%%)") % {"metric": label})
            header.append(_("%(metric)s, change on a year before (%%)") % {"metric": label})
    header.append(_("Marks"))
    return header


def _metric_heading(metric: str) -> str:
    if metric == RATE:
        return _("%(metric)s (%%)") % {"metric": Metric.FEEDBACK_CONVERSION_RATE.label}
    return str(Metric(metric).label)


def table_rows(report: Report):
    """Yield one list of cells per source row: text, numbers, or — for missing figures."""
    for row in report.rows():
        category = row.label if not row.sub_source and not row.raw_label else _category_label(report, row.source)
        cells = [
            category,
            row.label if row.sub_source and not row.raw_label else "",
            row.raw_label,
        ]
        marks = set()
        for metric in METRICS:
            value = row.current.value(metric)
            marks |= row.current.note(metric)
            cells.append(_number(value, percent=metric == RATE))
            if metric == "visitors":
                cells.append(_number(row.share, percent=True))
        for metric in METRICS:
            for name in (PREVIOUS, YEAR_BEFORE):
                change = row.changes.get(f"{metric}:{name}")
                cells.append(_number(change.value if change else None, percent=True))
        cells.append(reason_symbols(marks))
        yield cells


def _category_label(report, source):
    for row in report.categories:
        if row.source == source:
            return row.label
    return source


def _number(value, percent=False):
    if value is None:
        return MISSING
    if percent:
        return float((Decimal(value) * 100).quantize(Decimal("0.01")))
    return value


def trend_header(report: Report) -> list[str]:
    chart = report.chart or {"datasets": []}
    unit = " (%)" if chart.get("isRate") else ""
    return [_("Period")] + [f"{dataset['label']}{unit}" for dataset in chart["datasets"]] + [_("Marks")]


def trend_rows(report: Report):
    for entry in report.chart_table:
        cells = [entry["label"]]
        cells += [MISSING if value is None else value for value in entry["values"]]
        cells.append("†‡" if entry["derived"] else "")
        yield cells


def _filename(store, report: Report, extension: str) -> str:
    filters = report.filters
    dates = ""
    if filters.covered_first_day:
        dates = f"_{filters.covered_first_day.isoformat()}_{filters.covered_last_day.isoformat()}"
    return f"traffic_{store.slug}_{filters.granularity}{dates}.{extension}"


def csv_response(store, report: Report) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)

    for name, value in filter_lines(store, report):
        writer.writerow([neutralise(name), neutralise(value)])
    writer.writerow([])
    writer.writerow([neutralise(cell) for cell in table_header()])
    for cells in table_rows(report):
        writer.writerow([neutralise(cell) for cell in cells])
    writer.writerow([])
    writer.writerow([neutralise(_("Trend: %(metric)s") % {"metric": Metric(report.filters.metric).label})])
    writer.writerow([neutralise(cell) for cell in trend_header(report)])
    for cells in trend_rows(report):
        writer.writerow([neutralise(cell) for cell in cells])

    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(store, report, "csv")}"'
    return response


def xlsx_response(store, report: Report) -> HttpResponse:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    writer = XlsxCells(workbook)

    sheet = workbook.add_worksheet(_("Sources"))
    row_number = 0
    for name, value in filter_lines(store, report):
        writer.text(sheet, row_number, 0, name, bold=True)
        writer.text(sheet, row_number, 1, value)
        row_number += 1
    row_number += 1
    _write_row(writer, sheet, row_number, table_header(), bold=True)
    for row in table_rows(report):
        row_number += 1
        _write_row(writer, sheet, row_number, row)
    sheet.set_column(0, 2, 18)
    sheet.set_column(3, 20, 14)

    trend = workbook.add_worksheet(_("Trend"))
    writer.text(trend, 0, 0, _("Trend: %(metric)s") % {"metric": Metric(report.filters.metric).label}, bold=True)
    _write_row(writer, trend, 1, trend_header(report), bold=True)
    for offset, row in enumerate(trend_rows(report)):
        _write_row(writer, trend, 2 + offset, row)
    trend.set_column(0, 0, 24)
    workbook.close()

    response = HttpResponse(output.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(store, report, "xlsx")}"'
    return response


def _write_row(writer: XlsxCells, sheet, row_number, values, bold=False):
    properties = {"bold": True} if bold else {}
    for column, value in enumerate(values):
        if isinstance(value, str):
            writer.text(sheet, row_number, column, value, **properties)
        else:
            writer.number(sheet, row_number, column, value, **properties)
