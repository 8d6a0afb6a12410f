"""Log in, the user's stores, leaving a store and accepting an invitation."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import actions
from accounts.access import SESSION_STORE_KEY, get_membership
from accounts.forms import EmailAuthenticationForm, NewMemberForm
from accounts.models import User


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


@login_required
def store_list(request):
    """List the user's stores with their role, for the store switcher."""
    memberships = request.user.memberships.select_related("store", "store__main_industry").order_by("store__name")
    return render(request, "accounts/stores.html", {"memberships": memberships})


@login_required
@require_POST
def leave_store(request, slug):
    membership = get_membership(request, slug)
    store = membership.store

    try:
        actions.leave_store(membership, request=request)
    except actions.LastOwner:
        messages.error(request, _("You are the only owner of %(store)s. Transfer ownership to another member before you leave.") % {"store": store.name})
        return redirect("accounts:stores")

    if request.session.get(SESSION_STORE_KEY) == store.slug:
        del request.session[SESSION_STORE_KEY]
    messages.success(request, _("You left %(store)s.") % {"store": store.name})
    return redirect("accounts:stores")


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token):
    """Show an invitation and accept it: a new person sets a name and password, a known one logs in first."""
    invitation = actions.find_invitation(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", {"reason": "unknown"}, status=404)
    if not invitation.is_pending:
        reason = "expired"
        if invitation.accepted_at:
            reason = "accepted"
        elif invitation.revoked_at:
            reason = "revoked"
        return render(request, "accounts/invitation_invalid.html", {"reason": reason, "invitation": invitation}, status=410)

    context = {"invitation": invitation, "store": None}
    if request.user.is_authenticated:
        return _accept_as_logged_in_user(request, invitation, context)

    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_first"] = True
        return render(request, "accounts/invitation_accept.html", context)

    form = NewMemberForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = form.create_user()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _finish_acceptance(request, invitation, user)
    context["form"] = form
    return render(request, "accounts/invitation_accept.html", context)


def _accept_as_logged_in_user(request, invitation, context):
    if request.user.email.lower() != invitation.email.lower():
        context["wrong_account"] = True
        return render(request, "accounts/invitation_accept.html", context, status=403)

    if request.method == "POST":
        return _finish_acceptance(request, invitation, request.user)
    return render(request, "accounts/invitation_accept.html", context)


def _finish_acceptance(request, invitation, user):
    membership = actions.accept_invitation(invitation, user, request=request)
    messages.success(
        request,
        _("You joined %(store)s as %(role)s.") % {"store": membership.store.name, "role": membership.get_role_display()},
    )
    return redirect("traffic:report", slug=membership.store.slug)
