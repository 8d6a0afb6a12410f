"""Walk every URL pattern and check that no store's data reaches anyone outside it.

ROUTES has one entry per named URL pattern. A new pattern without an entry
fails test_every_url_pattern_has_a_sweep_entry, so a change that adds a view
must state here how to build its URL, which methods change data, and who may use it.

For each entry the sweep requests the victim store's URL (built with real ids
of the victim's upload, token, invitation and membership):
- anonymous: web pages redirect to the login page, /api/ answers 401;
- as the owner of another store: 404, exactly as for a store that does not exist;
- with another store's API token on /api/: 404;
- as a viewer of the victim store, every mutating method: 403.
"""

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import actions, tokens
from accounts.models import Membership
from tests.helpers import make_upload

pytestmark = pytest.mark.django_db

# Prefixes the sweep does not walk, and why.
SKIPPED_PREFIXES = {
    # Django's admin site has its own staff login and permission system (is_staff and model permissions).
    "admin/": "Django admin: only is_staff users get in, checked by AdminSite.has_permission",
    # set_language changes the visitor's language cookie and reads no store data.
    "i18n/": "language switch: touches only the visitor's language cookie",
}

# Kinds of route:
PUBLIC = "public"  # open to anyone, and reason explains why that is safe
USER = "user"  # needs a login, no store in the URL
STAFF = "staff"  # needs a login and is_staff; other users get 403
STORE = "store"  # a page of one store: members only
API = "api"  # JSON API of one store: a member's session or the store's token

# Ids for staff pages, which refuse non-staff users before any lookup, so the objects need not exist.
MISSING_ID = 999_999


@dataclass(frozen=True)
class Route:
    kind: str
    kwargs: tuple = ()  # names of the URL's keyword arguments, filled from the victim objects
    mutating: frozenset = frozenset()  # methods that change data
    reads: frozenset = frozenset({"GET"})  # methods that only read; empty for POST-only views
    viewer_status: int = 403  # what a viewer of the victim store gets on a mutating method
    outsider_status: int = 404  # what a logged-in member of another store gets
    reason: str = ""  # for PUBLIC routes and exceptions
    options: dict = field(default_factory=dict, hash=False, compare=False)


POST_ONLY = frozenset()
POST = frozenset({"POST"})

