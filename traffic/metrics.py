"""Metric definitions shared by importers, pages and the API."""

from decimal import ROUND_HALF_UP, Decimal

# Fractions are stored with six decimal places (0.061100 is 6.11%).
RATE_QUANTUM = Decimal("0.000001")


def feedback_conversion_rate(
    visitors: int | None, inquiry_customers: int | None, tm_customers: int | None
) -> Decimal | None:
    """Return (inquiry_customers + tm_customers) / visitors as a fraction.

    The platform publishes no formula. Its reports and public tools compute the
    rate this way, and files that carry a rate are checked against it.
    Returns None when a count is missing or there were no visitors.
    """
    if visitors is None or inquiry_customers is None or tm_customers is None:
        return None
    if visitors == 0:
        return None

    rate = Decimal(inquiry_customers + tm_customers) / Decimal(visitors)
    return rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
