"""Record staff actions on baselines in the project's audit log (accounts.audit)."""

import logging

from accounts import audit
from accounts.models import AuditEvent

logger = logging.getLogger(__name__)
# Event types already warned about in this process; later repeats are logged at debug level.
_warned_types: set[str] = set()

PUBLISHED = AuditEvent.Type.BASELINE_PUBLISHED
UNPUBLISHED = AuditEvent.Type.BASELINE_UNPUBLISHED


def record_event(event_type: str, user=None, request=None, **details) -> AuditEvent | None:
    """Write one audit event for a baseline change; return it, or None when the event type is unknown."""
    if event_type not in AuditEvent.Type.values:
        level = logging.DEBUG if event_type in _warned_types else logging.WARNING
        _warned_types.add(event_type)
        logger.log(level, "audit event=%s is not an AuditEvent type; logged only: user=%s details=%s",
                   event_type, getattr(user, "pk", None), details)
        return None
    return audit.record_event(event_type, actor=user, request=request, details=details)
