"""/api/items: the inbox for chat bots and webhooks — list, read, claim, decide, bulk — with the pages' checks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from orchestrator.api_auth import for_roles
from orchestrator.api_refusals import Detail, limit_param, refused_fields
from orchestrator.api_runs import DECIDERS, DecisionIn, RequestBody, decision_input, decision_refused
from orchestrator.budgets import amount_text
from orchestrator.roles import INBOX_ROLES, ROLES
from review.bulk import items_decide_bulk
from review.claims import item_claim
from review.models import ReviewItem
from review.permissions import ItemHidden, assert_may_decide, assert_may_read_item, no_such_item
from review.selectors import (
    PAGE_SIZE,
    FilterError,
    ForkEdits,
    ForkNote,
    InboxFilters,
    fork_note,
    inbox_page,
    item_view,
)
from review.services import DecisionError, review_decide

router = Router(tags=["review items"])

# Who may call each endpoint, checked before the request is read (orchestrator.api_auth): every role
# reads the items it may (compliance reads them all); those with an inbox list, claim and decide them,
# as on /api/runs/{id}/decision.
_READERS = for_roles(*ROLES, refusal="your account has no role that may read review items; ask an admin for one.")
_INBOX = for_roles(*INBOX_ROLES, refusal="only reviewers, engineers and admins have an inbox")


class ClaimIn(RequestBody):
    takeover: bool = False


class BulkIn(RequestBody):
    ids: list[int]
    decision: str
    reason: str = ""


def _item(request: HttpRequest, pk: int, *, deciding: bool = False) -> ReviewItem:
    try:
        item = ReviewItem.objects.select_related("run", "claimed_by", "decided_by").get(pk=pk)
        assert_may_read_item(request.user, item)
        if deciding:
            assert_may_decide(request.user, item)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except (ReviewItem.DoesNotExist, ItemHidden):  # alike: ids of other groups' items are not to be probed
        raise HttpError(404, no_such_item(pk)) from None
    return item


def item_json(item: ReviewItem, fork: ForkNote | None) -> dict[str, Any]:
    """An item as the API gives it; `fork` is its run's fork note (review.selectors.fork_note): a bot
    must know that approving a dry-run fork performs nothing real. `null` for an ordinary run."""
    return {
        "id": item.pk, "thread_id": item.run.thread_id, "workflow": item.workflow, "node": item.node,
        "kind": item.kind, "status": item.status, "action": item.action, "summary": item.summary, "risk": item.risk,
        "reviewer_group": item.reviewer_group, "approvals": item.approvals,
        "required_approvals": item.required_approvals, "progress": item.progress,
        "created_at": item.created_at.isoformat(), "due_at": item.due_at.isoformat() if item.due_at else None,
        "claimed_by": item.claimed_by.username if item.claimed_by_id else None,
        "decided_by": item.decided_by.username if item.decided_by_id else None,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decision": item.decision or None, "escalated_from": item.escalated_from or None,
        "fork": fork.to_json() if fork else None,
    }


def _fork_edits_json(edits: ForkEdits | None) -> dict[str, Any] | None:
    if edits is None:
        return None
    return {"by": edits.by_username or None, "erased": edits.erased,
            "changes": [asdict(c) for c in edits.changes]}


ITEMS_PAGE_MOST = 200  # items one answer holds at most, as many as one bulk decision takes
ItemsLimit = limit_param(most=ITEMS_PAGE_MOST, default=PAGE_SIZE)
_LIMIT = Query(PAGE_SIZE, description="How many items to answer at most, 1 to 200 (25, the inbox page's, when left "
                                      "out); `next` reads the following page with any limit.")


@router.get("", response=dict, auth=_INBOX)
def items_list(request: HttpRequest, workflow: str = "", scope: str = "", risk: str = "", q: str = "",
               after: str = "", limit: ItemsLimit = _LIMIT):
    try:
        filters = InboxFilters.from_query({"workflow": workflow, "scope": scope, "risk": risk, "q": q,
                                           "after": after})
    except FilterError as exc:
        raise refused_fields({f"?{name}": problem for name, problem in exc.fields.items()}) from None
    page = inbox_page(user=request.user, filters=filters, size=limit)
    return {"items": [item_json(row.item, row.fork) for row in page.rows], "next": page.next_cursor or None}


@router.get("/{int:pk}", response=dict, auth=_READERS)
def items_show(request: HttpRequest, pk: int):
    item = _item(request, pk)
    view = item_view(item=item, user=request.user)
    return {**item_json(item, view.fork), "request": {k: v for k, v in view.request.items() if not k.startswith("_")},
            "changes": [asdict(c) for c in view.changes],
            "fork_edits": _fork_edits_json(view.fork_edits),
            "spend": {**view.spend, "cost": amount_text(view.spend["cost"])}, "may_decide": view.may_decide,
            "decisions": [{"actor": d.actor.username, "decision": d.decision, "reason": d.reason, "edits": d.edits,
                           "at": d.created_at.isoformat()} for d in view.decisions]}


@router.post("/{int:pk}/claim", response={200: dict, 409: Detail}, auth=DECIDERS)
def items_claim(request: HttpRequest, pk: int, body: ClaimIn):
    item = _item(request, pk, deciding=True)
    try:
        claimed = item_claim(item=item, actor=request.user, takeover=body.takeover)
        return item_json(claimed, fork_note(claimed.run))
    except DecisionError as exc:
        raise decision_refused(exc) from None


@router.post("/{int:pk}/decision", response={200: dict, 409: Detail}, auth=DECIDERS)
def items_decide(request: HttpRequest, pk: int, body: DecisionIn):
    item = _item(request, pk, deciding=True)
    try:
        item = review_decide(item=item, actor=request.user, decision=decision_input(body))
    except DecisionError as exc:
        raise decision_refused(exc) from None
    return item_json(item, fork_note(item.run))


@router.post("/bulk", response={200: dict, 409: Detail}, auth=DECIDERS)
def items_bulk(request: HttpRequest, body: BulkIn):
    decided = decision_input(body)  # a reason sent with a bulk approval is refused, not dropped
    try:
        result = items_decide_bulk(item_ids=body.ids, actor=request.user, decision=decided.decision,
                                   reason=decided.reason)
    except DecisionError as exc:
        raise decision_refused(exc) from None
    return {"decided": [i.pk for i in result.decided],
            "skipped": [{"id": pk, "why": why} for pk, why in result.skipped]}
