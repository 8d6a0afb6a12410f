"""Staff pages: industries and store assignment, method, recompute, publication, peer figures, unmapped labels.

Anonymous visitors are sent to the login page; logged-in users who are not
staff get 403. No page here lists which stores contribute to a cohort.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Industry, Store
from benchmarks import compute, peer_import, publication
from benchmarks.forms import (
    IndustryForm,
    MethodForm,
    PeerFigureUploadForm,
    RecomputeForm,
    SizeBandFormSet,
    StoreAssignmentForm,
)
from benchmarks.models import BaselineSnapshot, BenchmarkRun, MethodSettings, PeerFigure, SizeBand
from benchmarks.tasks import recompute_run
from traffic.dimensions import period_start_of
from traffic.models import TrafficFigure

STORES_PER_PAGE = 200
SNAPSHOTS_PER_PAGE = 200


def staff_required(view):
    """Redirect anonymous users to the login page and respond 403 to users who are not staff."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied(_("Only platform staff can open this page."))
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def home(request):
    latest_runs = BenchmarkRun.objects.select_related("started_by")[:5]
    counts = BaselineSnapshot.objects.aggregate(
        total=Count("id"),
        published=Count("id", filter=Q(published_at__isnull=False, unpublished_at__isnull=True)),
        withheld=Count("id", filter=~Q(withheld_reason="")),
    )
    return render(request, "benchmarks/staff/home.html", {
        "latest_runs": latest_runs,
        "counts": counts,
        "industries": Industry.objects.annotate(store_count=Count("stores")),
        "unassigned_stores": Store.objects.filter(main_industry__isnull=True).count(),
    })


@staff_required
@require_http_methods(["GET", "POST"])
def industries(request, industry_id=None):
    industry = get_object_or_404(Industry, pk=industry_id) if industry_id else None
    form = IndustryForm(request.POST or None, instance=industry)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Industry %(name)s saved.") % {"name": saved.name_zh})
        return redirect("benchmarks:staff_industries")

    return render(request, "benchmarks/staff/industries.html", {
        "form": form,
        "editing": industry,
        "industries": Industry.objects.annotate(store_count=Count("stores")),
    })


@staff_required
@require_http_methods(["GET", "POST"])
def store_assignment(request):
    form = StoreAssignmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        industry = form.cleaned_data["industry"]
        count = Store.objects.filter(pk__in=[store.pk for store in form.cleaned_data["stores"]]).update(
            main_industry=industry
        )
        messages.success(request, _("%(count)d stores assigned.") % {"count": count})
        return redirect(f"{request.path}?{request.GET.urlencode()}")

    stores = Store.objects.select_related("main_industry").order_by("name")
    shown_industry = request.GET.get("industry", "")
    if shown_industry == "none":
        stores = stores.filter(main_industry__isnull=True)
    elif shown_industry.isdigit():
        stores = stores.filter(main_industry_id=int(shown_industry))
    search = request.GET.get("q", "").strip()
    if search:
        stores = stores.filter(Q(name__icontains=search) | Q(slug__icontains=search))

    return render(request, "benchmarks/staff/stores.html", {
        "form": form,
        "stores": stores[:STORES_PER_PAGE],
        "store_total": stores.count(),
        "limit": STORES_PER_PAGE,
        "industries": Industry.objects.all(),
        "shown_industry": shown_industry,
        "search": search,
    })


@staff_required
@require_http_methods(["GET", "POST"])
def method(request):
    current = MethodSettings.current()
    form = MethodForm(request.POST or None, instance=current, prefix="method")
    bands = SizeBandFormSet(request.POST or None, queryset=SizeBand.objects.all(), prefix="bands")
    if request.method == "POST" and form.is_valid() and bands.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.updated_by = request.user
            saved.save()
            bands.save()
        messages.success(request, _("The method is saved; it applies from the next recompute."))
        return redirect("benchmarks:staff_method")

    return render(request, "benchmarks/staff/method.html", {"form": form, "bands": bands, "current": current})


@staff_required
@require_http_methods(["GET", "POST"])
def recompute(request):
    form = RecomputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        granularity = form.cleaned_data["granularity"]
        period_start = period_start_of(granularity, form.cleaned_data["period"])
        run = compute.start_run(granularity, period_start, BenchmarkRun.Trigger.MANUAL, request.user)
        transaction.on_commit(lambda: recompute_run.delay(run.pk))
        return redirect("benchmarks:staff_run", run_id=run.pk)

    return render(request, "benchmarks/staff/recompute.html", {
        "form": form,
        "runs": BenchmarkRun.objects.select_related("started_by")[:20],
    })


