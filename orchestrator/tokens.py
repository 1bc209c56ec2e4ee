"""Per-user API tokens: only a SHA-256 of the token is stored; the token is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from orchestrator.models import ApiToken


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: Any, name: str) -> str:
    token = "gh_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:10], token_hash=_digest(token))
    return token


def api_token_user(token: str) -> Any | None:
    row = ApiToken.objects.select_related("user").filter(token_hash=_digest(token)).first()
    if row is None or not row.user.is_active:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user
