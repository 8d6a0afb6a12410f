import io
import zipfile

import pytest

from traffic.importers import parse_file
from traffic.importers.base import ImportOptions

SAMPLE_XLSX = "traffic-source_day_2026-11-03_pc_en.xlsx"


def rezip(source_bytes, extra=None, replace=None):
    """Copy an .xlsx, adding or replacing parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source_bytes)) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for entry in original.infolist():
            data = original.read(entry.filename)
            if replace and entry.filename in replace:
                data = replace[entry.filename]
            copy.writestr(entry.filename, data)
        for name, data in (extra or {}).items():
            copy.writestr(name, data)
    return out.getvalue()


def parse_bytes(tmp_path, data, name="book.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return parse_file(path, name, ImportOptions())


def test_xlsx_with_entity_declaration_rejected(tmp_path, samples_dir):
    data = (samples_dir / SAMPLE_XLSX).read_bytes()
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><sst>&lol;</sst>'
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        target = next(name for name in original.namelist() if name.endswith("sharedStrings.xml") or name.endswith("sheet1.xml"))

    result = parse_bytes(tmp_path, rezip(data, replace={target: bomb}))

    assert len(result.errors) == 1
    assert "XML entities" in result.errors[0].message
    assert result.errors[0].params["part"] == target
    assert result.figures == []


def test_xlsx_too_many_entries_rejected(tmp_path, samples_dir, settings):
    settings.XLSX_MAX_ENTRIES = 12
    data = (samples_dir / SAMPLE_XLSX).read_bytes()
    padded = rezip(data, extra={f"docProps/pad{i}.bin": b"x" for i in range(20)})

    result = parse_bytes(tmp_path, padded)

    assert len(result.errors) == 1
    assert result.errors[0].params["limit"] == 12


def test_xlsx_too_large_unpacked_rejected(tmp_path, samples_dir, settings):
    settings.XLSX_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    data = (samples_dir / SAMPLE_XLSX).read_bytes()
    padded = rezip(data, extra={"docProps/zeros.bin": b"\0" * (2 * 1024 * 1024)})

    result = parse_bytes(tmp_path, padded)

    assert len(result.errors) == 1
    assert "unpacks to" in result.errors[0].message
    assert result.errors[0].params["size"] == 2


def test_sample_xlsx_passes_checks(tmp_path, samples_dir):
    result = parse_bytes(tmp_path, (samples_dir / SAMPLE_XLSX).read_bytes())

    assert result.errors == []
    assert len(result.figures) == 27


def test_row_limit(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    lines = ["日期,流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数"] + [f"2026-11-0{day},搜索,10,1,0" for day in range(1, 8)]
    path = tmp_path / "trend.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    result = parse_file(path, "trend.csv", ImportOptions())

    assert len(result.errors) == 1
    assert result.errors[0].params == {"count": 8, "limit": 5}
    assert result.figures == []


def test_damaged_zip_rejected(tmp_path):
    result = parse_bytes(tmp_path, b"PK\x03\x04" + b"\x00" * 200)

    assert len(result.errors) == 1
    assert result.figures == []