@staff_required
def run_detail(request, run_id):
    run = get_object_or_404(BenchmarkRun, pk=run_id)
    snapshots = run.snapshots.select_related("industry").order_by("industry__code", "terminal", "region", "size_band_id")
    template = "benchmarks/staff/run.html#run-status" if request.htmx else "benchmarks/staff/run.html"
    return render(request, template, {"run": run, "snapshots": snapshots if run.is_done else []})


@staff_required
@require_POST
def run_publish(request, run_id):
    run = get_object_or_404(BenchmarkRun, pk=run_id)
    count = publication.publish_run(run.pk, request.user, request)
    messages.success(request, _("%(count)d snapshots published.") % {"count": count})
    return redirect("benchmarks:staff_run", run_id=run.pk)


@staff_required
def snapshots(request):
    listed = BaselineSnapshot.objects.select_related("industry", "run").order_by("-period_start", "industry__code", "terminal", "region")
    granularity = request.GET.get("granularity", "")
    if granularity in ("month", "week"):
        listed = listed.filter(granularity=granularity)
    industry = request.GET.get("industry", "")
    if industry.isdigit():
        listed = listed.filter(industry_id=int(industry))
    if request.GET.get("state") == "published":
        listed = listed.filter(published_at__isnull=False, unpublished_at__isnull=True)

    return render(request, "benchmarks/staff/snapshots.html", {
        "snapshots": listed[:SNAPSHOTS_PER_PAGE],
        "limit": SNAPSHOTS_PER_PAGE,
        "industries": Industry.objects.all(),
        "filters": request.GET,
    })


@staff_required
def snapshot_detail(request, snapshot_id):
    """Show one snapshot with every value, suppressed ones marked, as a preview of what merchants do not see."""
    snapshot = get_object_or_404(BaselineSnapshot.objects.select_related("industry", "run"), pk=snapshot_id)
    values = list(snapshot.values.order_by("source", "metric"))
    hidden = [value for value in values if value.is_suppressed or snapshot.withheld_reason]
    return render(request, "benchmarks/staff/snapshot.html", {
        "snapshot": snapshot,
        "values": values,
        "hidden_count": len(hidden),
    })


@staff_required
@require_POST
def snapshot_publish(request, snapshot_id):
    try:
        publication.publish(snapshot_id, request.user, request)
    except BaselineSnapshot.DoesNotExist:
        raise PermissionDenied from None
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Snapshot published."))
    return redirect("benchmarks:staff_snapshot", snapshot_id=snapshot_id)


@staff_required
@require_POST
def snapshot_unpublish(request, snapshot_id):
    get_object_or_404(BaselineSnapshot, pk=snapshot_id)
    publication.unpublish(snapshot_id, request.user, request)
    messages.success(request, _("Snapshot unpublished; merchants no longer see it."))
    return redirect("benchmarks:staff_snapshot", snapshot_id=snapshot_id)


@staff_required
@require_http_methods(["GET", "POST"])
def peer_figures(request):
    form = PeerFigureUploadForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            rows = peer_import.parse_rows(form.cleaned_data["file"].read())
        except peer_import.PeerFileError as exc:
            problems = exc.problems
        except UnicodeDecodeError:
            problems = [_("The file is neither UTF-8 nor GB18030 text; save it as CSV and try again.")]
        else:
            count = peer_import.save_staff_rows(rows, request.user)
            messages.success(request, _("%(count)d peer figures saved.") % {"count": count})
            return redirect("benchmarks:staff_peer_figures")

    figures = PeerFigure.objects.filter(store__isnull=True).select_related("industry")[:300]
    return render(request, "benchmarks/staff/peer_figures.html", {"form": form, "problems": problems, "figures": figures})


@staff_required
def unmapped_labels(request):
    """List source labels that imports kept under their raw label, with how many stores and visitors they carry."""
    labels = (
        TrafficFigure.objects.filter(is_current=True)
        .exclude(raw_label="")
        .values("raw_label")
        .annotate(stores=Count("store", distinct=True), visitors=Sum("visitors"), figures=Count("id"))
        .order_by(F("visitors").desc(nulls_last=True), "raw_label")
    )
    return render(request, "benchmarks/staff/unmapped.html", {"labels": labels})
