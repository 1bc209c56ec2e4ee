"""Roles and who may open what.

Roles are Django groups created by a data migration. One table, `SECTIONS`, says which roles may
open each top-level section; the navigation and every view's guard read the same table, so a
link is never shown for a page that would answer 403 and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

REVIEWER, ENGINEER, COMPLIANCE, ADMIN = "reviewer", "engineer", "compliance", "admin"
ROLES = (REVIEWER, ENGINEER, COMPLIANCE, ADMIN)

# The roles with an inbox, in ROLES' order: they may decide the items of the groups they are in
# (review.permissions); the inbox section and both decision endpoints are theirs.
INBOX_ROLES = (REVIEWER, ENGINEER, ADMIN)

# Who may start a run: the API's POST /api/runs and the runs list's "Start a run" page read this one rule.
RUN_STARTERS = (ENGINEER, ADMIN)

# section -> (label, url name, roles that may open it)
SECTIONS: dict[str, tuple[str, str, frozenset[str]]] = {
    # Engineers decide the loop-guard items of the "engineer" group: their inbox lists only those.
    "inbox": ("Inbox", "review:inbox", frozenset(INBOX_ROLES)),
    "runs": ("Runs", "audit:runs", frozenset({ENGINEER, ADMIN})),
    "audit": ("Audit", "audit:ledger", frozenset({COMPLIANCE, ADMIN})),
    "costs": ("Costs", "audit:costs", frozenset({ENGINEER, COMPLIANCE, ADMIN})),
    "admin": ("Admin", "admin:index", frozenset({ADMIN})),
    # Every role has an endpoint (compliance reads items); each endpoint checks its own role.
    "api": ("API docs", "api:openapi-view", frozenset(ROLES)),
}


def person_name(user: Any) -> str:
    """Whom people know: the user's full name, else their username."""
    return user.get_full_name() or user.get_username()


def user_groups(user: Any) -> frozenset[str]:
    """Every group the user is in: their roles, and the reviewer groups a workflow's gates may name
    besides them ("legal", "finance"), made in the admin site."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gatehouse_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._gatehouse_groups = cached
    return cached


def user_roles(user: Any) -> frozenset[str]:
    return user_groups(user) & frozenset(ROLES)


def user_has_role(user: Any, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def role_require(user: Any, *roles: str, refusal: str = "") -> None:
    """The API's role check: PermissionDenied (answered 403) naming the roles, or saying `refusal`,
    unless `user` holds one."""
    if not user_has_role(user, *roles):
        raise PermissionDenied(refusal or f"this needs one of the roles: {', '.join(roles)}")


def user_may_open(user: Any, section: str) -> bool:
    # Django's admin site lets in staff only, whatever the groups say: an admin-role user without
    # is_staff would be shown a link to a refusal.
    if section == "admin" and not getattr(user, "is_staff", False):
        return False
    return bool(user_roles(user) & SECTIONS[section][2])


# Sections that are not where a role starts its day although it may open them: an engineer's inbox
# holds only the occasional loop guard (its count badge says when one waits), so engineers start on Runs.
_NOT_A_START_PAGE_FOR = {"inbox": frozenset({ENGINEER})}


def user_start_section(user: Any) -> str | None:
    """The section the home page sends this user to: the first in menu order that is a start page for
    one of their roles (a reviewer who is also an engineer starts on the inbox)."""
    roles = user_roles(user)
    for key, (_label, _url_name, allowed) in SECTIONS.items():
        if roles & (allowed - _NOT_A_START_PAGE_FOR.get(key, frozenset())):
            return key
    return None


def section_required(section: str) -> Callable:
    """View decorator: login first, then 403 unless one of the user's roles may open `section`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
            if not user_may_open(request.user, section):
                raise PermissionDenied(f"Your role may not open {SECTIONS[section][0]}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def role_required(*roles: str) -> Callable:
    """View decorator for actions narrower than a section (e.g. exports: compliance only)."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
            if not user_has_role(request.user, *roles):
                raise PermissionDenied("Your role may not do this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the sections this user may open, in menu order."""
    user = getattr(request, "user", None)
    items = [
        {"key": key, "label": label, "url_name": url_name}
        for key, (label, url_name, _roles) in SECTIONS.items()
        if user is not None and user_may_open(user, key)
    ]
    return {"nav_items": items, "user_roles": sorted(user_roles(user)) if user else []}
