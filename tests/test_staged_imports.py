"""Large files take another route: visits and figures staged in temporary tables (traffic.staging).

Each test here runs a file through both routes, by setting IMPORT_STAGE_ROWS
to 0 (everything staged) or out of reach (everything in memory), and checks
that they give the same figures, the same problems, and the same rows in
traffic_figure.
"""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Store
from tests.large_files import write_visitor_details
from traffic import actions, bulk, jobs
from traffic.bulk import bulk_import
from traffic.importers import ImportOptions, parse_file
from traffic.models import LabelMapping, TrafficFigure, Upload

pytestmark = pytest.mark.django_db

IN_MEMORY = 10**9
STAGED = 0
CANONICAL_HEADER = (
    "store,period_start,granularity,terminal,region,source,sub_source,raw_label,"
    "visitors,inquiry_customers,tm_customers,feedback_conversion_rate"
)


def parse_both(settings, path, **options):
    """Parse the file by both routes; return (in memory, staged), with the staged figures read back."""
    results = []
    for threshold in (IN_MEMORY, STAGED):
        settings.IMPORT_STAGE_ROWS = threshold
        result = parse_file(path, path.name, ImportOptions(**options))
        results.append((result, staged_figures(result)))
        result.drop_stage()
    return results


def staged_figures(result) -> list[tuple]:
    """Return the figures of a result as sorted tuples, whether they are in a list or in a stage."""
    if result.stage is None:
        return sorted(
            (f.store, f.granularity, f.period_start, f.terminal, f.region, f.source, f.sub_source, f.raw_label,
             f.visitors, f.inquiry_customers, f.tm_customers, f.feedback_conversion_rate)
            for f in result.figures
        )
    rows = result.stage.execute(
        "SELECT store, granularity, period_start, terminal, region, source, sub_source, raw_label, visitors, "
        "inquiry_customers, tm_customers, feedback_conversion_rate FROM {table}"
    )
    return sorted(tuple(normalise(value) for value in row) for row in rows)


