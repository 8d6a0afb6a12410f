"""Changes to memberships, invitations, API tokens and stores, each recorded in the audit log.

Views call these functions and never change these models directly. Every
function that could take away a store's last owner raises LastOwner instead.
"""

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import tokens
from accounts.audit import record_event
from accounts.models import ApiToken, AuditEvent, Invitation, Membership, Store

logger = logging.getLogger(__name__)

Role = Membership.Role


class LastOwner(Exception):
    """Raised when a change would leave a store without an owner."""


def _locked_owner_count(store) -> int:
    """Count the store's owners, locking their rows until the transaction ends (PostgreSQL)."""
    return len(list(Membership.objects.select_for_update().filter(store=store, role=Role.OWNER).values_list("id", flat=True)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(store, email: str, role: str, invited_by, request=None) -> tuple[Invitation, str]:
    """Create an invitation and return it with the token for its link, which is not stored.

    A pending invitation of the same address to the same store is revoked, so
    only the newest link works.
    """
    token = secrets.token_urlsafe(32)
    email = email.strip().lower()
    now = timezone.now()

    with transaction.atomic():
        Invitation.objects.filter(
            store=store, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            store=store,
            email=email,
            role=role,
            token_hash=_hash(token),
            invited_by=invited_by,
            expires_at=now + datetime.timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        )
        record_event(
            AuditEvent.Type.INVITATION_SENT,
            store=store,
            actor=invited_by,
            request=request,
            details={"invitation_id": invitation.id, "email": email, "role": role},
        )
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    """Return the invitation this link token belongs to (pending or not), or None."""
    return Invitation.objects.select_related("store", "invited_by").filter(token_hash=_hash(token)).first()


def revoke_invitation(invitation: Invitation, actor, request=None) -> None:
    if invitation.revoked_at is not None or invitation.accepted_at is not None:
        return

    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(
        AuditEvent.Type.INVITATION_REVOKED,
        store=invitation.store,
        actor=actor,
        request=request,
        details={"invitation_id": invitation.id, "email": invitation.email},
    )


def accept_invitation(invitation: Invitation, user, request=None) -> Membership:
    """Make the user a member with the invitation's role and close the invitation.

    A user who is already a member keeps the current role: an invitation never
    lowers or raises an existing membership.
    """
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, store=invitation.store, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        record_event(
            AuditEvent.Type.INVITATION_ACCEPTED,
            store=invitation.store,
            actor=user,
            request=request,
            details={"invitation_id": invitation.id, "role": membership.role, "new_member": created},
        )
    return membership


def change_role(membership: Membership, role: str, actor, request=None) -> None:
    """Give a member another role; raises LastOwner when it would demote the only owner."""
    old_role = membership.role
    if role == old_role:
        return

    with transaction.atomic():
        if old_role == Role.OWNER and _locked_owner_count(membership.store) <= 1:
            raise LastOwner
        membership.role = role
        membership.save(update_fields=["role"])
        record_event(
            AuditEvent.Type.ROLE_CHANGED,
            store=membership.store,
            actor=actor,
            request=request,
            details={"member": membership.user.email, "old_role": old_role, "new_role": role},
        )


def remove_member(membership: Membership, actor, request=None) -> None:
    """Remove a member from the store; their access ends with this transaction."""
    _delete_membership(membership, actor, request, AuditEvent.Type.MEMBER_REMOVED)


def leave_store(membership: Membership, request=None) -> None:
    """Remove the user's own membership; the last owner must transfer ownership first."""
    _delete_membership(membership, membership.user, request, AuditEvent.Type.MEMBER_LEFT)


def _delete_membership(membership, actor, request, event_type) -> None:
    with transaction.atomic():
        if membership.role == Role.OWNER and _locked_owner_count(membership.store) <= 1:
            raise LastOwner
        membership.delete()
        record_event(
            event_type,
            store=membership.store,
            actor=actor,
            request=request,
            details={"member": membership.user.email, "role": membership.role},
        )


def transfer_ownership(current: Membership, new_owner: Membership, new_role: str = Role.ANALYST, request=None) -> None:
    """Make new_owner an owner and give the current owner new_role, in one transaction.

    The store has an owner at every moment, because the new owner is promoted
    before the current one steps down.
    """
    if current.store_id != new_owner.store_id or current.id == new_owner.id:
        raise ValueError("The new owner must be another member of the same store.")

    with transaction.atomic():
        new_owner.role = Role.OWNER
        new_owner.save(update_fields=["role"])
        current.role = new_role
        current.save(update_fields=["role"])
        record_event(
            AuditEvent.Type.OWNERSHIP_TRANSFERRED,
            store=current.store,
            actor=current.user,
            request=request,
            details={"from": current.user.email, "to": new_owner.user.email, "from_new_role": new_role},
        )


def create_api_token(store, name: str, actor, request=None) -> tuple[ApiToken, str]:
    """Create an API token and return it with its secret, which is shown once and never stored."""
    with transaction.atomic():
        record, secret = tokens.create_token(store, name, actor)
        record_event(
            AuditEvent.Type.TOKEN_CREATED,
            store=store,
            actor=actor,
            request=request,
            details={"token_id": record.id, "name": record.name, "hint": record.hint},
        )
    return record, secret


def revoke_api_token(record: ApiToken, actor, request=None) -> None:
    if not record.is_active:
        return

    tokens.revoke_token(record)
    record_event(
        AuditEvent.Type.TOKEN_REVOKED,
        store=record.store,
        actor=actor,
        request=request,
        details={"token_id": record.id, "name": record.name, "hint": record.hint},
    )


def update_store(store: Store, changed_fields: list[str], actor, request=None) -> None:
    """Save the store settings that a form changed and record which ones."""
    if not changed_fields:
        return

    store.save()
    record_event(
        AuditEvent.Type.STORE_UPDATED,
        store=store,
        actor=actor,
        request=request,
        details={"fields": changed_fields},
    )


def delete_store(store: Store, actor, request=None) -> None:
    """Delete a store with its figures, uploads and their files, tokens, invitations and memberships.

    The audit events of the store stay, with store set to null; the deletion
    event names the store by slug and name. Files are removed after the
    transaction commits, so a rollback keeps them.
    """
    from traffic.models import Upload

    paths = [upload.file_path for upload in Upload.objects.filter(store=store).only("stored_name")]
    details = {"store_id": store.id, "slug": store.slug, "name": store.name, "uploads": len(paths)}

    with transaction.atomic():
        store.delete()
        record_event(AuditEvent.Type.STORE_DELETED, actor=actor, request=request, details=details)
        transaction.on_commit(lambda: _remove_files(paths, details["store_id"]))


def _remove_files(paths, store_id) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    logger.info("store files removed store=%s files=%d", store_id, len(paths))
