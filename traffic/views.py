from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import get_membership_for_user, remember_store, require_upload_role, stores_for_user, SESSION_STORE_KEY
from traffic import actions, queries
from traffic.access import get_upload_for_user
from traffic.dimensions import Granularity
from traffic.forms import ReportFilterForm, UploadForm
from traffic.importers.base import ImportOptions
from traffic.models import Upload

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
        "periods": periods,
        "form": form,
        "table": table,
        "trend": trend,
    }
    template = "traffic/report.html#report-body" if request.htmx else "traffic/report.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def _granularity_with_data(store, terminal, region):
    for granularity in Granularity.values:
        if queries.current_figures(store, granularity, terminal, region).exists():
            return granularity
    return None


@login_required
@require_http_methods(["GET", "POST"])
def upload_list(request, slug):
    membership = get_membership_for_user(request.user, slug)
    store = membership.store
    remember_store(request, store)

    form = UploadForm()
    if request.method == "POST":
        require_upload_role(membership)
        form = UploadForm(request.POST, request.FILES)
        is_valid = form.is_valid()
        too_large = getattr(request, "upload_too_large", None)
        if too_large:
            form.add_error("files", _too_large_message(too_large))
        elif is_valid:
            created = _store_uploads(request, store, form)
            if created is not None:
                if len(created) == 1:
                    return redirect("traffic:upload_detail", slug=store.slug, upload_id=created[0].id)
                messages.success(request, _("%(count)d files were queued for import.") % {"count": len(created)})
                return redirect("traffic:uploads", slug=store.slug)

    uploads = store.uploads.select_related("uploaded_by")[:50]
    return render(
        request,
        "traffic/uploads.html",
        {"store": store, "membership": membership, "form": form, "uploads": uploads},
    )


def _store_uploads(request, store, form):
    """Store every file and queue its import; on a file over the limit, keep none of them."""
    options = ImportOptions(
        granularity=form.cleaned_data["granularity"],
        terminal=form.cleaned_data["terminal"],
        region=form.cleaned_data["region"],
    )
    created = []
    try:
        with transaction.atomic():
            for uploaded in form.cleaned_data["files"]:
                upload = actions.store_upload_file(store, uploaded.chunks(), uploaded.name, request.user, options)
                actions.enqueue_import(upload)
                created.append(upload)
    except actions.FileTooLarge as exc:
        for upload in created:
            upload.file_path.unlink(missing_ok=True)
        form.add_error("files", _too_large_message(exc.args[0]))
        return None
    return created


def _too_large_message(name):
    return _("%(name)s is larger than the limit of %(limit)s MB; nothing was uploaded.") % {
        "name": name,
        "limit": actions.upload_limit_mb(),
    }


@login_required
def upload_detail(request, slug, upload_id):
    membership = get_membership_for_user(request.user, slug)
    upload = get_upload_for_user(membership, upload_id)

    context = {
        "store": membership.store,
        "membership": membership,
        "upload": upload,
        "report_query": _report_query(upload),
    }
    # While the import runs, the fragment polls itself; the final fragment has no trigger.
    template = "traffic/upload_detail.html#upload-status" if request.htmx else "traffic/upload_detail.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def _report_query(upload):
    """Return the report's query string that shows the newest period this upload brought."""
    if upload.status != Upload.Status.SUCCEEDED:
        return ""
    figure = upload.figures.order_by("-period_start", "granularity", "terminal", "region").first()
    if figure is None:
        return ""
    return urlencode(
        {
            "granularity": figure.granularity,
            "terminal": figure.terminal,
            "region": figure.region,
            "period": figure.period_start.isoformat(),
        }
    )