ROUTES = {
    # traffic
    "traffic:home": Route(USER),
    "traffic:report": Route(STORE, ("slug",)),
    "traffic:report_csv": Route(STORE, ("slug",)),
    "traffic:report_xlsx": Route(STORE, ("slug",)),
    "traffic:uploads": Route(STORE, ("slug",), mutating=POST),
    "traffic:upload_detail": Route(STORE, ("slug", "upload_id")),
    "traffic:upload_delete": Route(STORE, ("slug", "upload_id"), mutating=POST, reads=POST_ONLY),
    "traffic:upload_problems": Route(STORE, ("slug", "upload_id")),
    "traffic:upload_file": Route(STORE, ("slug", "upload_id")),
    "traffic:label_mappings": Route(STAFF, mutating=POST),
    # accounts
    "accounts:login": Route(PUBLIC, reason="the login form"),
    "accounts:logout": Route(PUBLIC, reason="logging out needs no session and reads nothing"),
    "accounts:stores": Route(USER),
    "accounts:invitation": Route(PUBLIC, ("token",), reason="the secret token in the link is the credential"),
    "accounts:audit": Route(STAFF),
    "accounts:password_change": Route(
        USER, mutating=POST, viewer_status=200, reason="every user may change their own password"
    ),
    "accounts:password_change_done": Route(USER),
    "accounts:password_reset": Route(PUBLIC, reason="asking for a reset link shows nothing about the account"),
    "accounts:password_reset_done": Route(PUBLIC, reason="a static page"),
    "accounts:password_reset_confirm": Route(
        PUBLIC, ("uidb64", "reset_token"), reason="the signed token in the link is the credential"
    ),
    "accounts:password_reset_complete": Route(PUBLIC, reason="a static page"),
    "accounts:members": Route(STORE, ("slug",)),
    "accounts:invite": Route(STORE, ("slug",), mutating=POST, reads=POST_ONLY),
    "accounts:transfer_ownership": Route(STORE, ("slug",), mutating=POST, reads=POST_ONLY),
    "accounts:change_role": Route(STORE, ("slug", "membership_id"), mutating=POST, reads=POST_ONLY),
    "accounts:remove_member": Route(STORE, ("slug", "membership_id"), mutating=POST, reads=POST_ONLY),
    "accounts:revoke_invitation": Route(STORE, ("slug", "invitation_id"), mutating=POST, reads=POST_ONLY),
    "accounts:leave_store": Route(
        STORE, ("slug",), mutating=POST, reads=POST_ONLY, viewer_status=302, reason="every member may leave a store"
    ),
    "accounts:store_settings": Route(STORE, ("slug",), mutating=POST),
    "accounts:delete_store": Route(STORE, ("slug",), mutating=POST, reads=POST_ONLY),
    "accounts:export_store": Route(STORE, ("slug",)),
    "accounts:tokens": Route(STORE, ("slug",), mutating=POST),
    "accounts:revoke_token": Route(STORE, ("slug", "token_id"), mutating=POST, reads=POST_ONLY),
    "accounts:store_audit": Route(STORE, ("slug",)),
    # API
    "api:traffic": Route(API, ("slug",)),
    "api:uploads": Route(
        API, ("slug",), mutating=POST, reads=POST_ONLY, viewer_status=401, outsider_status=401,
        reason="uploads through the API take a token and ignore sessions, so every slug, real or not, gets 401",
    ),
    "api:upload": Route(API, ("slug", "upload_id")),
    # benchmarks
    "benchmarks:comparison": Route(STORE, ("slug",)),
    "benchmarks:export_csv": Route(STORE, ("slug",)),
    "benchmarks:export_xlsx": Route(STORE, ("slug",)),
    "benchmarks:sharing": Route(STORE, ("slug",), mutating=POST, reads=POST_ONLY),
    "benchmarks:staff_home": Route(STAFF),
    "benchmarks:staff_industries": Route(STAFF, mutating=POST),
    "benchmarks:staff_industry": Route(STAFF, ("industry_id",), mutating=POST),
    "benchmarks:staff_stores": Route(STAFF, mutating=POST),
    "benchmarks:staff_method": Route(STAFF, mutating=POST),
    "benchmarks:staff_recompute": Route(STAFF, mutating=POST),
    "benchmarks:staff_run": Route(STAFF, ("run_id",)),
    "benchmarks:staff_run_publish": Route(STAFF, ("run_id",), mutating=POST, reads=POST_ONLY),
    "benchmarks:staff_snapshots": Route(STAFF),
    "benchmarks:staff_snapshot": Route(STAFF, ("snapshot_id",)),
    "benchmarks:staff_snapshot_publish": Route(STAFF, ("snapshot_id",), mutating=POST, reads=POST_ONLY),
    "benchmarks:staff_snapshot_unpublish": Route(STAFF, ("snapshot_id",), mutating=POST, reads=POST_ONLY),
    "benchmarks:staff_peer_figures": Route(STAFF, mutating=POST),
    "benchmarks:staff_unmapped": Route(STAFF),
    "benchmarks_api:benchmarks": Route(API, ("slug",)),
    # platform
    "health": Route(PUBLIC, reason="the load balancer's health check; it reports no store data"),
}


