"""Reads about review items: the inbox page, the nav badge, the item page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from audit.models import LedgerEntry
from orchestrator.cost_admin import budget_item_short
from orchestrator.hidden_text import hidden_in, hidden_summary
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.registry import workflow_get, workflows
from orchestrator.roles import ADMIN, person_name, user_groups, user_may_open, user_roles
from orchestrator.selectors import pending_gate_summary
from orchestrator.services import RunError, run_get
from orchestrator.state import loads
from orchestrator.text_search import text_contains
from orchestrator.value_errors import has_nul
from review.claims import claim_expires_at, claim_is_live, claim_lapse
from review.markdown import markdown_hidden, render_inline, render_markdown
from review.models import ItemKind, ItemStatus, ReviewDecision, ReviewItem
from review.permissions import (
    deciding_group,
    group_deciders,
    groups_without_deciders,
    may_decide,
    may_read_item,
    who_decides,
)
from review.templatetags.review_tags import as_text

PAGE_SIZE = 25
SCOPES = {"": "All", "mine": "Claimed by me", "unassigned": "Unassigned", "overdue": "Overdue"}
RISKS = ("low", "medium", "high", "critical")


def run_for_reviewer(user: Any, thread_id: str) -> tuple[Run, list[ReviewItem]]:
    """A run (by thread id or database id, as for engineers) with the items of it `user` may read, newest
    first. A run without one is answered exactly as a run that does not exist, so no one enumerates runs,
    or learns which exist, through the reviewer's view of the API."""
    try:
        run = run_get(thread_id)
    except RunError:
        run = None
    items = list(ReviewItem.objects.filter(run=run).order_by("-step")) if run else []
    readable = [item for item in items if may_read_item(user, item)]
    if run is None or not readable:
        raise RunError(f"no run with thread id {thread_id!r} that has a review item you may read.")
    return run, readable


