"""Owner pages for a store: settings, API tokens, the data export and deletion."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import actions
from accounts.access import get_membership, remember_store, require_owner
from accounts.audit import record_event
from accounts.export import export_file_name, write_store_export
from accounts.forms import ApiTokenForm, DeleteStoreForm, StoreSettingsForm
from accounts.models import ApiToken, AuditEvent

# Exports up to this size stay in memory; larger ones spill to a temporary file.
EXPORT_MEMORY_BYTES = 8 * 1024 * 1024


def _owner_membership(request, slug):
    membership = get_membership(request, slug)
    require_owner(membership)
    remember_store(request, membership.store)
    return membership


@login_required
@require_http_methods(["GET", "POST"])
def store_settings(request, slug):
    membership = _owner_membership(request, slug)
    store = membership.store

    form = StoreSettingsForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        actions.update_store(form.save(commit=False), form.changed_data, request.user, request=request)
        messages.success(request, _("The store settings were saved."))
        return redirect("accounts:store_settings", slug=store.slug)

    context = {"store": store, "membership": membership, "form": form, "delete_form": DeleteStoreForm(store=store)}
    return render(request, "accounts/store_settings.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def delete_store(request, slug):
    membership = _owner_membership(request, slug)
    store = membership.store

    form = DeleteStoreForm(request.POST, store=store)
    if not form.is_valid():
        context = {"store": store, "membership": membership, "form": StoreSettingsForm(instance=store), "delete_form": form}
        return render(request, "accounts/store_settings.html", context, status=400)

    name = store.name
    actions.delete_store(store, request.user, request=request)
    messages.success(request, _("%(store)s and all its data were deleted.") % {"store": name})
    return redirect("accounts:stores")


@login_required
@require_GET
def export_store(request, slug):
    """Send the store's data as a ZIP of CSV files (UTF-8 with BOM)."""
    membership = _owner_membership(request, slug)
    store = membership.store

    archive = tempfile.SpooledTemporaryFile(max_size=EXPORT_MEMORY_BYTES)
    write_store_export(store, archive)
    archive.seek(0)
    record_event(AuditEvent.Type.STORE_EXPORTED, store=store, request=request)

    response = FileResponse(archive, as_attachment=True, filename=export_file_name(store), content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request, slug):
    """List the store's API tokens and create one; a new token's secret is in this one response only."""
    membership = _owner_membership(request, slug)
    store = membership.store

    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        record, new_secret = actions.create_api_token(store, form.cleaned_data["name"], request.user, request=request)
        form = ApiTokenForm()

    context = {
        "store": store,
        "membership": membership,
        "form": form,
        "new_secret": new_secret,
        "tokens": store.api_tokens.select_related("created_by"),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def revoke_token(request, slug, token_id):
    membership = _owner_membership(request, slug)
    record = get_object_or_404(ApiToken, id=token_id, store=membership.store)

    actions.revoke_api_token(record, request.user, request=request)
    messages.success(request, _("The token %(name)s was revoked. Scripts that use it now get 401.") % {"name": record.name})
    return redirect("accounts:tokens", slug=slug)
