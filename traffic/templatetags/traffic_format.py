from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

MISSING = "—"


@register.filter
def count(value):
    """Format a count with thousands separators; a missing figure shows as —, never 0."""
    if value is None:
        return MISSING
    return intcomma(value, use_l10n=False)


@register.filter
def percent(value):
    """Format a fraction as a percentage with two decimals (0.0611 -> 6.11%)."""
    if value is None:
        return MISSING
    return f"{Decimal(value) * 100:.2f}%"
