"""Files are read row by row from disk: text in blocks, workbooks one row at a time."""

import xlsxwriter

from traffic.importers import ImportOptions, parse_file
from traffic.importers.reading import TEXT_BLOCK_BYTES, read_sheets

VISITS_HEADER = "Visitor ID,Date,Country,Terminal,Source"


def test_gbk_text_found_after_the_first_block(tmp_path):
    """A GBK file whose first megabyte is plain ASCII is still decoded as GBK, not as broken UTF-8."""
    ascii_rows = [f"v{number:07d},2026-11-03,US,PC,Direct" for number in range(TEXT_BLOCK_BYTES // 30 + 10)]
    lines = [VISITS_HEADER, *ascii_rows, "v9999999,2026-11-03,US,PC,直播间"]
    path = tmp_path / "visits.csv"
    path.write_bytes("\n".join(lines).encode("gbk"))
    assert path.stat().st_size > TEXT_BLOCK_BYTES

    result = parse_file(path, path.name, ImportOptions())

    assert result.errors == []
    assert [problem.value for problem in result.warnings] == ["直播间"]
    assert result.rows_read == len(ascii_rows) + 1
    total = next(f for f in result.figures if f.source == "total" and f.terminal == "all" and f.region == "all")
    assert total.visitors == len(ascii_rows) + 1


def test_late_csv_error_names_line(tmp_path):
    path = tmp_path / "visits.csv"
    huge_field = '"' + "x" * 200_000 + '"'
    path.write_text("\n".join([VISITS_HEADER, "v1,2026-11-03,US,PC,Direct", f"v2,2026-11-03,US,PC,{huge_field}"]), encoding="utf-8")

    result = parse_file(path, path.name, ImportOptions())

    assert len(result.errors) == 1
    assert result.errors[0].params["line"] == 3
    assert "field larger than field limit" in result.errors[0].params["detail"]
    assert result.figures == []


def test_text_rows_are_read_again_on_each_pass(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a;b;c\n1;2;3\n 4 ;5;6\n", encoding="utf-8")

    (sheet,) = read_sheets(path)

    assert len(sheet.rows) == 3
    assert list(sheet.rows) == list(sheet.rows) == [["a", "b", "c"], ["1", "2", "3"], [" 4 ", "5", "6"]]


def test_cells_with_spaces_import_like_trimmed_ones(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("\n".join([
        " Visitor ID , Date ,Country,Terminal,Source",
        " v1 , 2026-11-03 , US , PC , Direct ",
        "v1,2026-11-03,US,PC,Direct",
    ]), encoding="utf-8")

    result = parse_file(path, path.name, ImportOptions())

    assert result.problems == []
    direct = next(f for f in result.figures if f.source == "direct" and f.terminal == "pc" and f.region == "all")
    assert direct.visitors == 1


def test_offset_workbook_table_keeps_positions(tmp_path):
    """A table that starts at C4 reports its rows and columns where Excel shows them."""
    path = tmp_path / "report.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("流量来源")
    sheet.write_row("C2", ["时间周期2026-11-02~2026-11-08"])
    sheet.write_row("C4", ["流量渠道", "店铺访问人数", "店内询盘人数", "店内TM咨询人数"])
    sheet.write_row("C5", ["搜索", 120, 6, 3])
    sheet.write_row("C6", ["直接访问", "lots", 1, 0])
    workbook.close()

    (read,) = read_sheets(path)
    rows = list(read.rows)
    assert len(read.rows) == len(rows) == 6
    assert rows[4][2:] == ["搜索", 120.0, 6.0, 3.0]
    assert rows[4][:2] == ["", ""]

    result = parse_file(path, path.name, ImportOptions())
    assert [(p.row, p.column, p.value) for p in result.errors] == [(6, "店铺访问人数", "lots")]
