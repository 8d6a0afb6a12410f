"""JSON read API for scripts and BI tools."""

import datetime

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.access import get_store_for_user
from traffic import queries
from traffic.dimensions import Granularity, Region, Terminal


def _choice(request, name, choices, default):
    value = request.GET.get(name) or default
    if value not in choices:
        raise ValueError(_("%(name)s must be one of %(choices)s.") % {"name": name, "choices": ", ".join(choices)})
    return value


def _date(request, name):
    value = request.GET.get(name)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("%(name)s must be a date as YYYY-MM-DD, not %(value)s.") % {"name": name, "value": value}) from None


@require_GET
def traffic(request, slug):
    """Return the store's current figures for one granularity, terminal and region."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Authentication required.")}, status=401)
    store = get_store_for_user(request.user, slug)

    try:
        granularity = _choice(request, "granularity", Granularity.values, Granularity.DAY)
        terminal = _choice(request, "terminal", Terminal.values, Terminal.ALL)
        region = _choice(request, "region", Region.values, Region.ALL)
        start = _date(request, "start")
        end = _date(request, "end")
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)

    rows = queries.api_rows(store, granularity, terminal, region, start, end)
    return JsonResponse(
        {"store": store.slug, "granularity": granularity, "terminal": terminal, "region": region, "rows": rows},
        json_dumps_params={"ensure_ascii": False},
    )
