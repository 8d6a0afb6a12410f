"""Parse single cells: counts, rates, dates and the period of a title line.

Cells come from python-calamine (int, float, date, datetime) or from text
(str). Each parser raises InvalidValue with a msgid saying what it expected,
and the importer turns it into a Problem with the cell's location.
"""

import datetime
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext_noop

from traffic.metrics import RATE_QUANTUM

# Cells that mean "no data", which is not zero. Compared after NFKC folding,
# so the full-width forms (－, －－) match too.
MISSING_MARKERS = ("", "-", "--", "—", "——", "–")

# Chinese units that exports put after a rounded number: 1.2万 is 12,000.
UNIT_FACTORS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")

# Excel's 1900 date system counts days from 1899-12-30 for every date from March 1900 on.
# Serials below 61 come out one day early because Excel counts a 29 February 1900 that did
# not exist. No traffic export has such dates.
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_SERIAL_RANGE = (1, 2_958_465)  # up to 9999-12-31

DATE_PATTERN = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2})"
DATE_TEXT = re.compile(rf"^(?:{DATE_PATTERN})(?:[ T]\d{{1,2}}:\d{{2}}(:\d{{2}}(\.\d+)?)?)?$")
PERIOD_TEXT = re.compile(rf"(?:{DATE_PATTERN})\s*(?:~|至|到|—|–|-|to)\s*(?:{DATE_PATTERN})", re.IGNORECASE)


class InvalidValue(ValueError):
    """Raised for a cell that does not hold what its column expects; message is a msgid."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def fold_text(value) -> str:
    """Return a cell as text with full-width characters folded and outer spaces removed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return fold_text(value) in MISSING_MARKERS
    return False


def parse_decimal(value) -> Decimal | None:
    """Parse a number written as 1408, 1,408, １４０８, 1.2万 or 205.0, or return None when it is missing."""
    if is_missing(value):
        return None
    if isinstance(value, bool) or isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        raise InvalidValue(gettext_noop("Expected a number."))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return decimal_from_float(value)

    text = fold_text(value).replace(" ", "")
    factor = Decimal(1)
    if text and text[-1] in UNIT_FACTORS:
        factor = UNIT_FACTORS[text[-1]]
        text = text[:-1]

    if GROUPED_NUMBER.match(text):
        text = text.replace(",", "")
    elif not PLAIN_NUMBER.match(text):
        raise InvalidValue(gettext_noop("Expected a number such as 1408, 1,408 or 1.2万."))

    return Decimal(text) * factor


def decimal_from_float(value: float) -> Decimal:
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidValue(gettext_noop("Expected a number."))
    # repr() gives the shortest text that round-trips, so 0.0611 stays 0.0611.
    return Decimal(repr(value))


def parse_count(value) -> int | None:
    """Parse a count of people, or return None for a missing value (empty, -, --).

    A number with a Chinese unit is rounded to a whole count, because the
    back-end already rounded it for display (1.23万 is about 12,300). Any other
    fraction is an error. Negative counts are returned, and the importer rejects them.
    """
    number = parse_decimal(value)
    if number is None:
        return None

    text_has_unit = isinstance(value, str) and fold_text(value)[-1:] in UNIT_FACTORS
    if number != number.to_integral_value():
        if not text_has_unit:
            raise InvalidValue(gettext_noop("Expected a whole number of people."))
        number = number.to_integral_value(rounding=ROUND_HALF_UP)

    return int(number)


def parse_rate(value) -> Decimal | None:
    """Parse a rate into a fraction: 6.11% is 0.0611.

    A number without a percent sign is taken as a fraction already, which is how
    Excel stores a cell formatted as a percentage.
    """
    if is_missing(value):
        return None

    text = fold_text(value) if isinstance(value, str) else ""
    if text.endswith("%"):
        try:
            number = parse_decimal(text[:-1])
        except InvalidValue:
            raise InvalidValue(gettext_noop("Expected a percentage such as 6.11%.")) from None
        if number is None:
            return None
        number = number / 100
    else:
        try:
            number = parse_decimal(value)
        except InvalidValue:
            raise InvalidValue(gettext_noop("Expected a percentage such as 6.11%.")) from None

    try:
        return number.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise InvalidValue(gettext_noop("Expected a percentage such as 6.11%.")) from None


def parse_date(value) -> datetime.date:
    """Parse a date written as 2026-11-03, 2026/11/3, 20261103, 2026年11月3日 or an Excel serial."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise InvalidValue(gettext_noop("Expected a date such as 2026-11-03."))
    if isinstance(value, (int, float)):
        return date_from_serial(value)

    text = fold_text(value)
    match = DATE_TEXT.match(text)
    if match:
        return date_from_match(match.groups())
    if re.fullmatch(r"\d{5}", text):
        return date_from_serial(int(text))
    raise InvalidValue(gettext_noop("Expected a date such as 2026-11-03."))


def date_from_serial(serial: float) -> datetime.date:
    low, high = EXCEL_SERIAL_RANGE
    if serial != serial or not low <= serial <= high:
        raise InvalidValue(gettext_noop("Expected a date such as 2026-11-03."))
    return EXCEL_EPOCH + datetime.timedelta(days=int(serial))


def date_from_match(groups: tuple) -> datetime.date:
    """Build a date from the six groups of DATE_PATTERN (one of its two forms matched)."""
    parts = groups[0:3] if groups[0] else groups[3:6]
    try:
        return datetime.date(*(int(part) for part in parts))
    except ValueError:
        raise InvalidValue(gettext_noop("Expected a date such as 2026-11-03; this day does not exist.")) from None


def find_period(text: str) -> tuple[datetime.date, datetime.date] | None:
    """Find a period such as 2026-11-02~2026-11-08 in a title line, or return None when there is none.

    Raises InvalidValue when the text names a period with a day that does not exist.
    """
    match = PERIOD_TEXT.search(fold_text(text))
    if not match:
        return None

    groups = match.groups()
    start = date_from_match(groups[0:6])
    end = date_from_match(groups[6:12])
    return start, end


def parse_period_option(text: str) -> tuple[datetime.date, datetime.date]:
    """Parse a period given with an upload, such as 2026-11-16~2026-11-22.

    Raises InvalidValue when the text is not one period whose end is on or after its start.
    """
    period = find_period(text)
    if period is None:
        raise InvalidValue(gettext_noop("Enter the period as first day~last day, for example 2026-11-16~2026-11-22."))
    if period[1] < period[0]:
        raise InvalidValue(gettext_noop("The period ends before it starts."))
    return period
