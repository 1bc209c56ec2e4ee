"""The decision flow: one file from "a person decided" to "the run is queued again".

`review_decide` in order, inside one transaction:
  1. Lock the run row, then the item row (always this order, so two deciders cannot deadlock).
  2. Refuse if the item is no longer pending ("already decided (approve) by X at T"), if the person
     may not decide it as it is now (review.permissions; it may have been escalated), if its reason
     or response is over DECISION_TEXT_MAX, if another person holds a live claim on it
     (review.claims), if its deadline passed (the expiry pass owns it now), if the person started
     the run and is approving it (separation of duties), if the decision is not allowed by the
     gate, or if its input is invalid (reason missing, edits break the schema or change nothing).
  3. Record the person's decision (one per person per item). If the gate needs more approvers,
     stop here: the item stays pending, shows "1 of 2", and the claim is released for the next.
  4. Mark the item decided (or expired, for the expiry pass) with a guarded UPDATE (pending →
     decided, row count checked).
  5. Write the decision checkpoint (edits + the decision field, attributed to the actor), the
     ledger entry, and the run's new position and status.
  6. After commit, enqueue the run (unless the decision ended it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from audit.ledger import salted_digest
from audit.services import ledger_append
from orchestrator.graph import END, GateDecision, Graph, GraphError, versions_compatible
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, JournalEntry, Run, RunStatus
from orchestrator.queue import run_enqueue
from orchestrator.registry import WorkflowRetired, run_workflow
from orchestrator.roles import person_name
from orchestrator.services import RunError
from orchestrator.state import StateTracker, check_serializable, dumps, loads, stored_state_error
from orchestrator.state_edits import StateEditRefused, state_edits_check
from orchestrator.value_errors import has_nul, text_at
from orchestrator.workflow_versions import workflow_version_record
from review.models import Decision, ItemKind, ItemStatus, ReviewDecision, ReviewItem
from review.permissions import decide_refusal, deciding_group, may_decide


class DecisionError(RunError):
    """The decision was refused; nothing changed. `field_errors` maps form fields to messages."""


class AlreadyDecided(DecisionError):
    pass


class DecisionForbidden(DecisionError):
    """The person may not decide the item as it is now (it moved to another group while they decided):
    a 403, as the surfaces' own check answers, and the item is not shown to them again."""


@dataclass
class DecisionInput:
    decision: str
    reason: str = ""
    edits: dict[str, Any] | None = None
    response: str = ""

    def used(self) -> DecisionInput:
        """Only what this decision uses: a reason goes with a rejection, edits with an edit, a response
        with a respond. A form shows a refused decision's text back, so a reason typed for a refused
        rejection may come along with the approval that follows; it must not be recorded with it."""
        return DecisionInput(decision=self.decision, reason=self.reason if self.decision == Decision.REJECT else "",
                             edits=self.edits if self.decision == Decision.EDIT else None,
                             response=self.response if self.decision == Decision.RESPOND else "")


# Characters of a decision's reason or response, on every surface (item page, bulk form, API, CLI). Both
# are stored with the item and its checkpoint, shown on pages and passed to the workflow (a response goes
# into the next prompt): generous for any note a person writes, not a place to paste a document.
DECISION_TEXT_MAX = 10_000


def decision_text_check(decision: DecisionInput) -> None:
    """Refuse a reason or response longer than DECISION_TEXT_MAX, saying the limit and what to do, or holding
    a NUL character."""
    for field, text in (("reason", decision.reason), ("response", decision.response)):
        if len(text) > DECISION_TEXT_MAX:
            raise DecisionError(
                f"the {field} is {len(text):,} characters, over the limit of {DECISION_TEXT_MAX:,}: shorten it "
                "(a long text can go in a document whose link you give) and send the decision again. Nothing was "
                "decided.", {field: f"At most {DECISION_TEXT_MAX:,} characters; this has {len(text):,}."})
        if has_nul(text):
            # PostgreSQL stores no NUL in text: a reason pasted with one was a 500 on the item page and the
            # bulk form (the API's parser refuses it before it gets here).
            raise DecisionError(f"the {field} holds a NUL character, which cannot be stored: remove it and send "
                                "the decision again. Nothing was decided.",
                                {field: "Remove the NUL character (\\0) from this text."})


def item_request(item: ReviewItem) -> dict[str, Any]:
    return loads(item.request) or {}


