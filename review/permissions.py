"""Who may decide a review item. Views and the JSON API both call this."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from orchestrator.roles import ADMIN, user_roles
from review.models import ItemKind, ReviewItem


def may_decide(user: Any, item: ReviewItem) -> bool:
    roles = user_roles(user)
    if item.kind == ItemKind.BUDGET:
        return ADMIN in roles
    return item.reviewer_group in roles or ADMIN in roles


def assert_may_decide(user: Any, item: ReviewItem) -> None:
    if not may_decide(user, item):
        raise PermissionDenied(f"only members of the {item.reviewer_group!r} group may decide this item")
