"""Per-user API tokens: only a SHA-256 of the token is stored; the token is shown once.

A token expires after GATEHOUSE_API_TOKEN_DAYS (90 by default; 0 for never) unless created with
another lifetime, and can be revoked; either way it stops authenticating at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from orchestrator.models import ApiToken

PREFIX_LENGTH = 10  # what --list shows of a token, and what names it for revocation


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: Any, name: str, days: int | None = None) -> str:
    """A new token for `user`, valid for `days` (default GATEHOUSE_API_TOKEN_DAYS; 0: no expiry)."""
    days = settings.GATEHOUSE_API_TOKEN_DAYS if days is None else days
    token = "gh_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:PREFIX_LENGTH], token_hash=_digest(token),
                            expires_at=timezone.now() + timedelta(days=days) if days else None)
    return token


def _usable(now: Any) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def api_token_user(token: str) -> Any | None:
    now = timezone.now()
    row = ApiToken.objects.select_related("user").filter(_usable(now), token_hash=_digest(token)).first()
    if row is None or not row.user.is_active:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def api_tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def api_token_revoke(*, user: Any, prefix: str | None = None) -> int:
    """Revoke the user's usable token with this prefix (its first 10 characters; a whole token
    works too), or all of them when `prefix` is None; the count."""
    tokens = ApiToken.objects.filter(_usable(timezone.now()), user=user)
    if prefix is not None:
        tokens = tokens.filter(prefix=prefix[:PREFIX_LENGTH])
    return tokens.update(revoked_at=timezone.now())
