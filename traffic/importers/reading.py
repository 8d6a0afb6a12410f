"""Read an uploaded file into sheets of rows of cells, whatever its format.

The format comes from the file's first bytes, never from its name: merchants
rename exports, and an upload is stored under a generated name. Excel
workbooks (.xls BIFF8, .xlsx, .ods) are read with python-calamine. Anything
else is treated as delimited text (.csv, .txt) in UTF-8 or GB18030.
"""

import codecs
import csv
import io
import pathlib
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_noop
from python_calamine import CalamineError, CalamineWorkbook

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (BIFF8) and other OLE2 files
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods
DELIMITERS = (",", "\t", ";")

# Rows looked at to choose the delimiter; the header is on one of the first 20.
DELIMITER_SAMPLE_LINES = 60


class UnreadableFile(Exception):
    """Raised when a file cannot be turned into rows; carries a msgid and its parameters."""

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.params = params or {}


@dataclass
class Sheet:
    name: str  # "" for delimited text, which has no sheets
    rows: list[list] = field(default_factory=list)


def read_sheets(path: pathlib.Path) -> list[Sheet]:
    """Read every sheet of a workbook, or the one table of a text file.

    Cells are str, int, float, bool, datetime.date or datetime.datetime, and
    "" for an empty cell. Raises UnreadableFile with a message for the merchant.
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableFile(
            gettext_noop("The file could not be opened (%(detail)s). Upload it again."),
            {"detail": exc.strerror or str(exc)},
        ) from exc

    if not data.strip():
        raise UnreadableFile(gettext_noop("The file is empty. Export the report again and upload the new file."))

    if data.startswith(OLE2_MAGIC) or data.startswith(ZIP_MAGIC):
        return read_workbook(data)
    return [Sheet(name="", rows=read_delimited_text(decode_text(data)))]


def check_zip_container(data: bytes) -> None:
    """Reject an .xlsx/.ods whose unpacked size, entry count or XML could exhaust the worker.

    Runs before the workbook is opened, on the zip directory only, plus the start
    of each XML part: a DOCTYPE there can declare entities ("billion laughs"),
    and spreadsheet files written by Excel, WPS or LibreOffice never need one.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(
            gettext_noop(
                "The file looks like an Excel .xlsx workbook but its zip container is damaged (%(detail)s). "
                "Open it in Excel, save it again as .xlsx, and upload that file."
            ),
            {"detail": str(exc)},
        ) from exc

    if len(entries) > settings.XLSX_MAX_ENTRIES:
        raise UnreadableFile(
            gettext_noop("The workbook has %(count)s parts; at most %(limit)s are accepted."),
            {"count": len(entries), "limit": settings.XLSX_MAX_ENTRIES},
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > settings.XLSX_MAX_UNCOMPRESSED_BYTES:
        raise UnreadableFile(
            gettext_noop("The workbook unpacks to %(size)s MB; at most %(limit)s MB are accepted."),
            {"size": unpacked // (1024 * 1024), "limit": settings.XLSX_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)},
        )

    for entry in entries:
        if not entry.filename.endswith((".xml", ".rels")):
            continue
        with archive.open(entry) as part:
            head = part.read(4096)
        if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
            raise UnreadableFile(
                gettext_noop("The workbook part %(part)s declares XML entities, which are not accepted."),
                {"part": entry.filename},
            )


def read_workbook(data: bytes) -> list[Sheet]:
    if data.startswith(ZIP_MAGIC):
        check_zip_container(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append(Sheet(name=name, rows=[list(row) for row in rows]))
    except (CalamineError, ValueError, TypeError) as exc:
        raise UnreadableFile(
            gettext_noop(
                "The file looks like an Excel workbook but could not be read (%(detail)s). "
                "Open it in Excel, save it again as .xlsx, and upload that file."
            ),
            {"detail": str(exc)},
        ) from exc

    return sheets


def decode_text(data: bytes) -> str:
    """Decode delimited text, trying encodings in an order that never garbles UTF-8.

    UTF-8 goes first because GB18030 would also accept most UTF-8 byte sequences,
    decoding them into the wrong characters. GB18030 covers GBK and GB2312, which
    Excel on Chinese Windows writes.
    """
    if data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        candidates = ("utf-16",)  # Excel's "Unicode text" export
    else:
        candidates = ("utf-8", "gb18030")

    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if looks_binary(text):
            break
        return text

    raise UnreadableFile(
        gettext_noop(
            "The file is not an Excel workbook and not a text file in UTF-8 or GB18030/GBK. "
            "Upload the .xls or .xlsx file that the back-end exported, or a CSV saved from it."
        )
    )


def looks_binary(text: str) -> bool:
    """Return True when decoded text contains control characters that no CSV contains."""
    sample = text[:20000]
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n\f\v")
    return "\x00" in sample or controls > len(sample) // 100


def read_delimited_text(text: str) -> list[list]:
    sample_lines = text.splitlines()[:DELIMITER_SAMPLE_LINES]
    delimiter = choose_delimiter(sample_lines)

    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(
            gettext_noop(
                "The text file could not be split into columns (%(detail)s). Save it again as CSV from Excel."
            ),
            {"detail": str(exc)},
        ) from exc

    return [[cell.strip(" \t") for cell in row] for row in rows]


def choose_delimiter(lines: list[str]) -> str:
    """Return the delimiter that splits the most lines into the same number (>1) of fields.

    csv.Sniffer is not used because a title line such as `"流量来源,时间周期…"` and
    the empty lines after it often mislead it.
    """
    best_delimiter, best_score = ",", (0, 0)

    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if len(row) > 1]
        except csv.Error:
            continue
        if not widths:
            continue

        common_width = max(set(widths), key=widths.count)
        score = (widths.count(common_width), common_width)
        if score > best_score:
            best_delimiter, best_score = delimiter, score

    return best_delimiter