def normalise(value):
    """Read a value back from SQLite, which returns dates as text and decimals as floats."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return datetime.date.fromisoformat(value)
    if isinstance(value, float):
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    return value


def problem_list(result) -> list[tuple]:
    return sorted((p.level, p.row or 0, p.column, p.value, p.message) for p in result.problems)


# Visitor details


def write_visits(path, rows: list[list[str]]):
    header = "访客ID,访问日期,国家/地区,终端,流量渠道,浏览量,停留时长(秒),搜索词,是否询盘,是否TM咨询"
    path.write_text("\n".join([header, *(",".join(row) for row in rows)]) + "\n", encoding="utf-8")
    return path


def test_visitor_details_sample_same_by_both_routes(settings, samples_dir):
    (memory, memory_figures), (staged, staged_rows) = parse_both(settings, samples_dir / "visitor-details_2026-11-01_14.csv")

    assert memory.problems == staged.problems == []
    assert memory.figures == staged.figures
    assert len(staged.figures) == 14 * 3 * 2 * 28


def test_visitor_details_generated_file_same_by_both_routes(settings, tmp_path):
    path = write_visitor_details(tmp_path / "visits.csv", 3000, datetime.date(2026, 11, 1), 5, seed=11, visitor_pool=400)

    (memory, _), (staged, _) = parse_both(settings, path)

    assert memory.problems == staged.problems == []
    assert memory.figures == staged.figures
    total = next(f for f in staged.figures if f.source == "total" and f.terminal == "all" and f.region == "all")
    assert total.extra.keys() == {"浏览量", "停留时长(秒)"}  # 搜索词 contains text, so it is not summed


def test_visitor_details_repeat_visitor_counts_once(settings, tmp_path):
    """v1 visits twice on a day through two channels and from two terminals: one visitor in the total."""
    path = write_visits(tmp_path / "visits.csv", [
        ["v1", "2026-11-03", "US", "PC", "文字搜索", "3", "30", "", "是", "否"],
        ["v1", "2026-11-03", "US", "无线", "直接访问", "2", "20", "", "否", "是"],
        ["v2", "2026-11-03", "CN", "PC", "文字搜索", "1", "", "", "否", "否"],
        ["v3", "2026-11-03", "US", "PC", "文字搜索", "4", "40", "", "否", "否"],
        ["v3", "2026-11-03", "US", "PC", "文字搜索", "1", "10", "", "是", "否"],
    ])

    for result, _rows in parse_both(settings, path):
        by_key = {(f.terminal, f.region, f.source, f.sub_source): f for f in result.figures}
        total = by_key[("all", "all", "total", "")]
        assert (total.visitors, total.inquiry_customers, total.tm_customers) == (3, 2, 1)
        assert total.extra == {"浏览量": 11, "停留时长(秒)": 100}
        text_search_pc = by_key[("pc", "all", "search", "text_search")]
        assert (text_search_pc.visitors, text_search_pc.inquiry_customers) == (3, 2)
        search_pc_outside_cn = by_key[("pc", "exclude_cn", "search", "")]
        assert search_pc_outside_cn.visitors == 2
        direct_wireless = by_key[("wireless", "all", "direct", "")]
        assert (direct_wireless.visitors, direct_wireless.tm_customers) == (1, 1)
        assert by_key[("pc", "all", "direct", "")].visitors == 0


def test_visitor_bad_rows_same_problems(settings, tmp_path):
    path = write_visits(tmp_path / "visits.csv", [
        ["v1", "2026-11-03", "US", "PC", "文字搜索", "3", "30", "", "是", "否"],
        ["", "2026-11-03", "US", "PC", "文字搜索", "3", "30", "", "是", "否"],
        ["v2", "2026-13-03", "US", "PC", "文字搜索", "3", "30", "", "是", "否"],
        ["v3", "2026-11-03", "US", "Tablet", "文字搜索", "3", "30", "", "是", "否"],
        ["v4", "2026-11-03", "US", "PC", "文字搜索", "3", "30", "", "maybe", "否"],
        ["v5", "2026-11-03", "US", "PC", "Live stream", "3", "30", "", "否", "否"],
        ["v6", "2026-11-03", "US", "PC", "Live stream", "3", "30", "", "否", "否"],
    ])

    (memory, _), (staged, _) = parse_both(settings, path)

    assert problem_list(memory) == problem_list(staged)
    assert [(p.row, p.column, p.value) for p in staged.errors] == [
        (3, "访客ID", ""), (4, "访问日期", "2026-13-03"), (5, "终端", "Tablet"), (6, "是否询盘", "maybe"),
    ]
    assert [(p.row, p.value) for p in staged.warnings] == [(7, "Live stream")]  # warned once, on its first row
    assert staged.figures == []


def test_staged_visits_leave_no_table_behind(settings, tmp_path):
    path = write_visitor_details(tmp_path / "visits.csv", 200, datetime.date(2026, 11, 1), 2, seed=3)
    settings.IMPORT_STAGE_ROWS = STAGED
    before = set(connection.introspection.table_names(include_views=False))

    result = parse_file(path, path.name, ImportOptions())

    assert result.errors == []
    assert not any(name.startswith("traffic_stage") for name in temporary_tables()), temporary_tables()
    assert set(connection.introspection.table_names(include_views=False)) == before


def temporary_tables() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname LIKE 'pg_temp%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table'")
        return [name for (name,) in cursor.fetchall()]


# Canonical figures


def write_canonical(path, lines: list[str]):
    path.write_text("\n".join([CANONICAL_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def generated_canonical_lines(stores: list[str], weeks: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    lines = []
    for store in stores:
        for week in range(weeks):
            start = datetime.date(2026, 9, 7) + datetime.timedelta(weeks=week)
            for terminal in ("all", "pc", "wireless"):
                for source, sub_source in (("total", ""), ("search", ""), ("search", "text_search"), ("direct", "")):
                    visitors = generator.randint(50, 5000)
                    inquiry, tm = generator.randint(0, visitors // 20), generator.randint(0, visitors // 30)
                    rate = "" if generator.random() < 0.5 else f"{(inquiry + tm) / visitors * 100:.2f}%"
                    lines.append(f"{store},{start},week,{terminal},all,{source},{sub_source},,{visitors},{inquiry},{tm},{rate}")
    return lines


def test_canonical_generated_file_same_by_both_routes(settings, tmp_path):
    path = write_canonical(tmp_path / "figures.csv", generated_canonical_lines(["solar"], 6, seed=5))

    (memory, memory_rows), (staged, staged_rows) = parse_both(settings, path, store="solar")

    assert memory.problems == staged.problems == []
    assert memory_rows == staged_rows
    assert len(staged_rows) == 6 * 3 * 4


def test_canonical_bad_rows_same_problems_by_both_routes(settings, tmp_path):
    path = write_canonical(tmp_path / "figures.csv", [
        "solar,2026-11-02,week,pc,all,search,,,100,5,2,7.00%",
        "solar,2026-11-02,week,pc,all,search,,,100,5,2,7.00%",  # exact repeat: warning, skipped
        "solar,2026-11-02,week,pc,all,search,,,101,5,2,",  # same key, other figures: error
        "solar,2026-11-03,week,pc,all,direct,,,10,1,0,",  # not a Monday
        "solar,2026-11-02,week,pc,all,direct,,,10,11,0,",  # more customers than visitors
        "solar,2026-11-02,week,pc,all,direct,,,-3,0,0,",  # negative
        "solar,2026-11-02,week,pc,all,total,,,1000,50,20,9.00%",  # rate off by more than half a point: warning
        "solar,2026-11-02,week,pc,all,search,photo_search_v2,,40,1,1,",  # unknown sub-source: warning
        "solar,2026-11-02,week,pc,all,search,photo_search_v2,,40,1,1,",  # repeats the row above
        "solar,2026-11-02,week,tv,all,direct,,,10,1,0,",
        "lunar,2026-11-02,week,pc,all,direct,,,10,1,0,",  # another store
    ])

    (memory, memory_rows), (staged, staged_rows) = parse_both(settings, path, store="solar")

    assert problem_list(memory) == problem_list(staged)
    assert sorted((p.row, p.column) for p in staged.errors) == [
        (4, "source"), (5, "period_start"), (6, "inquiry_customers"), (7, "visitors"), (11, "terminal"), (12, "store"),
    ]
    assert sorted(p.row for p in staged.warnings) == [3, 8, 9, 10, 10]
    assert memory_rows == staged_rows == []


def test_staged_upload_replaces_and_restores(settings, tmp_path, store):
    """Two uploads through the worker's code, by each route: the same current figures, and the same after a delete."""
    first = write_canonical(tmp_path / "first.csv", generated_canonical_lines([""], 3, seed=1))
    second_lines = [line for line in generated_canonical_lines([""], 2, seed=2) if ",pc," in line]
    second = write_canonical(tmp_path / "second.csv", second_lines)

    outcomes = []
    for threshold in (IN_MEMORY, STAGED):
        settings.IMPORT_STAGE_ROWS = threshold
        TrafficFigure.objects.all().delete()
        Upload.objects.all().delete()
        uploads = [import_now(store, path) for path in (first, second)]
        assert [upload.status for upload in uploads] == ["succeeded", "succeeded"]
        after_both = current_figures(store)
        actions.delete_upload(uploads[1])
        outcomes.append((after_both, current_figures(store), [upload.figures_imported for upload in uploads]))

    assert outcomes[0] == outcomes[1]
    after_both, after_delete, counts = outcomes[1]
    assert counts == [36, 8]
    # The second file covers the pc slices of the first two weeks: its 8 figures replace 8 of the first file's.
    assert len(after_both) == 36 - 8 + 8
    assert len(after_delete) == 36


