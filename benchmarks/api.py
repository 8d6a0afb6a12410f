"""Read API: a store's comparison with its published peer baselines."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.access import get_api_access
from benchmarks.views import comparison_context
from traffic.api import api_view, json_response
from traffic.dimensions import Region, Terminal

COHORT_GRANULARITIES = ("month", "week")


def baseline_json(baseline) -> dict | None:
    if baseline is None:
        return None
    return {"p25": baseline.p25, "median": baseline.median, "p75": baseline.p75, "top_median": baseline.top_median}


def source_json(row) -> dict:
    return {
        "source": row.source,
        "visitors": row.visitors,
        "feedback_customers": row.feedback_customers,
        "visitor_share": row.visitor_share,
        "feedback_conversion_rate": row.conversion_rate,
        "feedback_conversion_rate_interval": [row.rate_low, row.rate_high] if row.rate_low is not None else None,
        "visitor_share_baseline": baseline_json(row.share_baseline),
        "feedback_conversion_rate_baseline": baseline_json(row.rate_baseline),
        "extra_feedback_customers": row.extra_customers,
        "gap_is_significant": row.significant,
    }


def invalid_choice(request, name, choices):
    value = request.GET.get(name)
    if value and value not in choices:
        return _("%(name)s must be one of %(choices)s.") % {"name": name, "choices": ", ".join(choices)}
    return None


@require_GET
@api_view
def benchmarks(request, slug):
    """Return the store's figures against its published baselines for one period, terminal and region."""
    store, _can_upload = get_api_access(request, slug)

    for name, choices in (("granularity", COHORT_GRANULARITIES), ("terminal", Terminal.values), ("region", Region.values)):
        problem = invalid_choice(request, name, choices)
        if problem:
            return json_response({"error": problem}, 400)

    context = comparison_context(store, request.GET)
    requested_period = request.GET.get("period")
    if requested_period and (context["period"] is None or context["period"].isoformat() != requested_period):
        return json_response({"error": _("period must be the first day of a period with figures, as YYYY-MM-DD.")}, 400)
    if not context["may_view"]:
        raise PermissionDenied(_("Peer baselines are shown only to stores that share their figures."))

    comparison = context["comparison"]
    body = {
        "store": store.slug,
        "granularity": context["granularity"],
        "period_start": context["period"].isoformat() if context["period"] else None,
        "terminal": context["terminal"],
        "region": context["region"],
        "scope": context["scope"],
        "baseline": None,
    }
    if comparison is not None:
        snapshot = comparison.snapshot
        body["baseline"] = {
            "computed_at": snapshot.computed_at.isoformat(),
            "method": snapshot.method,
            "cohort_size": snapshot.cohort_size,
            "top_group_size": snapshot.top_group_size,
            "size_band": snapshot.size_band_label or None,
            "total_visitors_from": "total_row" if comparison.uses_total_row else "category_sum",
            "sources": [source_json(row) for row in comparison.sources],
            "overall": source_json(comparison.overall),
            "advice": comparison.advice,
        }
    body["platform_peer_figures"] = [
        {
            "source": figure.source,
            "metric": figure.metric,
            "peer_average": figure.peer_average,
            "peer_top": figure.peer_top,
            "origin": figure.origin,
        }
        for figure in context["peer_figures"]
    ]
    return json_response(body)
