"""Owner pages for members: the list with pending invitations, inviting, roles, removal and ownership transfer."""

import logging
import smtplib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import actions
from accounts.access import get_membership, remember_store, require_owner
from accounts.forms import InvitationForm, RoleForm, TransferOwnershipForm
from accounts.models import Invitation, Membership

logger = logging.getLogger(__name__)


def _owner_membership(request, slug) -> Membership:
    membership = get_membership(request, slug)
    require_owner(membership)
    return membership


def _member_of_store(owner_membership, membership_id) -> Membership:
    """Return a membership of the owner's store by id, or raise Http404 for any other id."""
    return get_object_or_404(
        Membership.objects.select_related("user", "store"), id=membership_id, store=owner_membership.store
    )


@login_required
def member_list(request, slug, invite_form=None, transfer_form=None, status=200):
    membership = _owner_membership(request, slug)
    store = membership.store
    remember_store(request, store)

    context = {
        "store": store,
        "membership": membership,
        "members": store.memberships.select_related("user").order_by("role", "user__email"),
        "invitations": [
            invitation
            for invitation in store.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")
            if invitation.is_pending
        ],
        "invite_form": invite_form or InvitationForm(store=store),
        "transfer_form": transfer_form or TransferOwnershipForm(current=membership),
        "role_choices": Membership.Role.choices,
    }
    return render(request, "accounts/members.html", context, status=status)


@login_required
@require_POST
def invite(request, slug):
    membership = _owner_membership(request, slug)
    store = membership.store

    form = InvitationForm(request.POST, store=store)
    if not form.is_valid():
        return member_list(request, slug, invite_form=form, status=400)

    invitation, token = actions.create_invitation(
        store, form.cleaned_data["email"], form.cleaned_data["role"], request.user, request=request
    )
    link = request.build_absolute_uri(reverse("accounts:invitation", args=[token]))
    if _send_invitation(invitation, link):
        messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
    else:
        messages.warning(
            request,
            _("The invitation e-mail to %(email)s could not be sent. Send this link yourself; it works until %(date)s: %(link)s")
            % {"email": invitation.email, "date": invitation.expires_at.strftime("%Y-%m-%d %H:%M"), "link": link},
        )
    return redirect("accounts:members", slug=store.slug)


def _send_invitation(invitation, link) -> bool:
    """Send the invitation e-mail in the inviter's language; return False when the mail server fails."""
    context = {"invitation": invitation, "link": link, "store": invitation.store}
    subject = render_to_string("emails/invitation_subject.txt", context).strip()
    body = render_to_string("emails/invitation.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("invitation e-mail failed invitation=%s store=%s", invitation.id, invitation.store_id)
        return False
    return True


@login_required
@require_POST
def revoke_invitation(request, slug, invitation_id):
    membership = _owner_membership(request, slug)
    invitation = get_object_or_404(Invitation, id=invitation_id, store=membership.store)

    actions.revoke_invitation(invitation, request.user, request=request)
    messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("accounts:members", slug=slug)


@login_required
@require_POST
def change_role(request, slug, membership_id):
    owner = _owner_membership(request, slug)
    member = _member_of_store(owner, membership_id)

    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles owner, analyst or viewer."))
        return redirect("accounts:members", slug=slug)

    try:
        actions.change_role(member, form.cleaned_data["role"], request.user, request=request)
    except actions.LastOwner:
        messages.error(request, _("A store needs at least one owner. Make another member an owner first."))
        return redirect("accounts:members", slug=slug)

    messages.success(request, _("%(email)s is now %(role)s.") % {"email": member.user.email, "role": member.get_role_display()})
    if member.id == owner.id:
        # The owner demoted themselves and can no longer open the members page.
        return redirect("traffic:report", slug=slug)
    return redirect("accounts:members", slug=slug)


@login_required
@require_POST
def remove_member(request, slug, membership_id):
    owner = _owner_membership(request, slug)
    member = _member_of_store(owner, membership_id)

    try:
        actions.remove_member(member, request.user, request=request)
    except actions.LastOwner:
        messages.error(request, _("A store needs at least one owner. Make another member an owner first."))
        return redirect("accounts:members", slug=slug)

    messages.success(request, _("%(email)s was removed from the store.") % {"email": member.user.email})
    if member.id == owner.id:
        return redirect("accounts:stores")
    return redirect("accounts:members", slug=slug)


@login_required
@require_POST
def transfer_ownership(request, slug):
    owner = _owner_membership(request, slug)

    form = TransferOwnershipForm(request.POST, current=owner)
    if not form.is_valid():
        return member_list(request, slug, transfer_form=form, status=400)

    new_owner = form.cleaned_data["new_owner"]
    actions.transfer_ownership(owner, new_owner, form.cleaned_data["my_new_role"], request=request)
    messages.success(request, _("%(email)s now owns %(store)s.") % {"email": new_owner.user.email, "store": owner.store.name})
    return redirect("traffic:report", slug=slug)