def walk_patterns(patterns, prefix="", namespace=None):
    """Yield (name, route) for every URL pattern, with the namespace in the name as reverse() takes it."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if any(route.startswith(skipped) for skipped in SKIPPED_PREFIXES):
                continue
            inner = pattern.namespace if pattern.namespace else namespace
            if namespace and pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from walk_patterns(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or route
            yield (f"{namespace}:{name}" if namespace else name), route


def test_every_url_pattern_has_a_sweep_entry():
    found = dict(walk_patterns(get_resolver().url_patterns))

    missing = sorted(set(found) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(found))

    assert missing == [], f"add these URL names to ROUTES in {__name__}: {missing}"
    assert stale == [], f"these ROUTES entries match no URL pattern any more: {stale}"


def test_store_urls_are_marked_store_or_api():
    for name, route in walk_patterns(get_resolver().url_patterns):
        if "<slug:slug>" in route:
            assert ROUTES[name].kind in {STORE, API}, f"{name} ({route}) has a store slug but is marked {ROUTES[name].kind}"


def test_public_and_exempt_entries_give_a_reason():
    for name, route in ROUTES.items():
        if route.kind == PUBLIC or route.viewer_status != 403 or route.outsider_status != 404:
            assert route.reason, f"{name} needs a reason"


@pytest.fixture
def victim(store, owner, analyst, viewer):
    """Real objects of the victim store, so a 404 comes from the access check and not from a missing row."""
    upload = make_upload(store)
    token, _secret = tokens.create_token(store, "victim script")
    invitation, invitation_token = actions.create_invitation(store, "invitee@example.com", "viewer", owner)
    return {
        "slug": store.slug,
        "upload_id": upload.id,
        "token_id": token.id,
        "invitation_id": invitation.id,
        "membership_id": Membership.objects.get(user=analyst, store=store).id,
        "token": invitation_token,
        "uidb64": "MQ",
        "reset_token": "set-password",
        "industry_id": store.main_industry_id,
        "run_id": MISSING_ID,
        "snapshot_id": MISSING_ID,
    }


def build_url(name, victim):
    route = ROUTES[name]
    kwargs = {key: victim[key] for key in route.kwargs}
    if "reset_token" in kwargs:
        kwargs["token"] = kwargs.pop("reset_token")
    return reverse(name, kwargs=kwargs)


def request(client, method, url, headers=None):
    return getattr(client, method.lower())(url, headers=headers or {})


def cases(kinds, methods="all"):
    """Return pytest params (name, method) for the routes of these kinds."""
    params = []
    for name, route in sorted(ROUTES.items()):
        if route.kind not in kinds:
            continue
        chosen = route.mutating if methods == "mutating" else route.reads | route.mutating
        params += [pytest.param(name, method, id=f"{name}-{method}") for method in sorted(chosen)]
    return params


@pytest.mark.parametrize(("name", "method"), cases({USER, STAFF, STORE}))
def test_anonymous_redirected_to_login(client, victim, name, method):
    url = build_url(name, victim)

    response = request(client, method, url)

    assert response.status_code == 302, f"{method} {url}"
    assert response.url.startswith(reverse("accounts:login")), f"{method} {url} -> {response.url}"


@pytest.mark.parametrize(("name", "method"), cases({API}))
def test_anonymous_api_gets_401(client, victim, name, method):
    url = build_url(name, victim)

    response = request(client, method, url)

    assert response.status_code == 401, f"{method} {url}"


@pytest.mark.parametrize(("name", "method"), cases({STORE, API}))
def test_member_of_other_store_gets_404(client, victim, outsider, name, method):
    client.force_login(outsider)
    url = build_url(name, victim)

    response = request(client, method, url)

    assert response.status_code == ROUTES[name].outsider_status, f"{method} {url}"


@pytest.mark.parametrize(("name", "method"), cases({API}))
def test_other_store_token_gets_404(client, victim, other_store, name, method):
    _record, secret = tokens.create_token(other_store, "other script")
    url = build_url(name, victim)

    response = request(client, method, url, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 404, f"{method} {url}"


@pytest.mark.parametrize(("name", "method"), cases({STAFF}))
def test_non_staff_gets_403_on_staff_pages(client, victim, owner, name, method):
    client.force_login(owner)
    url = build_url(name, victim)

    response = request(client, method, url)

    assert response.status_code == 403, f"{method} {url}"


@pytest.mark.parametrize(("name", "method"), cases({USER, STAFF, STORE, API}, methods="mutating"))
def test_viewer_cannot_mutate(client, victim, viewer, name, method):
    client.force_login(viewer)
    url = build_url(name, victim)

    response = request(client, method, url)

    assert response.status_code == ROUTES[name].viewer_status, f"{method} {url}"


def test_sweep_covers_every_mutating_store_route():
    mutating = {name for name, route in ROUTES.items() if route.kind in {STORE, API} and route.mutating}

    assert {"traffic:upload_delete", "accounts:delete_store", "accounts:revoke_token", "api:uploads"} <= mutating


def test_unlisted_pattern_would_fail_the_sweep():
    from django.http import HttpResponse
    from django.urls import include, path

    extra = [path("stores/<slug:slug>/new-page/", lambda request, slug: HttpResponse(), name="new_page")]
    patterns = [*get_resolver().url_patterns, path("", include((extra, "traffic")))]

    found = dict(walk_patterns(patterns))

    assert "traffic:new_page" in found
    assert "traffic:new_page" not in ROUTES
