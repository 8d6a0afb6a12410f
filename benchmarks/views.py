"""The merchant's comparison page, its exports and the store's sharing choice."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_membership, remember_store, require_owner
from benchmarks import comparison as comparing
from benchmarks import exports
from benchmarks.forms import ComparisonFilterForm, SharingForm
from benchmarks.models import StoreSharing
from traffic import queries
from traffic.dimensions import period_label
from traffic.htmx import wants_fragment


def comparison_context(store, query) -> dict:
    """Parse the filters and build everything the page, the exports and the API show."""
    form = ComparisonFilterForm(query)
    granularity, terminal, region, period, scope = form.cleaned_or_default()

    periods = queries.available_periods(store, granularity, terminal, region)
    if period not in periods:
        period = latest_compared_period(store, granularity, terminal, region, periods)

    may_view = comparing.may_view_baselines(store)
    result = None
    trend = None
    peer_figures = []
    if period and may_view:
        result = comparing.build_comparison(store, granularity, period, terminal, region, scope)
        trend = comparing.gap_trend(store, granularity, period, terminal, region, scope)
        peer_figures = list(comparing.peer_figures(store, granularity, period, terminal, region))

    return {
        "store": store,
        "form": form,
        "granularity": granularity,
        "terminal": terminal,
        "region": region,
        "period": period,
        "scope": scope,
        "periods": [(start, period_label(granularity, start)) for start in periods],
        "period_label": period_label(granularity, period) if period else "",
        "may_view": may_view,
        "contributes": comparing.store_contributes(store),
        "comparison": result,
        "charts": comparing.chart_data(result) if result else None,
        "trend": trend,
        "peer_figures": peer_figures,
    }


def latest_compared_period(store, granularity, terminal, region, periods):
    """Return the newest period with figures and a published baseline, or else the newest with figures."""
    if not periods:
        return None
    if store.main_industry_id is not None:
        published = set(
            comparing.published_snapshots()
            .filter(industry_id=store.main_industry_id, granularity=granularity, terminal=terminal, region=region)
            .values_list("period_start", flat=True)
        )
        for start in periods:
            if start in published:
                return start
    return periods[0]


@login_required
def comparison_page(request, slug):
    membership = get_membership(request, slug)
    store = membership.store
    remember_store(request, store)

    context = comparison_context(store, request.GET)
    context["membership"] = membership
    context["sharing_form"] = SharingForm(initial={"contributes": context["contributes"]})
    context["export_query"] = filter_query(context)

    fragment = wants_fragment(request)
    template = "benchmarks/comparison.html#comparison-body" if fragment else "benchmarks/comparison.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request, HX-History-Restore-Request"
    if fragment:
        response["HX-Push-Url"] = f"{reverse('benchmarks:comparison', args=[store.slug])}?{context['export_query']}"
    return response


def filter_query(context) -> str:
    query = {key: context[key] for key in ("granularity", "terminal", "region", "scope")}
    if context["period"]:
        query["period"] = context["period"].isoformat()
    return urlencode(query)


@login_required
def export_csv(request, slug):
    store = get_membership(request, slug).store
    return exports.csv_response(comparison_context(store, request.GET))


@login_required
def export_xlsx(request, slug):
    store = get_membership(request, slug).store
    return exports.xlsx_response(comparison_context(store, request.GET))


@login_required
@require_POST
def sharing(request, slug):
    """Let the store owner choose whether the store contributes to peer baselines."""
    membership = get_membership(request, slug)
    require_owner(membership)

    form = SharingForm(request.POST)
    form.is_valid()
    contributes = form.cleaned_data.get("contributes", False)
    StoreSharing.objects.update_or_create(
        store=membership.store, defaults={"contributes": contributes, "updated_by": request.user}
    )
    if contributes:
        messages.success(request, _("This store now shares its figures in peer baselines from the next recompute."))
    else:
        messages.success(request, _("This store no longer shares its figures; the next recompute leaves it out."))
    return redirect("benchmarks:comparison", slug=membership.store.slug)
