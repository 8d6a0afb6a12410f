from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext_lazy as _

from benchmarks.models import Metric
from traffic.taxonomy import source_label

register = template.Library()

MISSING = "—"
METRIC_NAMES = {
    "visitors": _("Visitors"),
    "inquiry_customers": _("Inquiry customers"),
    "tm_customers": _("TM customers"),
    Metric.FEEDBACK_CONVERSION_RATE: _("Feedback conversion rate"),
    Metric.VISITOR_SHARE: _("Share of visitors"),
}
RATE_METRICS = {Metric.FEEDBACK_CONVERSION_RATE, Metric.VISITOR_SHARE}


@register.filter
def fraction_percent(value):
    """Format a float fraction as a percentage with two decimals; a missing value shows as —."""
    if value is None:
        return MISSING
    return f"{value * 100:.2f}%"


@register.filter
def source_name(code):
    return source_label(code)


@register.filter
def metric_name(code):
    return METRIC_NAMES.get(code, code)


@register.filter
def peer_value(figure, field):
    """Format a platform peer figure: rates as percentages, counts with thousands separators."""
    value = getattr(figure, field)
    if value is None:
        return MISSING
    if figure.metric in RATE_METRICS:
        return fraction_percent(value)
    return intcomma(round(value), use_l10n=False)


@register.filter
def industry_name(industry):
    """Return an industry's name in the active language."""
    from traffic.taxonomy import localized_label

    if industry is None:
        return MISSING
    return localized_label(industry.name_zh, industry.name_en)


@register.filter
def reason_text(code):
    from benchmarks.models import SuppressionReason

    try:
        return SuppressionReason(code).label
    except ValueError:
        return code
