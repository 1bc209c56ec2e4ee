"""Inbox pages: the list of pending items, one item, and the POSTs that claim and decide.

Pages work without htmx; htmx only polls the list rows, the nav badge and the item's status.
GET never changes anything (mail scanners pre-fetch notification links).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from orchestrator.budgets import money
from orchestrator.cost_admin import budget_item_short
from orchestrator.http import Request, row_id
from orchestrator.models import Run, RunStatus
from orchestrator.roles import section_required, user_may_open
from review.bulk import BULK_CAP, items_decide_bulk
from review.claims import item_claim, item_release
from review.edit_form import edit_fields, parse_edits
from review.models import Decision, ItemKind, ItemStatus, ReviewItem
from review.permissions import (
    ItemHidden,
    assert_may_decide,
    assert_may_read,
    assert_may_read_item,
    item_moved_away,
    may_read_item,
    no_such_item,
)
from review.selectors import (
    RISKS,
    SCOPES,
    FilterError,
    InboxFilters,
    inbox_count,
    inbox_page,
    inbox_workflows,
    item_live,
    item_view,
    workflow_schema,
)
from review.services import (
    AlreadyDecided,
    DecisionError,
    DecisionForbidden,
    DecisionInput,
    item_request,
    review_decide,
)


def _load_item(request: Request, pk: int) -> ReviewItem:
    """The item, or 404; 403 unless the user may read review items at all."""
    assert_may_read(request.user)
    try:
        return ReviewItem.objects.select_related("run", "claimed_by", "decided_by").get(pk=pk)
    except ReviewItem.DoesNotExist:
        raise _not_found(pk) from None


def _get_item(request: Request, pk: int, *, deciding: bool = False) -> ReviewItem:
    """The item; 404 if there is none, or none this user may read (alike: ids are not to be probed); 403
    if it was escalated away from their group, or they may not decide it, when deciding."""
    item = _load_item(request, pk)
    try:
        assert_may_read_item(request.user, item)
    except ItemHidden:
        raise _not_found(pk) from None
    if deciding:
        assert_may_decide(request.user, item)
    return item


@section_required("inbox")
@require_GET
def inbox(request: Request) -> HttpResponse:
    page = _inbox_page(request)
    if request.htmx and request.htmx.target == "inbox-rows":
        # The nav badge refreshes on this event (base.html), so the count and the list never disagree
        # for the badge's own 20 s period.
        return trigger_client_event(render(request, "review/_inbox_rows.html", page), "inbox-refreshed")
    return render(request, "review/inbox.html", page, status=400 if page["error"] else 200)


def _inbox_page(request: Request, **context: object) -> dict:
    """The inbox's context for the filters in the query string (the bulk form posts to a URL that
    carries them too, so a refused bulk decision shows the same list)."""
    try:
        filters = InboxFilters.from_query(request.GET)
        error = ""
    except FilterError as exc:
        filters, error = InboxFilters(), str(exc)
    page = inbox_page(user=request.user, filters=filters)
    return {"page": page, "error": error, "workflows": inbox_workflows(), "scopes": SCOPES, "risks": RISKS,
            "bulk_cap": BULK_CAP, "selected": set(), "bulk": {}, **context}


@login_required
@require_GET
def inbox_badge(request: Request) -> HttpResponse:
    """The nav count (polled by base.html). Empty for people without the inbox section."""
    if not user_may_open(request.user, "inbox"):
        return HttpResponse("")
    count = inbox_count(user=request.user)
    return HttpResponse("" if count == 0 else ("999+" if count > 999 else str(count)))


@login_required
@require_GET
def item_detail(request: Request, pk: int) -> HttpResponse:
    item = _get_item(request, pk)
    return _render_item(request, item)


@login_required
@require_GET
def item_status(request: Request, pk: int) -> HttpResponse:
    """htmx poll from the item page: the status banner (claimed by / decided by). When the item moved
    on since the page showed it (`seen`), the decision panels come along, swapped out-of-band, so no
    Approve button stays active on an item someone else decided."""
    item = _load_item(request, pk)
    if not may_read_item(request.user, item):
        if not item_moved_away(request.user, item):
            raise _not_found(pk)
        # Escalated away from the viewer's groups while their page was open: say so instead of a
        # 403 that htmx would not swap in, which would leave the page's buttons active.
        return render(request, "review/_item_moved.html", {"group": item.reviewer_group})
    live = item_live(item=item, user=request.user)
    if request.GET.get("seen", live.live_key) == live.live_key:
        # Nothing the panels show has moved: the banner alone, without the item's states and decisions.
        return render(request, "review/_item_status.html", {"live": live, "item": item})
    return render(request, "review/_item_status.html", {**_item_context(request, item), "oob": True})


def _item_context(request: Request, item: ReviewItem, *, error: str = "",
                  field_errors: dict[str, str] | None = None, submitted: dict | None = None,
                  posted: dict | None = None) -> dict:
    view = item_view(item=item, user=request.user)
    schema = workflow_schema(item)
    fields = edit_fields(schema, view.args, submitted=submitted, errors=field_errors) if schema else []
    return {"view": view, "live": view.live, "item": item, "fields": fields, "error": error, "field_errors": field_errors or {},
            "posted": posted or {}, "fields_changed": any(f.changed for f in fields)}


def _render_item(request: Request, item: ReviewItem, *, status: int = 200, **context) -> HttpResponse:
    return render(request, "review/item.html", _item_context(request, item, **context), status=status)


@login_required
@require_POST
def item_claim_view(request: Request, pk: int) -> HttpResponse:
    item = _get_item(request, pk, deciding=True)
    try:
        item_claim(item=item, actor=request.user, takeover=request.POST.get("takeover") == "1")
    except DecisionForbidden as exc:
        # Escalated away as this was sent: the item is no longer this person's to open; their inbox is.
        messages.error(request, _sentence(str(exc)))
        return redirect("review:inbox")
    except DecisionError as exc:
        messages.error(request, _sentence(str(exc)))
    return redirect("review:item", pk=pk)


@login_required
@require_POST
def item_release_view(request: Request, pk: int) -> HttpResponse:
    item = _get_item(request, pk, deciding=True)
    try:
        item_release(item=item, actor=request.user)
        messages.info(request, "You released the item; others may claim it now.")
    except DecisionError as exc:
        messages.error(request, _sentence(str(exc)))
    return redirect("review:item", pk=pk)


@login_required
@require_POST
def item_decide(request: Request, pk: int) -> HttpResponse:
    """Every decision button submits the one decide form (review/item.html), so the reason, the
    response and the edited arguments come with each of them: a refused decision shows all of it
    back (review_decide records only what the chosen decision uses)."""
    item = _get_item(request, pk, deciding=True)
    kind = request.POST.get("decision", "")
    typed, parse_errors, changed = None, {}, []
    if (schema := workflow_schema(item)) is not None:
        args = item_request(item).get("args", {})  # what the page's edit card shows (ItemView.args)
        typed, parse_errors = parse_edits(schema, args, request.POST)
        changed = [row.label for row in edit_fields(schema, args, submitted=typed) if row.changed]
    posted = {"decision": kind, "reason": request.POST.get("reason", ""), "response": request.POST.get("response", "")}
    if kind == Decision.EDIT and parse_errors:
        return _render_item(request, item, status=422, error="Some fields need fixing before you approve.",
                            field_errors=parse_errors, submitted=typed, posted=posted)
    if kind == Decision.APPROVE and changed:
        # A plain approval carries out the proposal as it was: edits typed into the card would be
        # dropped without a word, and the reviewer would believe they had been applied.
        return _render_item(request, item, status=422, submitted=typed, posted=posted, field_errors=parse_errors, error=(
            f"You changed {', '.join(changed)}: press “Approve with these edits” to carry out the action with "
            "them, or put the proposed values back to approve it as proposed. Nothing was decided."))
    try:
        item = review_decide(item=item, actor=request.user, decision=DecisionInput(
            decision=kind, reason=posted["reason"], edits=typed, response=posted["response"]))
    except AlreadyDecided as exc:
        item.refresh_from_db()
        return _render_item(request, item, status=409, error=str(exc), submitted=typed, posted=posted)
    except DecisionForbidden as exc:
        # The item moved to another group while this was sent: the page is no longer this person's to read.
        raise PermissionDenied(str(exc)) from None
    except DecisionError as exc:
        return _render_item(request, item, status=422, error=_sentence(str(exc)), field_errors=exc.field_errors,
                            submitted=typed, posted=posted)
    level, text = _done_message(item)
    messages.add_message(request, level, text)
    return redirect(reverse("review:inbox"))


@section_required("inbox")
@require_POST
def inbox_bulk(request: Request) -> HttpResponse:
    # An id no item can have ("²", 5,000 digits) is read as no id, as other text there is.
    ids = [pk for text in request.POST.getlist("ids") if (pk := row_id(text)) is not None]
    decision, reason = request.POST.get("decision", ""), request.POST.get("reason", "")
    try:
        result = items_decide_bulk(item_ids=ids, actor=request.user, decision=decision, reason=reason)
    except DecisionError as exc:
        # Nothing was decided: the same list comes back with the same items ticked and the reason as
        # typed, so fixing the one thing wrong does not mean selecting everything again.
        return render(request, "review/inbox.html", _inbox_page(
            request, selected=set(ids), bulk={"reason": reason, "error": _sentence(str(exc)),
                                              "field_errors": exc.field_errors}), status=422)
    verb = "approved" if decision == Decision.APPROVE else "rejected"
    if result.decided:
        messages.success(request, f"{len(result.decided)} item{'s' if len(result.decided) != 1 else ''} {verb}: "
                                  + ", ".join(f"#{i.pk}" for i in result.decided) + ".")
    for pk, why in result.skipped:
        messages.warning(request, f"Skipped #{pk}: {why}")
    return redirect(reverse("review:inbox") + (f"?{request.GET.urlencode()}" if request.GET else ""))


# What the run does after a decision, by its status read right after it.
_RUN_AFTER = {
    RunStatus.QUEUED: "The run continues.",
    RunStatus.RUNNING: "The run continues.",
    RunStatus.SUSPENDED: "The run has stopped again and waits for another decision.",
    RunStatus.COMPLETED: "The run has finished.",
    RunStatus.REJECTED: "The run ended as rejected.",
    RunStatus.CANCELLED: "The run was cancelled.",
    RunStatus.FAILED: "The run failed: an engineer can see why on its timeline.",
}


def _done_message(item: ReviewItem) -> tuple[int, str]:
    """The confirmation, worded from what happened rather than what usually does: a rejection may
    end the run or send it back to a step, and approving a budget stop without a higher cap only
    stops the run again at the same call."""
    if item.status == ItemStatus.PENDING:
        return messages.SUCCESS, (f"Your approval of #{item.pk} is recorded ({item.progress}); "
                                  "it needs another approver before the run continues.")
    verb = {"approve": "Approved", "edit": "Edited and approved", "reject": "Rejected",
            "respond": "Sent your response on"}[item.decision]
    done = f"{verb} #{item.pk} ({item.action or item.node} · {item.run.thread_id})."
    if item.kind == ItemKind.BUDGET and item.decision == Decision.APPROVE and (short := budget_item_short(item)):
        budget, needed = short
        return messages.WARNING, format_html(
            "{} The cap of “{}” is still {}, below the {} its next call needs, so the run will stop again at "
            "the same call: <a href=\"{}\">raise the cap or end the run</a> (the new stop is listed there).",
            done, budget.name, money(budget.cap), money(needed), reverse("audit:budgets"))
    status = Run.objects.values_list("status", flat=True).get(pk=item.run_id)
    return messages.SUCCESS, f"{done} {_RUN_AFTER.get(status, f'The run is {status}.')}"


def _not_found(pk: int) -> Http404:
    """The 404 of an item id that is not there, or not there for this user: the same words for both."""
    return Http404(_sentence(no_such_item(pk)) + ".")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
