"""The one way views reach a store's data.

A user who is not a member of a store gets 404, the same response as for a
store that does not exist, so a URL reveals nothing about other stores.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, Store

SESSION_STORE_KEY = "current_store_slug"


@dataclass(frozen=True)
class StoreLink:
    """A store as the store switcher lists it, copied when the memberships were read.

    A copy, so a form that edits the store in memory (and fails validation) does not
    rename it in the switcher.
    """

    slug: str
    name: str


class UserStores:
    """The signed-in user's memberships and their stores, loaded by one query per request."""

    def __init__(self, memberships: list[Membership]):
        self.memberships = memberships
        self.links = [StoreLink(membership.store.slug, membership.store.name) for membership in memberships]

    def membership(self, slug: str) -> Membership | None:
        return next((membership for membership in self.memberships if membership.store.slug == slug), None)


def user_stores(request) -> UserStores:
    """Return the request user's memberships, ordered by store name, reading them at most once per request.

    The page's store lookup and the store switcher share this one query.
    """
    cached = getattr(request, "_user_stores", None)
    if cached is None:
        user = request.user
        memberships = []
        if user.is_authenticated and user.is_active:
            memberships = list(
                Membership.objects.select_related("store", "store__main_industry")
                .filter(user=user)
                .order_by("store__name", "store__id")
            )
        cached = request._user_stores = UserStores(memberships)
    return cached


def get_membership(request, slug: str) -> Membership:
    """Return the request user's membership of the store with this slug, or raise Http404."""
    membership = user_stores(request).membership(slug)
    if membership is None:
        raise Http404(_("Store not found."))
    return membership


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
    membership = get_membership(request, slug)
    return membership.store, membership.can_upload
