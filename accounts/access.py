"""The one way views reach a store's data.

A user who is not a member of a store gets 404, the same response as for a
store that does not exist, so a URL reveals nothing about other stores.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, Store

SESSION_STORE_KEY = "current_store_slug"


def get_membership_for_user(user, slug: str) -> Membership:
    """Return the user's membership of the store with this slug, or raise Http404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404(_("Store not found."))

    membership = (
        Membership.objects.select_related("store", "store__main_industry")
        .filter(user=user, store__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404(_("Store not found."))
    return membership


def get_store_for_user(user, slug: str) -> Store:
    return get_membership_for_user(user, slug).store


def require_upload_role(membership: Membership) -> None:
    """Raise PermissionDenied unless the member may upload (owners and analysts)."""
    if not membership.can_upload:
        raise PermissionDenied(_("Your role in this store does not allow uploads."))


def require_owner(membership: Membership) -> None:
    """Raise PermissionDenied unless the member owns the store."""
    if not membership.is_owner:
        raise PermissionDenied(_("Only the store owner can do this."))


def stores_for_user(user):
    if not user.is_authenticated:
        return Store.objects.none()
    return Store.objects.filter(memberships__user=user).order_by("name")


def remember_store(request, store: Store) -> None:
    # Writing an unchanged value would mark the session modified and save it on every page.
    if request.session.get(SESSION_STORE_KEY) != store.slug:
        request.session[SESSION_STORE_KEY] = store.slug


class ApiUnauthorized(Exception):
    """Raised when an API request carries neither a valid token nor a logged-in session.

    `token_rejected` is true when the request sent a token that is wrong or revoked.
    """

    def __init__(self, token_rejected: bool = False):
        super().__init__()
        self.token_rejected = token_rejected


def get_api_access(request, slug: str, token_required: bool = False) -> tuple[Store, bool]:
    """Return the store an API request may use and whether it may upload.

    A bearer token opens only its own store: any other slug is 404, like a store
    that does not exist. Without a token, the logged-in user's membership decides.
    """
    from accounts.tokens import token_from_request

    if request.headers.get("Authorization"):
        token = token_from_request(request)
        if token is None:
            raise ApiUnauthorized(token_rejected=True)
        if token.store.slug != slug:
            raise Http404(_("Store not found."))
        request.api_token = token
        return token.store, True

    if token_required or not request.user.is_authenticated:
        raise ApiUnauthorized
    membership = get_membership_for_user(request.user, slug)
    return membership.store, membership.can_upload