def already_decided(item: ReviewItem) -> AlreadyDecided:
    """The refusal every interface shows for a second decision: who decided, what, and when."""
    who = person_name(item.decided_by) if item.decided_by_id else "the system"
    when = item.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC") if item.decided_at else "an earlier time"
    state = {"decided": "decided", "expired": "expired", "cancelled": "cancelled"}.get(item.status, item.status)
    what = f" ({item.decision})" if item.decision else ""
    return AlreadyDecided(
        f"This item was already {state}{what} by {who} at {when}; your decision changed nothing."
    )


def decision_forbidden(actor: Any, item: ReviewItem) -> DecisionForbidden | None:
    """The refusal to raise if `actor` may not decide `item` as it is now (read under a lock, or by the
    guarded write itself), else None: decisions and claims alike.

    Every surface checked this on the item as it read it, before the decision or claim wrote anything:
    an escalation committed in between moves the item to another group (and drops its deadline, which
    would otherwise refuse a decision, and its claim, which would otherwise refuse a claim)."""
    return None if may_decide(actor, item) else DecisionForbidden(decide_refusal(actor, item))


def _refuse_person(item: ReviewItem, run: Run, actor: Any, kind: str, now: Any) -> None:
    """Step 2's checks that concern the person rather than the input."""
    from review.claims import claim_held_by_other

    if (forbidden := decision_forbidden(actor, item)) is not None:
        raise forbidden
    held = claim_held_by_other(item, actor, now=now)
    if held is not None:
        raise held
    if item.due_at is not None and item.due_at <= now:
        request = loads(item.request) or {}
        policy = ("escalated to " + request.get("escalate_to", "admin")
                  if request.get("on_expiry") == "escalate" else "auto-rejected")
        raise DecisionError(f"this item expired at {item.due_at:%Y-%m-%d %H:%M:%S} UTC and is being {policy}; "
                            "nothing was decided.")
    if kind in (Decision.APPROVE, Decision.EDIT) and run.created_by_id and run.created_by_id == actor.pk:
        group = deciding_group(item)
        who = "another admin" if group is None else f"another member of {group!r}, or an admin,"
        raise DecisionError(f"you started this run, so you may not approve it: {who} must (the item's page names "
                            "them). You may still reject it or respond.")


def validate_edits(graph: Graph, request: dict[str, Any], state: dict[str, Any],
                   edits: dict[str, Any]) -> dict[str, Any]:
    """Check a reviewer's edits (only the gate's arguments may change); return the changed fields."""
    try:
        changed = state_edits_check(schema=graph.state, state=state, edits=edits,
                                    editable=list(request.get("args", {})),
                                    where="at this gate", not_editable="not an editable argument of this gate")
    except StateEditRefused as exc:
        raise DecisionError(str(exc), exc.field_errors, api_fields=exc.api_fields("edits")) from None
    # The edits are stored with the decision and the item, where PostgreSQL refuses a NUL (a 500 on the item
    # page and `runs resume --edit`, whose text boxes and JSON can carry one).
    for field, value in changed.items():
        path = text_at(value, field, has_nul)
        if path is not None:
            raise DecisionError(f"{path}: the text holds a NUL character, which cannot be stored: remove it and "
                                "try again; nothing was decided.", {field: "remove the NUL character (\\0)"},
                                api_fields={f"edits.{path}": "text may not contain the NUL character (\\u0000); "
                                                             "remove it"})
    return changed


def _held_approval(run: Run) -> str | None:
    """The approval a loop guard's checkpoint holds (orchestrator.executor._loop_guard), carried
    through the guard's own decision."""
    gate = Checkpoint.objects.filter(run=run, step=run.step, source="gate").only("meta").first()
    return (loads(gate.meta) or {}).get("approved_node") if gate else None


def _route(graph: Graph, item: ReviewItem, run: Run, decision: str, model: Any) -> str:
    """Where the run goes after this decision (END means it stops)."""
    gate = loads(item.request).get("_gate", {})
    if item.kind == ItemKind.LOOP_GUARD or item.kind == ItemKind.BUDGET:
        return run.next_node if decision != Decision.REJECT else END
    if gate.get("call_index") is not None:
        return item.node  # dynamic interrupt: the node runs again and ctx.interrupt returns the decision
    node = graph.nodes[item.node]
    if decision == Decision.REJECT:
        return node.on_reject
    if decision == Decision.RESPOND and node.on_respond:
        return node.on_respond
    if node.is_gate or node.interrupt_after:
        return graph.next_after(item.node, model)
    return item.node  # interrupt_before: approving runs the node


