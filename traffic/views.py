from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.access import SESSION_STORE_KEY, get_membership_for_user, remember_store, stores_for_user
from traffic import queries
from traffic.dimensions import Granularity, period_label
from traffic.forms import ReportFilterForm

# How many periods the trend chart shows, ending at the chosen period.
TREND_PERIODS = {Granularity.DAY: 30, Granularity.WEEK: 26, Granularity.MONTH: 12}


@login_required
def home(request):
    """Open the store the user looked at last, or their first store."""
    stores = list(stores_for_user(request.user))
    if not stores:
        return render(request, "traffic/no_store.html")

    last_slug = request.session.get(SESSION_STORE_KEY)
    store = next((store for store in stores if store.slug == last_slug), stores[0])
    return redirect("traffic:report", slug=store.slug)


@login_required
def traffic_report(request, slug):
    membership = get_membership_for_user(request.user, slug)
    store = membership.store
    remember_store(request, store)

    form = ReportFilterForm(request.GET)
    granularity, terminal, region, period = form.cleaned_or_default()
    if not request.GET.get("granularity"):
        granularity = _granularity_with_data(store, terminal, region) or granularity

    periods = queries.available_periods(store, granularity, terminal, region)
    if period not in periods:
        period = periods[0] if periods else None

    table = queries.source_table(store, granularity, period, terminal, region) if period else None
    trend = None
    if period:
        shown = [start for start in periods if start <= period][: TREND_PERIODS[granularity]]
        trend = queries.visitors_trend(store, granularity, terminal, region, shown[-1], period)

    context = {
        "store": store,
        "membership": membership,
        "granularity": granularity,
        "terminal": terminal,
        "region": region,
        "period": period,
        "periods": [(start, period_label(granularity, start)) for start in periods],
        "period_label": period_label(granularity, period) if period else "",
        "form": form,
        "table": table,
        "trend": trend,
    }
    template = "traffic/report.html#report-body" if request.htmx else "traffic/report.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    if request.htmx:
        # Put the filters actually shown in the address bar, not a period that had no data.
        response["HX-Push-Url"] = _report_url(store, granularity, terminal, region, period)
    return response


def _report_url(store, granularity, terminal, region, period):
    query = {"granularity": granularity, "terminal": terminal, "region": region}
    if period:
        query["period"] = period.isoformat()
    return f"{reverse('traffic:report', args=[store.slug])}?{urlencode(query)}"


def _granularity_with_data(store, terminal, region):
    for granularity in Granularity.values:
        if queries.current_figures(store, granularity, terminal, region).exists():
            return granularity
    return None
