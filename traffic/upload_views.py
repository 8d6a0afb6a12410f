"""Upload pages: the upload form and list, an upload's status, its problems and its deletion."""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_membership, remember_store, require_owner, require_upload_role
from accounts.audit import client_ip
from traffic import actions
from traffic.access import get_upload_for_user
from traffic.forms import UploadForm
from traffic.models import Upload


@login_required
@require_http_methods(["GET", "POST"])
def upload_list(request, slug):
    membership = get_membership(request, slug)
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
                return _after_upload(store, created, len(form.cleaned_data["files"]), request)

    uploads = list(store.uploads.select_related("uploaded_by", "api_token")[:50])
    context = {
        "store": store,
        "membership": membership,
        "form": form,
        "uploads": uploads,
        # While an import runs, the list refreshes itself; once all are done it stops asking.
        "any_running": any(not upload.is_done for upload in uploads),
    }
    template = "traffic/uploads.html#upload-rows" if request.htmx and request.method == "GET" else "traffic/uploads.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def _after_upload(store, created, file_count, request):
    if len(created) == 1 and file_count == 1:
        return redirect("traffic:upload_detail", slug=store.slug, upload_id=created[0].id)
    if created:
        messages.success(request, _("%(count)d files were queued for import.") % {"count": len(created)})
    return redirect("traffic:uploads", slug=store.slug)


def _store_uploads(request, store, form):
    """Store every file and queue its import; a file over the limit cancels the whole request.

    Returns the new uploads, or None after adding the error to the form. A file
    the store already has is not stored again, and a message reports it instead.
    """
    try:
        created, duplicates = actions.store_upload_files(
            store, form.cleaned_data["files"], request.user, form.import_options()
        )
    except actions.FileTooLarge as exc:
        form.add_error("files", _too_large_message(exc.args[0]))
        return None

    for existing in duplicates:
        messages.info(request, _duplicate_message(existing))
    return created


def _duplicate_message(existing):
    return _("%(name)s was already uploaded on %(date)s (upload %(id)s); nothing changed.") % {
        "name": existing.original_name,
        "date": timezone.localtime(existing.created_at).strftime("%Y-%m-%d %H:%M"),
        "id": existing.id,
    }


def _too_large_message(name):
    return _("%(name)s is larger than the limit of %(limit)s MB; nothing was uploaded.") % {
        "name": name,
        "limit": actions.upload_limit_mb(),
    }


@login_required
def upload_detail(request, slug, upload_id):
    membership = get_membership(request, slug)
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


@login_required
@require_POST
def upload_delete(request, slug, upload_id):
    """Delete an upload and its figures; the figures it had replaced come back."""
    membership = get_membership(request, slug)
    upload = get_upload_for_user(membership, upload_id)
    require_owner(membership)

    name = upload.original_name
    actions.delete_upload(upload, actor=request.user, ip_address=client_ip(request))
    messages.success(request, _("%(name)s and its figures were deleted.") % {"name": name})
    return redirect("traffic:uploads", slug=membership.store.slug)


@login_required
def upload_problems_csv(request, slug, upload_id):
    """Download the upload's problems as CSV (UTF-8 with BOM, so Excel on Chinese Windows opens it)."""
    membership = get_membership(request, slug)
    upload = get_upload_for_user(membership, upload_id)

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.id}-problems.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Level"), _("Message"), _("File"), _("Sheet"), _("Row"), _("Column"), _("Value")])
    for problem in upload.problems():
        level = _("Error") if problem.level == "error" else _("Warning")
        writer.writerow(
            [level, problem.render_message(), problem.file, problem.sheet, problem.row or "", problem.column, problem.value]
        )
    return response


@login_required
@require_GET
def upload_file(request, slug, upload_id):
    """Send a member the file as it was uploaded, under its original name and never its internal one."""
    membership = get_membership(request, slug)
    upload = get_upload_for_user(membership, upload_id)

    try:
        handle = upload.file_path.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file of this upload is no longer stored.")) from None

    # FileResponse writes filename*=utf-8'' (RFC 5987) for non-ASCII names such as Chinese ones.
    response = FileResponse(
        handle, as_attachment=True, filename=download_name(upload.original_name), content_type="application/octet-stream"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def download_name(original_name: str) -> str:
    """Return the original file name without control characters or path separators, for Content-Disposition."""
    cleaned = "".join("_" if ord(char) < 32 or char in '/\\\x7f' else char for char in original_name).strip()
    return cleaned or "upload"
