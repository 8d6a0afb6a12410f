"""Helpers for views that render either a whole page or an htmx fragment."""


def wants_fragment(request) -> bool:
    """Return whether the request is an htmx swap that takes a fragment of the page.

    htmx requests the whole page, with the HX-History-Restore-Request header, when the
    back button reaches a history entry that its cache no longer contains.
    """
    return bool(request.htmx) and not request.htmx.history_restore_request
