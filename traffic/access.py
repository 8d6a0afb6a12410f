from django.shortcuts import get_object_or_404

from traffic.models import Upload


def get_upload_for_user(membership, upload_id: int) -> Upload:
    """Return an upload of the member's store, or raise Http404 for any other id."""
    return get_object_or_404(Upload.objects.select_related("store", "uploaded_by"), id=upload_id, store=membership.store)
