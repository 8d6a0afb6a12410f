"""Text cells for CSV and XLSX exports that a spreadsheet shows as written and never runs as a formula.

Excel and LibreOffice treat a cell that starts with one of FORMULA_PREFIXES as a formula, so a
label such as =HYPERLINK(...) taken from an uploaded file could run on the merchant's machine.
"""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value):
    """Prefix a single quote to text that starts like a formula, for CSV. Other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class XlsxCells:
    """Writes the cells of an XLSX workbook, marking text that starts like a formula with Excel's quote prefix.

    The cell keeps its text without the quote that CSV needs: a quote-prefixed cell shows the
    text as written and stays text when the merchant edits it. The workbook must be opened with
    strings_to_formulas=False, so no text is ever written as a formula in the first place.
    """

    def __init__(self, workbook):
        self.workbook = workbook
        self.formats = {}

    def text(self, sheet, row: int, column: int, value: str, **properties) -> None:
        if value.startswith(FORMULA_PREFIXES):
            properties["quote_prefix"] = True
        sheet.write_string(row, column, value, self._format(properties))

    def number(self, sheet, row: int, column: int, value, **properties) -> None:
        sheet.write_number(row, column, float(value), self._format(properties))

    def _format(self, properties: dict):
        """Return one shared format per set of properties (XlsxWriter adds a style for each format made)."""
        if not properties:
            return None
        key = tuple(sorted(properties.items()))
        if key not in self.formats:
            self.formats[key] = self.workbook.add_format(properties)
        return self.formats[key]
