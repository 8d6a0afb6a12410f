"""Audit log pages: a store's events for its owners, every event for platform staff."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.access import get_membership, require_owner
from accounts.models import AuditEvent

PAGE_SIZE = 50


@login_required
def store_audit_log(request, slug):
    membership = get_membership(request, slug)
    require_owner(membership)

    events = AuditEvent.objects.filter(store=membership.store)
    return render(request, "accounts/audit_log.html", _context(request, events, membership))


@login_required
def platform_audit_log(request):
    """Show the events of every store, and those outside any store such as failed logins."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Only platform staff can see the audit log of all stores."))

    events = AuditEvent.objects.select_related("store")
    return render(request, "accounts/audit_log.html", _context(request, events, None))


def _context(request, events, membership):
    event_type = request.GET.get("event", "")
    if event_type in AuditEvent.Type.values:
        events = events.filter(event_type=event_type)

    return {
        "store": membership.store if membership else None,
        "membership": membership,
        "page": Paginator(events, PAGE_SIZE).get_page(request.GET.get("page")),
        "event_types": AuditEvent.Type.choices,
        "event_type": event_type,
    }
