"""JSON API for scripts and BI tools: read figures, upload files, follow an upload."""

import datetime
import functools
import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.access import ApiUnauthorized, get_api_access
from traffic import actions, queries
from traffic.dimensions import Granularity, Region, Terminal
from traffic.forms import UploadForm
from traffic.models import Upload


def json_response(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def api_view(view):
    """Turn access failures into JSON: 401 without credentials, 403 without the right, 404 for other stores."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApiUnauthorized as exc:
            if exc.token_rejected:
                message = _("The API token is invalid or has been revoked. Ask the store owner for a new one.")
            else:
                message = _("Authentication required: send Authorization: Bearer <token>.")
            response = json_response({"error": message}, 401)
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        except PermissionDenied as exc:
            return json_response({"error": str(exc) or _("Permission denied.")}, 403)
        except Http404:
            return json_response({"error": _("Not found.")}, 404)

    return wrapper


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
@api_view
def traffic(request, slug):
    """Return the store's current figures for one granularity, terminal and region."""
    store, _can_upload = get_api_access(request, slug)

    try:
        granularity = _choice(request, "granularity", Granularity.values, Granularity.DAY)
        terminal = _choice(request, "terminal", Terminal.values, Terminal.ALL)
        region = _choice(request, "region", Region.values, Region.ALL)
        start = _date(request, "start")
        end = _date(request, "end")
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)

    rows = queries.api_rows(store, granularity, terminal, region, start, end)
    return json_response(
        {"store": store.slug, "granularity": granularity, "terminal": terminal, "region": region, "rows": rows}
    )


@csrf_exempt
@require_POST
@api_view
def uploads(request, slug):
    """Accept one or more files with a bearer token and queue their imports."""
    store, can_upload = get_api_access(request, slug, token_required=True)
    if not can_upload:
        raise PermissionDenied(_("Your role in this store does not allow uploads."))

    # Reading request.FILES parses the body; the size-limit handler flags a file over the limit.
    form = UploadForm(request.POST, request.FILES)
    too_large = getattr(request, "upload_too_large", None)
    if too_large:
        return _too_large(too_large)

    if not form.is_valid():
        return json_response({"error": _("The upload is invalid."), "fields": json.loads(form.errors.as_json())}, 400)

    try:
        created, duplicates = actions.store_upload_files(
            store, form.cleaned_data["files"], options=form.import_options(), api_token=getattr(request, "api_token", None)
        )
    except actions.FileTooLarge as exc:
        return _too_large(exc.args[0])

    results = [{**_upload_summary(request, upload), "duplicate": False} for upload in created]
    results += [{**_upload_summary(request, upload), "duplicate": True} for upload in duplicates]
    return json_response({"uploads": results}, 202)


def _too_large(name):
    message = _("%(name)s is larger than the limit of %(limit)s MB; nothing was uploaded.")
    return json_response({"error": message % {"name": name, "limit": actions.upload_limit_mb()}}, 413)


def _upload_summary(request, upload):
    return {
        "id": upload.id,
        "original_name": upload.original_name,
        "status": upload.status,
        "status_url": request.build_absolute_uri(reverse("api:upload", args=[upload.store.slug, upload.id])),
    }


@require_GET
@api_view
def upload_status(request, slug, upload_id):
    """Return an upload's status, progress and problems."""
    store, _can_upload = get_api_access(request, slug)
    upload = get_object_or_404(Upload, id=upload_id, store=store)

    return json_response(
        {
            **_upload_summary(request, upload),
            "layout": upload.layout or None,
            "rows_read": upload.rows_read,
            "rows_total": upload.rows_total,
            "figures_imported": upload.figures_imported,
            "problems": [
                {**problem.to_dict(), "text": problem.render()} for problem in upload.problems()
            ],
        }
    )
