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
TEXT_SAMPLE_CHARS = 256 * 1024
TEXT_BLOCK_BYTES = 1024 * 1024

WORKBOOK_UNREADABLE = gettext_noop(
    "The file looks like an Excel workbook but could not be read (%(detail)s). "
    "Open it in Excel, save it again as .xlsx, and upload that file."
)
NOT_TEXT_MESSAGE = gettext_noop(
    "The file is not an Excel workbook and not a text file in UTF-8 or GB18030/GBK. "
    "Upload the .xls or .xlsx file that the back-end exported, or a CSV saved from it."
)


class UnreadableFile(Exception):
    """Raised when a file cannot be turned into rows; carries a msgid and its parameters."""

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.params = params or {}


@dataclass
class Sheet:
    name: str  # "" for delimited text, which has no sheets
    rows: "list[list] | WorkbookRows | TextRows" = field(default_factory=list)


def read_sheets(path: pathlib.Path) -> list[Sheet]:
    """Read every sheet of a workbook, or the one table of a text file.

    Cells are str, int, float, bool, datetime.date or datetime.datetime, and
    "" for an empty cell. A text file is not loaded: its rows are read from
    disk each time they are iterated. Raises UnreadableFile with a message for
    the merchant.
    """
    path = pathlib.Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(OLE2_MAGIC))
            data = head + handle.read() if head.startswith(ZIP_MAGIC) or head == OLE2_MAGIC else None
    except OSError as exc:
        raise UnreadableFile(
            gettext_noop("The file could not be opened (%(detail)s). Upload it again."),
            {"detail": exc.strerror or str(exc)},
        ) from exc

    if data is not None:
        return read_workbook(data)
    return [Sheet(name="", rows=open_delimited_text(path))]


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
            sheets.append(Sheet(name=name, rows=WorkbookRows(workbook.get_sheet_by_name(name))))
    except (CalamineError, ValueError, TypeError) as exc:
        raise UnreadableFile(WORKBOOK_UNREADABLE, {"detail": str(exc)}) from exc

    return sheets


class WorkbookRows:
    """The rows of a workbook sheet, turned into Python values one row at a time as they are iterated.

    Rows keep their spreadsheet positions: the leading empty rows are part of
    the iteration, and the leading empty columns are put back as "" cells.
    """

    def __init__(self, sheet):
        self.sheet = sheet
        self.row_count = sheet.end[0] + 1 if sheet.end else 0
        self.padding = [""] * sheet.start[1] if sheet.start else []

    def __len__(self) -> int:
        return self.row_count

    def __iter__(self):
        padding = self.padding
        try:
            for row in self.sheet.iter_rows():
                yield padding + row if padding else list(row)
        except (CalamineError, ValueError, TypeError) as exc:
            raise UnreadableFile(WORKBOOK_UNREADABLE, {"detail": str(exc)}) from exc


class TextRows:
    """The rows of a delimited text file, read again from disk each time they are iterated.

    len() is the number of lines, which is the number of rows unless a quoted
    cell spans lines. It serves for progress and for the row limit. Cells keep
    the spaces around them, as in a workbook, because the readers strip what
    they read (cell_text, fold_text). Stripping every cell here would cost more
    than splitting the line.
    """

    def __init__(self, path: pathlib.Path, encoding: str, delimiter: str, line_count: int):
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.line_count = line_count

    def __len__(self) -> int:
        return self.line_count

    def __iter__(self):
        with self.path.open(encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            try:
                yield from reader
            except csv.Error as exc:
                raise UnreadableFile(
                    gettext_noop(
                        "The text file could not be split into columns at line %(line)s (%(detail)s). "
                        "Save it again as CSV from Excel."
                    ),
                    {"line": reader.line_num, "detail": str(exc)},
                ) from exc


def open_delimited_text(path: pathlib.Path) -> TextRows:
    """Check the encoding of the whole file, choose the delimiter, and return its rows unread."""
    encoding, line_count = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(TEXT_SAMPLE_CHARS)
    if looks_binary(sample):
        raise UnreadableFile(NOT_TEXT_MESSAGE)
    delimiter = choose_delimiter(sample.splitlines()[:DELIMITER_SAMPLE_LINES])
    return TextRows(path, encoding, delimiter, line_count)


def detect_encoding(path: pathlib.Path) -> tuple[str, int]:
    """Return the encoding that decodes the whole file, and its number of lines.

    UTF-8 goes first because GB18030 would also accept most UTF-8 byte sequences,
    decoding them into the wrong characters. GB18030 covers GBK and GB2312, which
    Excel on Chinese Windows writes. The file is decoded in blocks, so a large
    file is checked without being held in memory.
    """
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif start.startswith(codecs.BOM_UTF16_LE) or start.startswith(codecs.BOM_UTF16_BE):
        candidates = ("utf-16",)  # Excel's "Unicode text" export
    else:
        candidates = ("utf-8", "gb18030")

    for encoding in candidates:
        decoded = decode_blocks(path, encoding)
        if decoded is None:
            continue
        line_count, has_text = decoded
        if not has_text:
            raise UnreadableFile(gettext_noop("The file is empty. Export the report again and upload the new file."))
        return encoding, line_count
    raise UnreadableFile(NOT_TEXT_MESSAGE)


def decode_blocks(path: pathlib.Path, encoding: str) -> tuple[int, bool] | None:
    """Decode the file block by block; return (line count, has non-blank text), or None if it does not decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line_count = 0
    has_text = False
    last = ""
    try:
        with path.open("rb") as handle:
            while block := handle.read(TEXT_BLOCK_BYTES):
                text = decoder.decode(block)
                line_count += text.count("\n")
                has_text = has_text or not text.isspace() and text != ""
                last = text[-1:] or last
            text = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if last and last != "\n":
        line_count += 1  # the last line has no line break
    return line_count, has_text


def looks_binary(text: str) -> bool:
    """Return True when decoded text contains control characters that no CSV contains."""
    sample = text[:20000]
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n\f\v")
    return "\x00" in sample or controls > len(sample) // 100


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
