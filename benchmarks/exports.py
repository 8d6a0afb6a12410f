"""CSV and XLSX exports of the comparison page: the store's own figures and the published baselines only."""

import csv
import io

import xlsxwriter
from django.http import HttpResponse
from django.utils.translation import gettext as _

from traffic.spreadsheets import XlsxCells, neutralise

def header() -> list[str]:
    return [
        _("Source"),
        _("Visitors"),
        _("Feedback customers"),
        _("Share of visitors"),
        _("Peer median share"),
        _("Peer share, 25th percentile"),
        _("Peer share, 75th percentile"),
        _("Top-store median share"),
        _("Feedback conversion rate"),
        # xgettext:no-python-format
        _("Your rate, 95% interval low"),
        # xgettext:no-python-format
        _("Your rate, 95% interval high"),
        _("Peer median rate"),
        _("Peer rate, 25th percentile"),
        _("Peer rate, 75th percentile"),
        _("Top-store median rate"),
        _("Extra feedback customers at the top-store rate"),
        _("Gap is significant"),
    ]


def baseline_cells(baseline) -> list:
    if baseline is None:
        return [None, None, None, None]
    return [baseline.median, baseline.p25, baseline.p75, baseline.top_median]


def table_rows(context) -> list[list]:
    """Return the export as rows: facts about the cohort, a blank row, the table, then the advice."""
    comparison = context["comparison"]
    rows = [
        [_("Store"), context["store"].name],
        [_("Period"), context["period_label"]],
        [_("Terminal"), context["terminal"]],
        [_("Region"), context["region"]],
    ]
    if comparison is None:
        rows.append([_("No published peer baseline for this period, terminal and region.")])
        return rows

    snapshot = comparison.snapshot
    rows += [
        [_("Stores in the cohort"), snapshot.cohort_size],
        [_("Stores in the top group"), snapshot.top_group_size],
        [_("Baseline computed at"), snapshot.computed_at.strftime("%Y-%m-%d %H:%M UTC")],
        [],
        header(),
    ]
    for row in [*comparison.sources, comparison.overall]:
        rows.append([
            row.label,
            row.visitors,
            row.feedback_customers,
            row.visitor_share,
            *baseline_cells(row.share_baseline),
            row.conversion_rate,
            row.rate_low,
            row.rate_high,
            *baseline_cells(row.rate_baseline),
            round(row.extra_customers, 1) if row.extra_customers is not None else None,
            _("yes") if row.significant else _("no"),
        ])
    if comparison.advice:
        rows.append([])
        rows += [[line] for line in comparison.advice]
    return rows


def file_name(context, extension: str) -> str:
    period = context["period"].isoformat() if context["period"] else "none"
    return f"{context['store'].slug}-benchmarks-{context['granularity']}-{period}-{context['terminal']}-{context['region']}.{extension}"


def csv_response(context) -> HttpResponse:
    """Return the export as CSV in UTF-8 with a byte-order mark, which Excel on Chinese Windows needs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table_rows(context):
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])

    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name(context, "csv")}"'
    return response


def xlsx_response(context) -> HttpResponse:
    buffer = io.BytesIO()
    # strings_to_formulas off: no text cell is ever written as a formula, whatever it starts with.
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    writer = XlsxCells(workbook)
    sheet = workbook.add_worksheet(_("Benchmarks")[:31])
    for row_number, row in enumerate(table_rows(context)):
        for column, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, str):
                writer.text(sheet, row_number, column, cell)
            else:
                writer.number(sheet, row_number, column, cell)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 16, 14)
    workbook.close()

    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{file_name(context, "xlsx")}"'
    return response
