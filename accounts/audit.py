"""The audit log: record who changed what in which store, and failed or locked-out logins.

Other apps call record_event(); the signal receivers here add login failures
(Django's user_login_failed) and lockouts (django-axes' user_locked_out).
"""

import ipaddress
import logging

from django.conf import settings

from accounts.models import AuditEvent

logger = logging.getLogger(__name__)


def client_ip(request) -> str | None:
    """Return the client's IP address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies.

    Each trusted proxy appends the address it saw, so the client is the
    TRUSTED_PROXY_COUNT-th entry from the right. django-axes calls this too
    (AXES_CLIENT_IP_CALLABLE), so throttling and the log agree on the address.
    """
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]

    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record_event(event_type, *, store=None, actor=None, request=None, details=None, ip_address=None) -> AuditEvent:
    """Write one audit event and return it.

    event_type is an AuditEvent.Type member or its value ("baseline_published").
    actor defaults to request.user when the request has a logged-in user;
    ip_address defaults to the request's client address. details must be
    JSON-serialisable and must never contain a secret (a token, a password).
    """
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    if ip_address is None and request is not None:
        ip_address = client_ip(request)

    event = AuditEvent.objects.create(
        event_type=AuditEvent.Type(event_type),
        store=store,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        details=details or {},
        ip_address=ip_address,
    )
    logger.info(
        "audit event=%s store=%s actor=%s", event.event_type, getattr(store, "id", None), getattr(actor, "id", None)
    )
    return event


def record_upload_deleted(upload, actor=None, ip_address=None) -> AuditEvent:
    """Record that an upload was deleted; called by traffic.actions.delete_upload."""
    return record_event(
        AuditEvent.Type.UPLOAD_DELETED,
        store=upload.store,
        actor=actor,
        ip_address=ip_address,
        details={"upload_id": upload.id, "file_name": upload.original_name, "figures": upload.figures_imported},
    )


def on_login_failed(sender, credentials, request=None, **kwargs):
    # Django masks the password in credentials; only the e-mail address is kept.
    record_event(
        AuditEvent.Type.LOGIN_FAILED,
        request=request,
        details={"email": str(credentials.get("username") or credentials.get("email") or "")[:254]},
    )


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    record_event(
        AuditEvent.Type.LOCKED_OUT,
        request=request,
        ip_address=ip_address,
        details={"email": str(username or "")[:254]},
    )
