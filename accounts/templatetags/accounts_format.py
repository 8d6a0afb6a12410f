import math

from django import template

register = template.Library()


@register.filter
def minutes(duration):
    """Format a timedelta as whole minutes, rounded up so a lockout is never shown shorter than it is."""
    if duration is None:
        return ""
    return max(1, math.ceil(duration.total_seconds() / 60))
