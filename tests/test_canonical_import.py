import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from traffic.bulk import bulk_import
from traffic.importers import parse_file
from traffic.importers.base import ImportOptions
from traffic.models import TrafficFigure, Upload

HEADER = "store,period_start,granularity,terminal,region,source,sub_source,raw_label,visitors,inquiry_customers,tm_customers,feedback_conversion_rate"


def write(tmp_path, lines, name="canonical.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse(path, **options):
    return parse_file(path, path.name, ImportOptions(**options))


def test_canonical_rows_parse_exactly(tmp_path):
    path = write(tmp_path, [
        HEADER,
        "solar,2026-11-02,week,pc,exclude_cn,search,photo_search,,532,29,14,0.0808",
        "solar,2026-11-02,week,pc,exclude_cn,total,,,4169,123,57,4.32%",
        "solar,2026-11-02,week,pc,exclude_cn,other,,Live stream,7,,,",
    ])

    result = parse(path, store="solar")

    assert result.layout == "canonical"
    assert result.errors == []
    photo, total, live = result.figures
    assert (photo.granularity, photo.period_start, photo.terminal, photo.region) == ("week", datetime.date(2026, 11, 2), "pc", "exclude_cn")
    assert (photo.source, photo.sub_source, photo.visitors, photo.feedback_conversion_rate) == ("search", "photo_search", 532, Decimal("0.0808"))
    assert total.feedback_conversion_rate == Decimal("0.0432")
    assert (live.raw_label, live.inquiry_customers, live.feedback_conversion_rate) == ("Live stream", None, None)


def test_canonical_without_store_column(tmp_path):
    path = write(tmp_path, [
        "period_start,granularity,terminal,region,source,visitors,inquiry_customers,tm_customers",
        "2026-10-01,month,all,all,direct,100,2,1",
    ])

    result = parse(path, store="solar")

    assert result.errors == []
    assert result.figures[0].feedback_conversion_rate == Decimal("0.03")


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        ("solar,2026-11-03,week,pc,all,search,,,10,1,0,", "period_start", "2026-11-03"),
        ("solar,2026-11-02,fortnight,pc,all,search,,,10,1,0,", "granularity", "fortnight"),
        ("solar,2026-11-02,week,tablet,all,search,,,10,1,0,", "terminal", "tablet"),
        ("solar,2026-11-02,week,pc,cn_only,search,,,10,1,0,", "region", "cn_only"),
        ("solar,2026-11-02,week,pc,all,搜索,,,10,1,0,", "source", "搜索"),
        ("lamps,2026-11-02,week,pc,all,search,,,10,1,0,", "store", "lamps"),
        ("solar,2026-11-02,week,pc,all,search,,,10,11,0,", "inquiry_customers", "11"),
    ],
)
def test_canonical_bad_row_names_cell(tmp_path, row, column, value):
    path = write(tmp_path, [HEADER, row])

    result = parse(path, store="solar")

    assert result.figures == []
    error = result.errors[0]
    assert (error.row, error.column, error.value) == (2, column, value)


def test_canonical_option_must_agree(tmp_path):
    path = write(tmp_path, [HEADER, "solar,2026-11-02,week,pc,all,search,,,10,1,0,"])

    result = parse(path, store="solar", terminal="wireless")

    assert result.errors[0].column == "terminal"


@pytest.mark.django_db
def test_canonical_upload_to_store(store, tmp_path):
    path = write(tmp_path, [HEADER, "solar,2026-11-02,week,pc,all,search,,,10,1,0,"])

    call_command("import_traffic", "--store", store.slug, str(path), stdout=StringIO())

    assert TrafficFigure.objects.get(store=store).visitors == 10


@pytest.mark.django_db
def test_bulk_import_writes_each_store(store, other_store, tmp_path, upload_root):
    path = write(tmp_path, [
        HEADER,
        "solar,2026-11-02,week,all,all,search,,,10,1,0,",
        "lamps,2026-11-02,week,all,all,search,,,20,2,0,",
        "lamps,2026-11-02,week,all,all,total,,,25,2,1,",
    ])
    out = StringIO()

    call_command("import_traffic", "--bulk", str(path), stdout=out)

    assert TrafficFigure.objects.get(store=store).visitors == 10
    assert TrafficFigure.objects.filter(store=other_store).count() == 2
    uploads = Upload.objects.order_by("store__slug")
    assert [(upload.store.slug, upload.figures_imported, upload.status) for upload in uploads] == [
        ("lamps", 2, "succeeded"), ("solar", 1, "succeeded"),
    ]
    assert all(upload.file_path.read_bytes() == path.read_bytes() for upload in uploads)
    assert out.getvalue().startswith(str(path))


@pytest.mark.django_db
def test_bulk_import_same_file_twice_changes_nothing(store, other_store, tmp_path):
    path = write(tmp_path, [HEADER, "solar,2026-11-02,week,all,all,search,,,10,1,0,"])
    call_command("import_traffic", "--bulk", str(path), stdout=StringIO())

    call_command("import_traffic", "--bulk", str(path), stdout=StringIO())

    assert Upload.objects.count() == 1
    assert TrafficFigure.objects.count() == 1


@pytest.mark.django_db
def test_bulk_import_unknown_store_writes_nothing(store, tmp_path):
    path = write(tmp_path, [
        HEADER,
        "solar,2026-11-02,week,all,all,search,,,10,1,0,",
        "ghost,2026-11-02,week,all,all,search,,,20,2,0,",
    ])

    with pytest.raises(CommandError):
        call_command("import_traffic", "--bulk", str(path), stdout=StringIO())

    assert not TrafficFigure.objects.exists()
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_bulk_import_names_row_of_unknown_store(store, tmp_path):
    path = write(tmp_path, [
        HEADER,
        "solar,2026-11-02,week,all,all,search,,,10,1,0,",
        "ghost,2026-11-02,week,all,all,search,,,20,2,0,",
    ])

    result = bulk_import(path, path.name)

    assert [(problem.row, problem.value) for problem in result.errors] == [(3, "ghost")]
    assert "ghost" in result.errors[0].render()
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_bulk_import_needs_store_on_every_row(store, tmp_path):
    path = write(tmp_path, [HEADER, ",2026-11-02,week,all,all,search,,,10,1,0,"])

    with pytest.raises(CommandError):
        call_command("import_traffic", "--bulk", str(path), stdout=StringIO())

    assert not TrafficFigure.objects.exists()
