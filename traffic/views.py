from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext_lazy as _
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.access import SESSION_STORE_KEY, get_membership, remember_store, stores_for_user
from traffic import exports, queries
from traffic.dimensions import Granularity, Region, Terminal
from traffic.forms import ReportFilterForm
from traffic.htmx import wants_fragment
from traffic.report.build import build_report
from traffic.report.filters import Metric, store_today


# The source table's columns after the source: (sort key, heading, definition).
COLUMNS = (
    ("visitors", Metric.VISITORS.label, _(
        "Buyers who viewed a product or company page of the store, or sent an inquiry or chat from another page. "
        "De-duplicated within one day, not across days."
    )),
    ("share", _("Share of visitors"), _(
        "This source's visitors divided by the store total as uploaded, or by the sum of the categories when no total was uploaded."
    )),
    ("inquiry_customers", Metric.INQUIRY_CUSTOMERS.label, _(
        "Buyers who sent at least one valid inquiry in the period; system spam is excluded."
    )),
    ("tm_customers", Metric.TM_CUSTOMERS.label, _("Buyers who started a TradeManager (chat) consultation in the period.")),
    ("feedback_conversion_rate", Metric.FEEDBACK_CONVERSION_RATE.label, _(
        "(Inquiry customers + TM customers) ÷ visitors, as the platform's reports compute it."
    )),
)


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
    membership = get_membership(request, slug)
    store = membership.store
    remember_store(request, store)

    form, filters = _filters(request, store)
    report = build_report(store, filters)

    context = {
        "store": store,
        "membership": membership,
        "form": form,
        "filters": filters,
        "report": report,
        "query": filters.query_string(),
        "columns": COLUMNS,
        "metric_label": Metric(filters.metric).label,
        # Only an empty page offers a link to the latest period with data, and only when there is one.
        "latest_with_data": None if report.has_data else queries.newest_period(
            store, filters.granularity, filters.terminal, filters.region
        ),
    }
    fragment = wants_fragment(request)
    template = "traffic/report.html#report-body" if fragment else "traffic/report.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request, HX-History-Restore-Request"
    if fragment:
        # Put the filters actually shown in the address bar, not a range that had no data.
        response["HX-Push-Url"] = report_url(store, filters)
    return response


@login_required
def report_csv(request, slug):
    store = get_membership(request, slug).store
    _form, filters = _filters(request, store)
    return exports.csv_response(store, build_report(store, filters))


@login_required
def report_xlsx(request, slug):
    store = get_membership(request, slug).store
    _form, filters = _filters(request, store)
    return exports.xlsx_response(store, build_report(store, filters))


def report_url(store, filters, view="traffic:report"):
    return f"{reverse(view, args=[store.slug])}?{filters.query_string()}"


def _filters(request, store):
    form = ReportFilterForm(request.GET)
    form.is_valid()
    terminal = form.valid_value("terminal", Terminal.ALL)
    region = form.valid_value("region", Region.ALL)

    default_granularity = Granularity.DAY
    if not form.valid_value("granularity"):
        default_granularity = queries.granularity_with_data(store, terminal, region) or Granularity.DAY

    def newest_period(granularity, terminal, region):
        return queries.newest_period(store, granularity, terminal, region)

    filters = form.filters(store, store_today(store), default_granularity, newest_period)
    return form, filters
