"""Create, check and revoke store API tokens."""

import hashlib
import secrets

from django.utils import timezone

from accounts.models import ApiToken


def hash_token(token: str) -> str:
    # The token has 256 bits of randomness, so a plain SHA-256 is enough; no salt or slow hash needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store, name: str, user=None) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is not stored and cannot be shown again."""
    secret = secrets.token_urlsafe(32)
    token = f"{ApiToken.PREFIX}{secret}"
    record = ApiToken.objects.create(
        store=store, name=name, hint=secret[:8], token_hash=hash_token(token), created_by=user
    )
    return record, token


def revoke_token(record: ApiToken) -> None:
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])


def token_from_request(request) -> ApiToken | None:
    """Return the active token in an `Authorization: Bearer` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None

    record = (
        ApiToken.objects.select_related("store")
        .filter(token_hash=hash_token(value.strip()), revoked_at__isnull=True)
        .first()
    )
    if record is not None:
        ApiToken.objects.filter(id=record.id).update(last_used_at=timezone.now())
    return record