@transaction.atomic
def review_decide(*, item: ReviewItem, actor: Any, decision: DecisionInput,
                  force_version: bool = False, expired: bool = False) -> ReviewItem:
    """`expired=True` is the expiry pass's path: the system rejects, the item ends as expired."""
    run = Run.objects.select_for_update().get(pk=item.run_id)
    item = ReviewItem.objects.select_for_update(of=("self",)).select_related("decided_by", "claimed_by").get(
        pk=item.pk)
    if item.status != ItemStatus.PENDING:
        raise already_decided(item)
    decision = decision.used()
    decision_text_check(decision)
    now = timezone.now()
    if not expired:
        _refuse_person(item, run, actor, decision.decision, now)
    request = loads(item.request) or {}
    allowed = request.get("allowed", [d.value for d in Decision])
    kind = decision.decision
    if kind not in {d.value for d in Decision} or (kind not in allowed and not expired):
        # Named for the API only: the page's decision is a button, not a field it marks.
        raise DecisionError(f"decision {kind!r} is not allowed at this gate; allowed: {', '.join(allowed)}.",
                            api_fields={"decision": f"is not allowed at this gate; send one of {', '.join(allowed)}"})
    if kind == Decision.REJECT and not decision.reason.strip():
        raise DecisionError("a rejection needs a reason: it is recorded and reaches the workflow.",
                            {"reason": "Say why you reject this."})
    if kind == Decision.RESPOND and not decision.response.strip():
        raise DecisionError("a response needs text for the agent.", {"response": "Write a response."})
    if run.status != RunStatus.SUSPENDED:
        raise DecisionError(f"run {run.thread_id} is {run.status}, not waiting for a decision.")
    # Refused like any other decision (409/422 in the inbox and the API, not a server error): the
    # workflow's code changed under the suspended run, which the reviewer cannot fix.
    try:
        graph = run_workflow(run.workflow, run.thread_id)
    except WorkflowRetired as exc:
        raise DecisionError(f"{exc}, so it cannot resume and nothing was decided. Give this process the workers' "
                            "GATEHOUSE_WORKFLOWS; if the workflow was retired, an engineer can cancel the run.") from None
    if not force_version and not versions_compatible(run.graph_version, graph.version):
        raise DecisionError(
            f"workflow {run.workflow!r} changed incompatibly since run {run.thread_id} started "
            f"({run.graph_version} → {graph.version}): it cannot resume on the new structure, so nothing was "
            "decided. An engineer can cancel the run, or a reviewer of its group can decide on the new version with "
            f"`python manage.py runs resume {run.thread_id} --approve (or --reject …) --actor NAME --force-version`."
        )
    if kind == Decision.RESPOND and item.kind == ItemKind.GATE and not graph.takes_response(
            item.node, dynamic=request.get("_gate", {}).get("call_index") is not None):
        # Items made before the executor stopped offering it (orchestrator.executor._item).
        raise DecisionError("this gate has nowhere to send a response (its workflow gives it no on_respond "
                            "route): approve, edit or reject it instead.",
                            api_fields={"decision": "this gate takes no response; send approve, edit or reject"})
    state = state_at(run.pk, run.step, hydrate=True)
    edits: dict[str, Any] = {}
    if kind == Decision.EDIT:
        edits = validate_edits(graph, request, state, decision.edits or {})
        if not edits:
            raise DecisionError("you changed nothing: change a field, or approve it as it is.")

    try:
        with transaction.atomic():
            ReviewDecision.objects.create(item=item, actor=actor, decision=kind, reason=decision.reason,
                                          edits=edits or None, response=decision.response)
    except IntegrityError:
        raise DecisionError("you already recorded a decision on this item; another approver must decide.") from None

    approving = kind in (Decision.APPROVE, Decision.EDIT)
    if approving and item.approvals + 1 < item.required_approvals:
        # The claim is released so the next approver can take the item.
        ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(
            approvals=item.approvals + 1, claimed_by=None, claimed_at=None)
        ledger_append(run=run, kind="approval_recorded", step=run.step, actor=actor.username,
                      payload={"item": item.pk, "of": item.required_approvals, "count": item.approvals + 1})
        run.save(update_fields=["ledger_len", "ledger_head"])
        item.refresh_from_db()
        return item

    claimed = ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(
        status=ItemStatus.EXPIRED if expired else ItemStatus.DECIDED, decided_by=actor, decided_at=now,
        decision=kind, reason=decision.reason,
        edits=edits or None, response=decision.response, approvals=item.approvals + (1 if approving else 0),
    )
    if claimed != 1:
        item.refresh_from_db()
        raise already_decided(item)

    resumed = GateDecision(decision=kind, actor=actor.username, reason=decision.reason,
                           response=decision.response, edits=edits)
    gate = request.get("_gate", {})
    # Only a static gate's decision goes into the state. At a ctx.interrupt() (or a budget stop, or a
    # loop guard holding an earlier approval) the node runs again in the same visit and must repeat
    # its calls before the stop exactly, so nothing may change its state first; it gets the decision,
    # edits included, from ctx.interrupt(). A loop guard's or budget stop's decision is the engineers'
    # or admins', not an answer to the workflow's question, and must not overwrite the reviewers'
    # decision the state holds.
    update: dict[str, Any] = {}
    if item.kind == ItemKind.GATE and gate.get("call_index") is None:
        update = dict(edits)
        if graph.decision_field in graph.state.model_fields:
            update[graph.decision_field] = resumed.model_dump(mode="json")
    encoded = check_serializable("decision", update)
    tracker = StateTracker(state_at(run.pk, run.step), blob_threshold=10**12, snapshot_every=10**9)
    try:
        model = graph.state.model_validate({**state, **update})
    except ValidationError as exc:
        # Edits were checked above and the decision is the engine's own, so what fails is the stored
        # state under the workflow's code as deployed now. Rolled back with the rest, like a broken
        # router: no reviewer can fix the workflow's code.
        raise DecisionError(f"{stored_state_error(run.workflow, run.step, exc)} Nothing was decided; an engineer "
                            f"must fix the workflow first.") from None
    delta = tracker.apply(update, encoded, graph.reducers)
    try:
        next_node = _route(graph, item, run, kind, model)
    except GraphError as exc:
        # Rolled back with the rest: the workflow's router is broken, which no reviewer can fix.
        raise DecisionError(f"{exc} Nothing was decided; an engineer must fix the workflow first.") from None
    step = run.step + 1
    if gate.get("call_index") is not None:
        # The node's ctx.interrupt() call returns this decision when the node runs again.
        JournalEntry.objects.create(
            run=run, visit=gate["visit"], call_index=gate["call_index"], node=item.node, kind="interrupt",
            name=request.get("action", ""), result=dumps(resumed.model_dump(mode="json")),
        )
    Checkpoint.objects.create(
        run=run, step=step, node=item.node, source="decision", delta=delta.to_json(), snapshot=None,
        next_node="" if next_node == END else next_node, state_hash=tracker.state_hash(), actor=actor,
        meta=dumps({"decision": kind, "item": item.pk, "item_kind": item.kind, "gate_after": bool(gate.get("after")),
                    "approved_node": _held_approval(run) if item.kind == ItemKind.LOOP_GUARD else None,
                    "reason": decision.reason, "response": decision.response}),
    )
    ledger_append(run=run, kind="decision", step=step, actor=actor.username, payload={
        "item": item.pk, "node": item.node, "decision": kind, **({"expired": True} if expired else {}),
        "reason": salted_digest(decision.reason, run.ledger_salt) if decision.reason else "",
        "edits": salted_digest(edits, run.ledger_salt) if edits else "",
        "response": salted_digest(decision.response, run.ledger_salt) if decision.response else "",
    })
    run.step = step
    run.next_node = "" if next_node == END else next_node
    run.suspended_reason = ""
    run.updated_at = now
    if item.kind == ItemKind.LOOP_GUARD and kind != Decision.REJECT:
        # Step and visit caps count again from here (visits are counted from checkpoints after it).
        run.guard_base_step = step
    if next_node == END:
        run.status = RunStatus.REJECTED if kind == Decision.REJECT else RunStatus.COMPLETED
        run.finished_at = now
        ledger_append(run=run, kind="run_rejected" if kind == Decision.REJECT else "run_completed",
                      step=step, actor=actor.username, payload={"steps": step})
    else:
        run.status = RunStatus.QUEUED
        run_enqueue(run.pk)
    if force_version:
        run.graph_version = graph.version
        workflow_version_record(graph, actor=actor.username)
    run.save()
    item.refresh_from_db()
    return item