def test_canonical_staged_older_upload_stays_behind_newer(settings, tmp_path, store):
    """An import that runs after a newer upload's import writes its figures, but not as current ones."""
    settings.IMPORT_STAGE_ROWS = STAGED
    path_old = write_canonical(tmp_path / "old.csv", ["solar,2026-11-02,week,pc,all,search,,,100,5,2,"])
    path_new = write_canonical(tmp_path / "new.csv", ["solar,2026-11-02,week,pc,all,search,,,200,5,2,"])
    older = actions.store_upload_file(store, [path_old.read_bytes()], "old.csv")
    newer = actions.store_upload_file(store, [path_new.read_bytes()], "new.csv")

    for upload in (newer, older):
        jobs.run_import(upload.id, jobs.claim_upload(upload.id))

    assert TrafficFigure.objects.get(is_current=True).visitors == 200
    assert TrafficFigure.objects.get(is_current=False).upload_id == older.id


def test_staged_mapping_moves_raw_label(settings, tmp_path, store):
    settings.IMPORT_STAGE_ROWS = STAGED
    LabelMapping.objects.create(label="livestream", display_label="Live stream", source="channel", sub_source="")
    path = write_canonical(tmp_path / "figures.csv", ["solar,2026-11-02,week,pc,all,other,,Live stream,7,0,0,"])

    upload = import_now(store, path)

    figure = TrafficFigure.objects.get(upload=upload)
    assert (figure.source, figure.sub_source, figure.raw_label, figure.visitors) == ("channel", "", "", 7)


