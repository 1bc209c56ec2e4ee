"""Who may read and who may decide a review item. Views and the JSON API both call this.

The matrix (tests/review/test_permissions_matrix.py proves each cell):

    action                  reviewer   engineer   compliance   admin   no role
    open the inbox / list      yes       yes*         -         yes       -
    read an item             its group   yes         yes        yes       -
                             or decided it
                             (else 404, as an id no item has: ItemHidden)
    claim / decide / bulk    if in the item's reviewer group     yes       -
                             (budget items: admins only)

The item's reviewer group is a role ("reviewer") or a group of the workflow's own ("legal"): a member of
such a group decides its items if a role gives them an inbox (reviewer, engineer).

An engineer decides loop-guard items (their reviewer group is "engineer"), so engineers have an
inbox too: *it lists only their groups' items, like everyone's (selectors.visible_pending), and bulk
decisions skip the items they may not decide. Compliance reads only: every item (what was proposed
and approved is what it audits). A reviewer reads the items of their groups and those they decided,
not other groups' (a budget stop's item shows the step's state changes); engineers and admins may
open the runs themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from orchestrator.roles import ADMIN, COMPLIANCE, ENGINEER, INBOX_ROLES, ROLES, user_groups, user_roles
from review.models import ItemKind, ReviewItem


def may_read(user: Any) -> bool:
    """May this user read review items at all (the inbox section, the item API)?"""
    return bool(user_roles(user) & set(ROLES))


def may_read_item(user: Any, item: ReviewItem) -> bool:
    roles = user_roles(user)
    if roles & {ADMIN, ENGINEER, COMPLIANCE} or may_decide(user, item):
        return True
    return bool(roles) and item.decisions.filter(actor=user).exists()


def deciding_group(item: ReviewItem) -> str | None:
    """The group whose members may decide `item` besides the admins, who may decide every item; None when
    only admins may: a budget stop, an item for the admin group, and one naming compliance, which only
    reads (items made before gates were refused that group may name it)."""
    if item.kind == ItemKind.BUDGET or item.reviewer_group in (ADMIN, COMPLIANCE):
        return None
    return item.reviewer_group


def may_decide(user: Any, item: ReviewItem) -> bool:
    """Admins decide every item; others the items of a group they are in, if a role gives them an inbox
    (a member of "legal" with no role could not open the item, so is not taken to be able to decide it)."""
    roles = user_roles(user)
    group = deciding_group(item)
    return ADMIN in roles or (group is not None and group in user_groups(user) and not roles.isdisjoint(INBOX_ROLES))


def _with_an_inbox() -> QuerySet:
    """Active users whose role gives them an inbox: may_decide's rule for a group's members, as a query."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=INBOX_ROLES)


def groups_without_deciders(groups: Iterable[str]) -> set[str]:
    """Those of `groups` nobody but the admins may decide for: no active member with an inbox role, as
    for a reviewer group misspelt in a workflow ("reviwer"), or made in the admin and left empty."""
    groups = set(groups)
    staffed = Group.objects.filter(name__in=groups, user__in=_with_an_inbox())
    return groups - set(staffed.values_list("name", flat=True))


def group_deciders(group: str) -> QuerySet:
    """The active users who may decide an item of `group` besides the admins (may_decide, for a query):
    whom its notifications go to and whom the item page names. Empty for a misspelt group."""
    return get_user_model().objects.filter(pk__in=_with_an_inbox(), groups__name=group)


def assert_may_read(user: Any) -> None:
    if not may_read(user):
        raise PermissionDenied("your account has no role that may read review items; ask an admin for one.")


class ItemHidden(Exception):  # noqa: N818 - a refusal every surface answers as "no such item"
    """An item this user may not read: every surface answers it exactly as an id no item has (404, the
    same words), or walking the ids would tell a reviewer which items other groups have."""


def no_such_item(pk: int) -> str:
    """What the pages and the API say for an item id that is not there, or not there for this user."""
    return f"there is no review item {pk}"


def item_moved_away(user: Any, item: ReviewItem) -> bool:
    """Was `item` escalated away from one of the user's groups? They had it in their queue, so they are told
    where it went rather than that it is not there."""
    return bool(item.escalated_from) and item.escalated_from in user_groups(user)


def assert_may_read_item(user: Any, item: ReviewItem) -> None:
    """PermissionDenied if the user may read no items at all (whatever the id), or the item was escalated away
    from their group (saying where it went); ItemHidden for any other item they may not read."""
    assert_may_read(user)
    if not may_read_item(user, item):
        if item_moved_away(user, item):
            raise PermissionDenied(decide_refusal(user, item))
        raise ItemHidden(no_such_item(item.pk))


def who_decides(item: ReviewItem) -> str:
    """Who may decide `item`, in the words every refusal and the item page use: "members of the
    'reviewer' group and admins", or "admins" (deciding_group)."""
    group = deciding_group(item)
    return "admins" if group is None else f"members of the {group!r} group and admins"


def decide_refusal(user: Any, item: ReviewItem) -> str:
    """Why `user` may not decide `item`: one sentence for the CLI (`runs resume`), the API, the pages and
    the items a bulk decision skips; and, when the item was escalated away from one of their groups (as
    they claimed or decided it, or since they listed it), where it went."""
    refusal = f"{user.get_username()} may not decide this item: only {who_decides(item)} may."
    if item.escalated_at is not None and item.escalated_from in user_groups(user):
        refusal += (f" It was escalated to the {item.reviewer_group!r} group at "
                    f"{item.escalated_at:%Y-%m-%d %H:%M:%S} UTC; it is no longer in your queue.")
    return refusal


def assert_may_decide(user: Any, item: ReviewItem) -> None:
    if not may_decide(user, item):
        raise PermissionDenied(decide_refusal(user, item))