def run_summary_for_reviewer(user: Any, run: Run, readable: list[ReviewItem]) -> dict[str, Any]:
    """What GET /api/runs/{id} tells a reviewer of a run (run_for_reviewer): where it stands (status, step,
    its pending gate if it is theirs to read), not its data (labels may name a customer, an error may quote
    the state) nor its cost or lineage."""
    pending = next((item for item in readable if item.status == ItemStatus.PENDING), None)
    return {
        "thread_id": run.thread_id, "workflow": run.workflow, "status": run.status,
        "suspended_reason": run.suspended_reason, "step": run.step,
        "pending_gate": pending_gate_summary(pending),
        "error": "failed (details for engineers)" if run.status == "failed" else None,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def pending_item_for_run(run: Run, user: Any = None) -> ReviewItem:
    """The run's pending item, or RunError saying why there is none: who decided its last gate and when,
    to a `user` who may read that item (None: the CLI's operator, who may read everything)."""
    item = ReviewItem.objects.filter(run=run, status=ItemStatus.PENDING).order_by("-step").first()
    if item is None:
        latest = ReviewItem.objects.filter(run=run).select_related("decided_by").order_by("-step").first()
        if latest is not None and latest.decided_by_id and (user is None or may_read_item(user, latest)):
            raise RunError(
                f"run {run.thread_id} has no pending gate: its last gate was already decided "
                f"({latest.decision}) by {person_name(latest.decided_by)} at {latest.decided_at:%Y-%m-%d %H:%M:%S} UTC."
            )
        raise RunError(f"run {run.thread_id} is {run.status} and has no pending gate to decide.")
    return item


# --- the inbox ----------------------------------------------------------------------------------
class FilterError(ValueError):
    """A filter value the inbox does not understand; the message says what is accepted. `fields` maps each
    filter at fault to what is wrong with it (the API names them as query parameters)."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


SEARCH_MAX = 200  # characters of the inbox's search text


@dataclass(frozen=True)
class InboxFilters:
    workflow: str = ""
    scope: str = ""
    risk: str = ""
    q: str = ""
    after: str = ""

    @classmethod
    def from_query(cls, data: Any) -> InboxFilters:
        scope, risk = data.get("scope", ""), data.get("risk", "")
        if scope not in SCOPES:
            choices = ", ".join(s for s in SCOPES if s)
            raise FilterError(f"scope must be one of: {choices} (or empty).",
                              {"scope": f"must be one of: {choices} (or empty)"})
        if risk and risk not in RISKS:
            raise FilterError(f"risk must be one of: {', '.join(RISKS)}.", {"risk": f"must be one of: {', '.join(RISKS)}"})
        after = data.get("after", "")
        if after:
            _parse_cursor(after)
        workflow, q = data.get("workflow", "").strip(), data.get("q", "").strip()
        if len(q) > SEARCH_MAX:
            # Cut short, it searched for other text than was typed (and found more than was asked for).
            raise FilterError(f"the search text is {len(q):,} characters; search for at most {SEARCH_MAX}.",
                              {"q": f"must have at most {SEARCH_MAX} characters (it has {len(q):,})"})
        nul = {name: "may not contain the NUL character (%00)" for name, text in (("workflow", workflow), ("q", q))
               if has_nul(text)}
        if nul:  # PostgreSQL refuses a NUL in a query (a 500); no item holds one
            raise FilterError("the search text and the workflow may not contain the NUL character (%00).", nul)
        return cls(workflow=workflow, scope=scope, risk=risk, q=q, after=after)

    @property
    def active(self) -> bool:
        return bool(self.workflow or self.scope or self.risk or self.q)

    def query(self, **change: str) -> dict[str, str]:
        values = {"workflow": self.workflow, "scope": self.scope, "risk": self.risk, "q": self.q, **change}
        return {k: v for k, v in values.items() if v}


def _cursor(item: ReviewItem) -> str:
    # In UTC with a "Z": an offset's "+" read back from a query string a client did not encode is a space.
    return f"{item.created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z_{item.pk}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, pk = cursor.rsplit("_", 1)
        return datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        raise FilterError("the page link is damaged: go back to the first page of the inbox.", {
            "after": 'is not a "next" this list gave; send one as it was given, or leave it out for the first page'
        }) from None


def visible_pending(user: Any) -> QuerySet[ReviewItem]:
    """Pending items this person could decide: their groups' items (admins: everything)."""
    qs = ReviewItem.objects.filter(status=ItemStatus.PENDING)
    if ADMIN in user_roles(user):
        return qs
    # may_decide, as a query (the inbox is open only to roles that have one).
    return qs.filter(reviewer_group__in=sorted(user_groups(user))).exclude(kind=ItemKind.BUDGET)


@dataclass(frozen=True)
class ForkNote:
    """An item's run is a fork: an engineer's experiment started from another run's checkpoint. Its
    reviewer is told so (inbox row, item page), and whether approving it would act for real."""

    parent: str  # the thread id of the run it was forked from
    step: int | None
    mode: str  # "recorded" | "live"
    effects_real: bool

    @property
    def details(self) -> str:
        return f"{self.mode} replay · side effects {'performed for real' if self.effects_real else 'dry-run'}"

    @property
    def consequence(self) -> str:
        """What approving the item does, said after the note (page, e-mail, API)."""
        if self.effects_real:
            return "an admin let this fork act: approving performs the action for real."
        return "an experiment: approving performs nothing real."

    def to_json(self) -> dict[str, Any]:
        """The fork facts of an item for the API and the webhook, named as GET /api/runs/{id} names them."""
        return {"parent": self.parent, "forked_from_step": self.step, "replay_mode": self.mode,
                "allow_effects": self.effects_real, "note": f"{self} — {self.consequence}"}

    def __str__(self) -> str:
        return f"Fork of {self.parent} at step {self.step} · {self.details}"


def fork_notes(runs: Iterable[Run]) -> dict[int, ForkNote]:
    """The fork note of each of `runs` that is a fork, by run id: one query for the parents' thread ids,
    none when no run is a fork."""
    forks = [run for run in runs if run.parent_id]
    if not forks:
        return {}
    parents = dict(Run.objects.filter(pk__in={run.parent_id for run in forks}).values_list("pk", "thread_id"))
    return {run.pk: ForkNote(parent=parents[run.parent_id], step=run.forked_from_step, mode=run.replay_mode,
                             effects_real=run.allow_effects) for run in forks}


def fork_note(run: Run) -> ForkNote | None:
    """The fork note of one run (None, without a query, for a run that is not a fork)."""
    return fork_notes([run]).get(run.pk)


@dataclass
class InboxRow:
    item: ReviewItem
    summary_html: str
    args_preview: str
    overdue: bool
    claim_live: bool
    mine: bool
    fork: ForkNote | None = None
    unstaffed: str = ""  # its reviewer group, when nobody but the admins may decide for it


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str
    filters: InboxFilters
    now: datetime = field(default_factory=timezone.now)


def inbox_page(*, user: Any, filters: InboxFilters, size: int = PAGE_SIZE) -> InboxPage:
    now = timezone.now()
    qs = visible_pending(user)
    if filters.workflow:
        qs = qs.filter(workflow=filters.workflow)
    if filters.risk:
        qs = qs.filter(risk=filters.risk)
    if filters.scope == "mine":
        qs = qs.filter(claimed_by=user)
    elif filters.scope == "unassigned":
        qs = qs.filter(Q(claimed_by__isnull=True) | Q(claimed_at__lt=now - claim_lapse()))
    elif filters.scope == "overdue":
        qs = qs.filter(due_at__lt=now)
    if filters.q:
        # A thread id (exact, unique index) or text anywhere in the gate's request (trigram index).
        # The thread id is resolved first, so the filter is a plain `run_id = … OR request ILIKE …`
        # whose selectivity Postgres estimates from the trigram statistics: a rare text is read from
        # the trigram index, a common one along the recency index until the page is full. (A
        # subquery for the thread id hid that estimate: a UNION of ids materialised every match,
        # 1.1 s for a text in all 100k items; an OR with the subquery scanned the recency index for
        # a rare text, 0.8 s. See bench/inbox_100k.py.)
        text = text_contains("review_reviewitem.request", filters.q)
        run_id = Run.objects.filter(thread_id=filters.q).values_list("id", flat=True).first()
        qs = qs.filter(text | Q(run_id=run_id) if run_id is not None else text)
    if filters.after:
        stamp, pk = _parse_cursor(filters.after)
        qs = qs.filter(RawSQL("(review_reviewitem.created_at, review_reviewitem.id) < (%s, %s)", (stamp, pk),
                              output_field=BooleanField()))
    items = list(qs.select_related("run", "claimed_by").order_by("-created_at", "-id")[: size + 1])
    more = len(items) > size
    items = items[:size]
    forks = fork_notes(item.run for item in items)
    # Only admins are shown items nobody else may decide (everyone else sees their own groups' items).
    unstaffed = groups_without_deciders({g for i in items if (g := deciding_group(i))}) if (
        ADMIN in user_roles(user)) else set()
    rows = [
        InboxRow(
            item=item, summary_html=render_inline(item.summary or item.action), args_preview=_args_preview(item),
            overdue=bool(item.due_at and item.due_at < now), claim_live=claim_is_live(item, now=now),
            mine=item.claimed_by_id == user.pk, fork=forks.get(item.run_id),
            unstaffed=item.reviewer_group if item.reviewer_group in unstaffed else "",
        )
        for item in items
    ]
    return InboxPage(rows=rows, next_cursor=_cursor(items[-1]) if more else "", filters=filters, now=now)


def _args_preview(item: ReviewItem, limit: int = 140) -> str:
    args = (loads(item.request) or {}).get("args", {})
    parts = []
    for key, value in args.items():
        text = value if isinstance(value, str) else str(value)
        parts.append(f"{key}: {' '.join(text.split())[:60]}")
    preview = " · ".join(parts)
    return preview if len(preview) <= limit else preview[: limit - 1] + "…"


def inbox_count(*, user: Any, cap: int = 999) -> int:
    """How many pending items this person could decide, counted no further than `cap` (the badge says 999+)."""
    return visible_pending(user)[: cap + 1].count()


def inbox_workflows() -> list[str]:
    return sorted(workflows())


# --- one item -------------------------------------------------------------------------------------
@dataclass
class StateChange:
    field: str
    before: Any
    after: Any
    kind: str  # added | changed | removed


@dataclass(frozen=True)
class ItemLive:
    """What the status banner shows and the page's status poll compares: cheap, read every 5 s."""

    item: ReviewItem
    overdue: bool
    claim_live: bool
    claim_until: datetime | None
    claim_live_other: bool
    # What the decision panels depend on beyond the viewer: the item page's status poll compares it
    # with what the page shows and swaps the panels when it changed.
    live_key: str


def item_live(*, item: ReviewItem, user: Any, now: datetime | None = None) -> ItemLive:
    now = now or timezone.now()
    claim_live = claim_is_live(item, now=now)
    claim_live_other = claim_live and item.claimed_by_id != user.pk
    return ItemLive(
        item=item, overdue=bool(item.status == ItemStatus.PENDING and item.due_at and item.due_at < now),
        claim_live=claim_live, claim_until=claim_expires_at(item), claim_live_other=claim_live_other,
        live_key=f"{item.status}.{item.approvals}.{int(claim_live_other)}",
    )


@dataclass
class ItemView:
    item: ReviewItem
    request: dict[str, Any]
    description_html: str
    args: dict[str, Any]
    relevant: list[tuple[str, Any]]
    changes: list[StateChange]
    changed_by: str
    spend: dict[str, Any]
    decisions: list[ReviewDecision]
    allowed: list[str]
    live: ItemLive
    may_decide: bool
    started_by_viewer: bool
    already_approved_by_viewer: bool
    timeline_url: str  # empty for roles that may not open run pages
    back: tuple[str, str] | None  # (label, url) of the list this person came from, if they may open one
    # A pending budget stop whose budget is still too small: (budget, the cap its call needs).
    budget_short: tuple[Any, Decimal] | None = None
    # Who else may approve an item the viewer may not approve because they started its run.
    other_approvers: OtherApprovers | None = None
    # Who may decide it, worded as the refusals word it ("members of the 'reviewer' group and admins").
    who_decides: str = ""
    unstaffed: str = ""  # its reviewer group, while pending with nobody but the admins to decide for it
    fork: ForkNote | None = None  # its run is a fork: said above everything else on the page
    fork_edits: ForkEdits | None = None  # what its fork changed in the parent's state, and who
    # The hidden characters (orchestrator.hidden_text) the page marks in the proposal, each occurrence.
    hidden: list[str] = field(default_factory=list)

    @property
    def hidden_named(self) -> str:
        """"U+200B ZERO WIDTH SPACE ×2, U+202E RIGHT-TO-LEFT OVERRIDE", for the page's warning."""
        return hidden_summary(self.hidden)


@dataclass(frozen=True)
class OtherApprovers:
    """The people who may approve an item its run's starter may not (separation of duties), so the
    starter knows whom to ask: the other active members of its reviewer group, and admins."""

    group: str
    members: str  # "Rowan Reviewer, Sam Smith and 2 more", or "" (admins are named apart)
    admins: str

    @property
    def anyone(self) -> bool:
        return bool(self.members or self.admins)


def _names(users: QuerySet, limit: int = 3) -> str:
    people = list(users.order_by("first_name", "last_name", "username")[: limit + 1])
    total = users.count() if len(people) > limit else len(people)
    names = [person_name(u) for u in people[:limit]]
    if total > limit:
        return f"{', '.join(names)} and {total - limit} more"
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def item_other_approvers(*, item: ReviewItem, starter_id: int) -> OtherApprovers:
    others = get_user_model().objects.filter(is_active=True).exclude(pk=starter_id)
    admins = others.filter(groups__name=ADMIN).distinct()
    members = others.none()
    if (group := deciding_group(item)) is not None:
        members = group_deciders(group).exclude(pk=starter_id).exclude(pk__in=admins.values("pk"))
    return OtherApprovers(group=item.reviewer_group, members=_names(members), admins=_names(admins))


def item_view(*, item: ReviewItem, user: Any) -> ItemView:
    request = loads(item.request) or {}
    run = item.run
    state = _state_or_empty(run.pk, item.step)
    changes, changed_by = _changes_before(run.pk, item.step, state)
    decisions = list(item.decisions.select_related("actor").order_by("created_at"))
    started = bool(run.created_by_id and run.created_by_id == user.pk)
    fork = fork_note(run)
    return ItemView(
        item=item, request=request, description_html=render_markdown(request.get("description", "")),
        args=request.get("args", {}), relevant=[(name, state.get(name)) for name in request.get("relevant", [])],
        changes=changes, changed_by=changed_by,
        spend={"input_tokens": run.input_tokens, "output_tokens": run.output_tokens,
               "tokens": run.input_tokens + run.output_tokens, "cost": Decimal(run.cost), "llm_calls": run.llm_calls},
        decisions=decisions, allowed=request.get("allowed", ["approve", "reject", "edit", "respond"]),
        live=item_live(item=item, user=user),
        may_decide=may_decide(user, item), started_by_viewer=started,
        already_approved_by_viewer=any(d.actor_id == user.pk for d in decisions),
        timeline_url=reverse("audit:run", args=[run.thread_id]) if user_may_open(user, "runs") else "",
        back=_back_link(user),
        budget_short=budget_item_short(item)
        if item.kind == ItemKind.BUDGET and item.status == ItemStatus.PENDING else None,
        other_approvers=item_other_approvers(item=item, starter_id=user.pk)
        if started and item.status == ItemStatus.PENDING else None,
        who_decides=who_decides(item), fork=fork, fork_edits=fork_edits(run) if fork else None,
        unstaffed=_unstaffed(item), hidden=_proposal_hidden(request),
    )


def _proposal_hidden(request: dict[str, Any]) -> list[str]:
    """The hidden characters of the proposal as the item page shows it, in its order: the action, each
    argument's name and value (as text: JSON escapes the controls below U+0020 in a list or an object,
    which then show as \\u0000, unmarked because seen), then the description as markdown shows it."""
    args = request.get("args") or {}
    shown = [str(request.get("action") or ""), *(text for name, value in args.items()
                                                  for text in (str(name), as_text(value)))]
    return [c for text in shown for c in hidden_in(text)] + markdown_hidden(request.get("description") or "")


def _unstaffed(item: ReviewItem) -> str:
    group = deciding_group(item)
    if item.status != ItemStatus.PENDING or group is None or not groups_without_deciders([group]):
        return ""
    return group


def _back_link(user: Any) -> tuple[str, str] | None:
    # Compliance reads items but has no inbox: it reaches them from the decision log.
    if user_may_open(user, "inbox"):
        return "Inbox", reverse("review:inbox")
    if user_may_open(user, "audit"):
        return "Decision log", reverse("audit:decisions")
    return None


def _state_or_empty(run_id: int, step: int) -> dict[str, Any]:
    try:
        return state_at(run_id, step)
    except LookupError:
        return {}


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[StateChange]:
    """The top-level fields that differ between two stored states, by name."""
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            changes.append(StateChange(key, None, after[key], "added"))
        elif key not in after:
            changes.append(StateChange(key, before[key], None, "removed"))
        elif before[key] != after[key]:
            changes.append(StateChange(key, before[key], after[key], "changed"))
    return changes


def _changes_before(run_id: int, step: int, state: dict[str, Any]) -> tuple[list[StateChange], str]:
    """What the last state-changing step up to `step` changed. A gate's own checkpoint changes
    nothing, so for a gate node this is the node that produced what the gate shows. A fork's
    first checkpoint (step 0) is not one of them: what it changed is `fork_edits`."""
    last = (Checkpoint.objects.filter(run_id=run_id, step__lte=step, step__gt=0).exclude(source="gate")
            .order_by("-step").values_list("step", "node").first())
    if last is None:
        return [], ""
    return _field_changes(_state_or_empty(run_id, last[0] - 1), state), f"{last[1] or 'input'} (step {last[0]})"


@dataclass(frozen=True)
class ForkEdits:
    """What the engineer who forked an item's run changed in the state it was forked from: the
    fields edited at fork time, from the parent's checkpoint to the fork's first one (stored with
    it as its "edits", by orchestrator.forks.run_fork). No `changes`: forked without edits."""

    by: str  # who forked: full name, else username, else the name on the ledger's "fork" entry; "" if none
    by_username: str
    changes: list[StateChange]
    erased: bool = False  # the runs' personal data was erased, the edited values with it


def fork_edits(run: Run) -> ForkEdits | None:
    """The edits `run` (a fork) was made with, or None if its first checkpoint is gone."""
    first = (Checkpoint.objects.filter(run=run, step=0, source="fork").select_related("actor")
             .only("meta", "actor").first())
    if first is None:
        return None
    if first.actor is not None:
        by, username = person_name(first.actor), first.actor.username
    else:  # made before forks recorded a user: the ledger names whoever it was given
        by = username = (LedgerEntry.objects.filter(chain=run.thread_id, kind="fork")
                         .values_list("actor", flat=True).first() or "")
    edits = (loads(first.meta) or {}).get("edits") or {}
    if not isinstance(edits, dict):  # erasure replaced them with a marker
        return ForkEdits(by=by, by_username=username, changes=[], erased=True)
    if not edits:
        return ForkEdits(by=by, by_username=username, changes=[])
    parent = _state_or_empty(run.parent_id, run.forked_from_step) if run.forked_from_step is not None else {}
    before = {key: parent[key] for key in edits if key in parent}
    return ForkEdits(by=by, by_username=username, changes=_field_changes(before, edits))


def workflow_schema(item: ReviewItem) -> Any:
    """The workflow's state model, or None if the workflow is no longer registered."""
    try:
        return workflow_get(item.workflow).state
    except LookupError:
        return None