def test_staged_bulk_import_writes_each_store(settings, tmp_path, store, other_store):
    settings.IMPORT_STAGE_ROWS = STAGED
    path = write_canonical(tmp_path / "bulk.csv", generated_canonical_lines([store.slug, other_store.slug], 2, seed=9))

    result = bulk_import(path, "bulk.csv")

    assert result.errors == []
    assert sorted(upload.store_id for upload in result.uploads) == sorted([store.id, other_store.id])
    assert [upload.figures_imported for upload in result.uploads] == [24, 24]
    for each in (store, other_store):
        assert TrafficFigure.objects.filter(store=each, is_current=True).count() == 24
    assert not temporary_tables()


def test_staged_bulk_import_unknown_store_writes_nothing(settings, tmp_path, store):
    settings.IMPORT_STAGE_ROWS = STAGED
    path = write_canonical(tmp_path / "bulk.csv", generated_canonical_lines([store.slug, "no-such-store"], 1, seed=9))

    result = bulk_import(path, "bulk.csv")

    assert result.errors[0].params == {"store": "no-such-store"}
    assert result.errors[0].row is not None
    assert not TrafficFigure.objects.exists()
    assert not Store.objects.filter(slug="no-such-store").exists()


def test_staged_bulk_store_deleted_while_reading(settings, tmp_path, store, monkeypatch):
    settings.IMPORT_STAGE_ROWS = STAGED
    path = write_canonical(tmp_path / "bulk.csv", generated_canonical_lines([store.slug, "deleted-store"], 1, seed=9))
    # The reader sees the store, which is gone by the time the figures are written.
    monkeypatch.setattr(bulk, "_store_slugs", lambda: frozenset({store.slug, "deleted-store"}))

    result = bulk_import(path, "bulk.csv")

    assert result.errors[0].params == {"slugs": "deleted-store"}
    assert not TrafficFigure.objects.exists()


def import_now(store, path) -> Upload:
    upload = actions.store_upload_file(store, [path.read_bytes()], path.name)
    return jobs.run_import(upload.id, jobs.claim_upload(upload.id))


def current_figures(store) -> list[tuple]:
    return sorted(
        TrafficFigure.objects.filter(store=store, is_current=True).values_list(
            "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label", "visitors",
            "inquiry_customers", "tm_customers", "feedback_conversion_rate",
        )
    )


def test_bulk_import_task_reports_uploads_and_problems(settings, tmp_path, store, caplog):
    from traffic.tasks import bulk_import_file

    settings.IMPORT_STAGE_ROWS = STAGED
    good = write_canonical(tmp_path / "good.csv", generated_canonical_lines([store.slug], 1, seed=4))
    bad = write_canonical(tmp_path / "bad.csv", [f"{store.slug},2026-11-03,week,pc,all,search,,,10,1,0,"])

    outcome = bulk_import_file.run(str(good), "good.csv")
    assert outcome["uploads"] == list(Upload.objects.filter(store=store).values_list("id", flat=True))
    assert outcome["problems"] == []

    outcome = bulk_import_file.run(str(bad), "bad.csv")
    assert outcome["uploads"] == []
    assert outcome["problems"][0]["column"] == "period_start"
    assert "bulk import failed file=bad.csv" in caplog.text


def test_extra_column_with_late_text_is_not_summed(settings, tmp_path):
    """浏览量 turns to text on the last row, so only 停留时长(秒) is summed; a short row adds nothing to it."""
    path = write_visits(tmp_path / "visits.csv", [
        ["v1", "2026-11-03", "US", "PC", "文字搜索", "3", "30", "", "是", "否"],
        ["v2", "2026-11-03", "US", "PC", "文字搜索", "3", "", "", "否", "否"],
        ["v3", "2026-11-03", "US", "PC", "文字搜索", "3"],
        ["v4", "2026-11-03", "US", "PC", "文字搜索", "many", "15", "", "否", "否"],
    ])

    (memory, _), (staged, _) = parse_both(settings, path)

    assert memory.problems == staged.problems == []
    assert memory.figures == staged.figures
    total = next(f for f in staged.figures if f.source == "total" and f.terminal == "all" and f.region == "all")
    assert total.extra == {"停留时长(秒)": 45}
    assert total.visitors == 4
