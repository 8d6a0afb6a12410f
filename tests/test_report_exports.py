"""CSV and XLSX exports of the traffic page: filters in a header, formulas neutralised."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tests.helpers import add_figure, make_upload
from traffic.spreadsheets import neutralise

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://example.invalid","click")'


@pytest.fixture
def figures(store):
    upload = make_upload(store)
    add_figure(upload, "search", 205, 4, 2, Decimal("0.0293"))
    add_figure(upload, "other", 5, 0, 0, None, raw_label=HYPERLINK)
    add_figure(upload, "other", 6, 0, 0, None, raw_label="@SUM(A1)")
    add_figure(upload, "total", 700, 9, 4, Decimal("0.0186"))
    add_figure(upload, "search", 100, 1, 1, None, period_start=datetime.date(2026, 11, 2))
    return upload


def export_url(store, kind, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{reverse(f'traffic:report_{kind}', args=[store.slug])}?{query}"


def test_neutralise_prefixes_formula_starts():
    for text in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx", "\nx"):
        assert neutralise(text) == "'" + text
    assert neutralise("Search") == "Search"
    assert neutralise("") == ""


def test_csv_has_bom_filters_and_neutralised_labels(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(export_url(store, "csv", granularity="day", period="2026-11-03"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="traffic_solar_day_2026-11-03_2026-11-03.csv"' in response["Content-Disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["店铺", "Shenzhen Solar Co."]
    assert ["统计粒度", "自然日"] in rows or any(row[:1] == ["统计粒度"] for row in rows)
    labels = [row[2] for row in rows if len(row) > 3]
    assert "'" + HYPERLINK in labels
    assert "'@SUM(A1)" in labels
    assert HYPERLINK not in [cell for row in rows for cell in row]
    search = next(row for row in rows if len(row) > 3 and row[0] == "搜索" and row[1] == "")
    assert search[3:8] == ["205", "29.29", "4", "2", "2.93"]


def test_csv_missing_figures_are_dash(client, owner, store, figures):
    add_figure(figures, "direct", None, None, None)
    client.force_login(owner)

    response = client.get(export_url(store, "csv", granularity="day", period="2026-11-03"))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    direct = next(row for row in rows if len(row) > 3 and row[0] == "直接访问")
    assert direct[3] == "—"


def test_xlsx_opens_with_filters_and_neutralised_labels(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(
        export_url(store, "xlsx", granularity="day", period="2026-11-03"), headers={"Accept-Language": "en"}
    )

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert workbook.sheet_names == ["Sources", "Trend"]
    rows = workbook.get_sheet_by_name("Sources").to_python()
    assert rows[0][:2] == ["Store", "Shenzhen Solar Co."]
    assert ["Terminal", "All terminals"] == rows[5][:2]
    labels = [row[2] for row in rows if len(row) > 3]
    # XLSX keeps the label as written and marks its cell with the quote prefix instead.
    assert HYPERLINK in labels
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert 'quotePrefix="1"' in archive.read("xl/styles.xml").decode()
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    search = next(row for row in rows if row[0] == "Search" and row[1] == "")
    assert search[3] == 205
    assert search[4] == pytest.approx(29.29)
    trend = workbook.get_sheet_by_name("Trend").to_python()
    assert trend[1][0] == "Period"
    assert trend[-1][0] == "2026-11-03"


def test_csv_range_marks_sums(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(export_url(store, "csv", granularity="day", range="custom", start="2026-11-02", end="2026-11-03"))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    search = next(row for row in rows if len(row) > 3 and row[0] == "搜索" and row[1] == "")
    assert search[3] == "305"
    assert search[-1] == "Σ"


def test_rate_changes_are_in_points(client, owner, store, figures):
    client.force_login(owner)

    response = client.get(export_url(store, "csv", granularity="day", period="2026-11-03"), headers={"Accept-Language": "en"})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = next(row for row in rows if row and row[0] == "Category")
    assert "Feedback conversion rate, change on previous period (pp)" in header
    assert "Feedback conversion rate, change on a year before (pp)" in header
    assert "Visitors, change on previous period (%)" in header
