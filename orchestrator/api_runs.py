"""/api/runs: start, read, state, history, decide, fork, cancel, retry, diff."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import AfterValidator, ConfigDict, WithJsonSchema
from pydantic_core import PydanticCustomError

from orchestrator.api_auth import for_roles
from orchestrator.api_refusals import Detail, Refusal, Refused, limit_param, refused_fields
from orchestrator.registry import UnknownWorkflow
from orchestrator.roles import ADMIN, ENGINEER, INBOX_ROLES, REVIEWER, RUN_STARTERS, user_has_role
from orchestrator.selectors import (
    HistoryPruned,
    StepOutOfRange,
    run_checkpoint_page,
    run_diff,
    run_state,
    run_summary,
)
from orchestrator.services import (
    CancelReasonTooLong,
    RunError,
    ThreadIdTaken,
    run_cancel,
    run_get,
    run_retry,
    run_start,
)
from review.claims import ClaimHeld
from review.models import Decision
from review.permissions import assert_may_decide
from review.selectors import pending_item_for_run, run_for_reviewer, run_summary_for_reviewer
from review.services import AlreadyDecided, DecisionError, DecisionForbidden, DecisionInput, review_decide

router = Router(tags=["runs"])

# Who may call each endpoint (checked before the request is read: orchestrator.api_auth). Reviewers
# decide, and read where a run they review stands; everything else is for engineers and admins.
_RUNS = for_roles(ENGINEER, ADMIN)
DECIDERS = for_roles(*INBOX_ROLES)


class RequestBody(Schema):
    """A request body's fields: a key the body does not have is refused (422 naming it) rather than
    dropped, so a misspelt "reson" does not reject without its reason, nor "threadId" start a second run.

    Strict: a value must be of its field's JSON type. Pydantic's lax mode read "yes", "on" and 1 as true,
    so `"allow_effects": "yes"`, which a client may have meant as anything, made a fork act for real;
    and "3" as the number 3. A body's JSON already has true/false and numbers."""

    model_config = ConfigDict(extra="forbid", strict=True)


class StartIn(RequestBody):
    workflow: str
    input: dict[str, Any] = {}
    thread_id: str | None = None
    labels: dict[str, str] = {}


class ForkIn(RequestBody):
    at_step: int
    edits: dict[str, Any] = {}
    mode: str = "recorded"
    overrides: dict[str, Any] = {}
    allow_effects: bool = False
    # Send one (8-16 lowercase hex) to make retries safe: the same key returns the same fork.
    request_key: str | None = None


class DecisionIn(RequestBody):
    decision: str
    reason: str = ""
    edits: dict[str, Any] | None = None
    response: str = ""


class CancelIn(RequestBody):
    reason: str = ""


class RetryIn(RequestBody):
    force_version: bool = False


class RunStateOut(Schema):
    thread_id: str
    step: int
    state: dict[str, Any]


# A checkpoint number that is not a whole number of at least 0 is a 422 naming the parameter, like any query
# value the schema refuses; a whole number the run has no checkpoint for is the endpoint's 404.
StepParam = Annotated[int | None, WithJsonSchema({"type": "integer", "minimum": 0})]
_STEP = Query(None, ge=0,
              description="Checkpoint number, 0 (the input) to the run's `step`; leave it out for the latest.")


# The decision each text goes with: review_decide keeps only what its decision uses (a form shows back the
# text of a refused decision, which may come along with the next one).
_GOES_WITH = {"reason": Decision.REJECT.value, "edits": Decision.EDIT.value, "response": Decision.RESPOND.value}


def decision_input(body: Any) -> DecisionInput:
    """A decision body (DecisionIn, or a bulk body's decision and reason) as the DecisionInput to decide
    with, refusing a text the decision would not use: `{"decision": "approve", "edits": {...}}` approved
    the item unedited, and a reason sent with an approval was not recorded, without a word. A decision
    that is none of the decisions is left to the gate's refusal, which names those it allows."""
    sent = {name: getattr(body, name, None) for name in _GOES_WITH}
    if body.decision in Decision.values:
        unused = {name: f'goes with "decision": "{kind}" only; leave it out, or send that decision'
                  for name, kind in _GOES_WITH.items()
                  if body.decision != kind and (sent[name].strip() if isinstance(sent[name], str) else sent[name])}
        if unused:
            raise refused_fields(unused)
    return DecisionInput(decision=body.decision, reason=sent["reason"] or "", edits=sent["edits"],
                         response=sent["response"] or "")


def decision_refused(exc: DecisionError) -> HttpError:
    """How every endpoint that decides or claims an item answers a refusal, /api/runs/{id}/decision and
    /api/items/... alike: 409 when someone else got there first (the item was decided, another person
    holds its claim), 403 when the item moved out of the person's reach (escalated while they decided),
    else 422 naming the fields at fault ({} when none is)."""
    if isinstance(exc, DecisionForbidden):
        return HttpError(403, str(exc))
    if isinstance(exc, AlreadyDecided | ClaimHeld):
        return HttpError(409, str(exc))
    return Refused(422, str(exc), exc.api_fields)


def _run(thread_id: str):
    try:
        return run_get(thread_id)
    except RunError as exc:
        raise HttpError(404, str(exc)) from None


@router.post("", response={201: dict, 409: Detail}, auth=for_roles(*RUN_STARTERS))
def start(request: HttpRequest, body: StartIn):
    try:
        run = run_start(workflow=body.workflow, input=body.input, thread_id=body.thread_id,
                        labels=body.labels, actor=request.user)
    except UnknownWorkflow as exc:  # a field of the body, not a path that is not there: 422 as any other
        known = ", ".join(exc.known) or "(none)"
        raise Refused(422, str(exc), {"workflow": f"is not a registered workflow; the workflows there are: {known}"}) \
            from None
    except ThreadIdTaken as exc:  # e.g. a start sent again after a timeout: the first one stands
        raise HttpError(409, str(exc)) from None
    except RunError as exc:  # the input, thread id or labels: `fields` names each key path at fault
        raise Refused(422, str(exc), exc.api_fields) from None
    return Status(201, run_summary(run))


@router.get("/{thread_id}", response=dict, auth=for_roles(ENGINEER, ADMIN, REVIEWER))
def show(request: HttpRequest, thread_id: str):
    """Where the run stands: status, current node, step, pending gate. Engineers and admins also get its
    tokens, cost, labels, error and lineage (`parent`, `forked_from_step`, `replay_mode`, `allow_effects`,
    `overrides`, `diverged_at_step`; null/empty for a run that is not a fork); its state is at `/state`.
    A reviewer gets only where a run with an item of theirs stands (404 for any other run)."""
    return _summary_for(request, thread_id)


def _visible_run(request: HttpRequest, thread_id: str) -> tuple[Any, list[Any] | None]:
    """The run as the caller may see it: (run, None) for engineers and admins; for a reviewer, a run
    with an item they may read and those items, any other run a 404 worded like an unknown one."""
    if user_has_role(request.user, ENGINEER, ADMIN):
        return _run(thread_id), None
    try:
        return run_for_reviewer(request.user, thread_id)
    except RunError as exc:
        raise HttpError(404, str(exc)) from None


def _summary_for(request: HttpRequest, thread_id: str) -> dict[str, Any]:
    # Engineers and admins see the whole summary; a reviewer what GET /api/runs/{id} shows them.
    run, readable = _visible_run(request, thread_id)
    return run_summary(run) if readable is None else run_summary_for_reviewer(request.user, run, readable)


CHECKPOINTS_PAGE = 1000  # the most checkpoints one answer holds, and how many when ?limit is left out
CheckpointsLimit = limit_param(most=CHECKPOINTS_PAGE, default=CHECKPOINTS_PAGE)
_LIMIT = Query(CHECKPOINTS_PAGE, description="How many checkpoints to answer at most, 1 to 1000.")
_AFTER_STEP = Query(None, description="Answer the checkpoints after this step (the last step of the page before); "
                                      "leave it out to start from checkpoint 0.")


def _a_step(step: int | None) -> int | None:
    if step is not None and step < 0:
        raise PydanticCustomError("step_range", "must be at least 0; leave it out to start from checkpoint 0")
    return step


AfterStepParam = Annotated[int | None, AfterValidator(_a_step), WithJsonSchema({"type": "integer", "minimum": 0})]


@router.get("/{thread_id}/checkpoints", response=list[dict], auth=_RUNS)
def checkpoints(request: HttpRequest, response: HttpResponse, thread_id: str,
                after_step: AfterStepParam = _AFTER_STEP,
                limit: CheckpointsLimit = _LIMIT):
    """The run's checkpoints in step order, a page at a time: at most `limit`, those after `after_step`.
    While more remain, a `Link: <…>; rel="next"` header (RFC 8288) has the next page's URL, with the same
    limit; the last page has none."""
    page = run_checkpoint_page(_run(thread_id), after_step=after_step, limit=limit)
    if page.next_after is not None:
        following = urlencode({"after_step": page.next_after, "limit": limit})
        response["Link"] = f'<{escape_uri_path(request.path)}?{following}>; rel="next"'
    return page.rows


@router.get("/{thread_id}/state", response={200: RunStateOut, 404: Detail, 410: Detail}, auth=_RUNS)
def state(request: HttpRequest, thread_id: str, step: StepParam = _STEP):
    """The run's state after its latest checkpoint, or after checkpoint `step` (engineers and admins).

    As the checkpoint page shows it: a value the engine stored as a blob (larger than
    GATEHOUSE_BLOB_THRESHOLD) stays its pointer `{"$blob": sha256, "size": bytes, "type": ...}`, whose
    bytes are `GET /api/blobs/{sha256}` (and the page's download link, `/runs/blobs/{sha256}/`); an
    erased run's values read `{"$erased": true}`. 404 for a step the run has no checkpoint for (the
    answer names those it has), 410 once retention pruned the run's history."""
    try:
        return run_state(_run(thread_id), step)
    except StepOutOfRange as exc:
        raise _no_checkpoint("step", exc, "or leave step out for the latest") from None
    except HistoryPruned as exc:
        raise HttpError(410, str(exc)) from None


def _no_checkpoint(param: str, exc: StepOutOfRange, other: str = "") -> HttpError:
    """The 404 of /state and /diff for a checkpoint number the run does not have: which ones it has."""
    return HttpError(404, f"{param}={exc.step} is not a checkpoint of run {exc.thread_id}: it has checkpoints 0 to "
                          f"{exc.latest}; send a number in that range{', ' + other if other else ''}.")


@router.post("/{thread_id}/decision", response={200: dict, 409: Detail}, auth=DECIDERS)
def decide(request: HttpRequest, thread_id: str, body: DecisionIn):
    run, _readable = _visible_run(request, thread_id)  # for a reviewer, a run with nothing of theirs is not there
    try:
        item = pending_item_for_run(run, request.user)
    except RunError as exc:
        raise HttpError(409, str(exc)) from None
    assert_may_decide(request.user, item)
    try:
        item = review_decide(item=item, actor=request.user, decision=decision_input(body))
    except DecisionError as exc:
        raise decision_refused(exc) from None
    return {"item": item.pk, "item_status": item.status, "decision": item.decision,
            "approvals": item.approvals, "required_approvals": item.required_approvals,
            "run": _summary_for(request, run.thread_id)}  # read afresh: the decision moved it


@router.post("/{thread_id}/fork", response={201: dict, 403: Refusal, 409: Refusal}, auth=_RUNS)
def fork(request: HttpRequest, thread_id: str, body: ForkIn):
    """Fork the run at checkpoint `at_step` (edits validated by the state schema); 422 names the field,
    403 says who may (`allow_effects`: admins)."""
    from orchestrator.forks import ForkForbidden, RequestKeyReused, run_fork

    parent = _run(thread_id)
    try:
        new = run_fork(run=parent, at_step=body.at_step, edits=body.edits or None, mode=body.mode,
                       overrides=body.overrides or None, allow_effects=body.allow_effects, actor=request.user,
                       request_key=body.request_key)
    except RunError as exc:  # a ForkError: 403 for allow_effects, 409 for a request key reused, else 422
        status = 403 if isinstance(exc, ForkForbidden) else 409 if isinstance(exc, RequestKeyReused) else 422
        raise Refused(status, str(exc), exc.api_fields) from None
    return Status(201, run_summary(new))  # with its lineage, as GET /api/runs/{id} reads it back


@router.post("/{thread_id}/cancel", response={200: dict, 409: Detail}, auth=_RUNS)
def cancel(request: HttpRequest, thread_id: str, body: CancelIn):
    """Cancel a run that has not finished (engineers and admins): a worker mid-node is fenced off and
    its pending review items are withdrawn. 409 when it already finished; `reason` is recorded in the
    ledger as a salted digest."""
    run = _run(thread_id)
    try:
        run = run_cancel(run=run, actor=request.user, reason=body.reason)
    except CancelReasonTooLong as exc:
        raise Refused(422, str(exc), exc.api_fields) from None
    except RunError as exc:
        return Status(409, {"detail": str(exc)})
    return Status(200, run_summary(run))


@router.post("/{thread_id}/retry", response={200: dict, 409: Detail}, auth=_RUNS)
def retry(request: HttpRequest, thread_id: str, body: RetryIn):
    """Queue a failed run again from its last checkpoint (engineers and admins); the failed node runs
    again, reusing the calls it recorded. 409 when it is not failed, or when its workflow's structure
    changed since it started and `force_version` is not set."""
    try:
        run = run_retry(run=_run(thread_id), actor=request.user, force_version=body.force_version)
    except RunError as exc:
        return Status(409, {"detail": str(exc)})
    return Status(200, run_summary(run))


@router.get("/{thread_id}/diff", response={200: dict, 404: Detail, 410: Detail}, auth=_RUNS)
def diff(request: HttpRequest, thread_id: str, from_: int = Query(..., alias="from", ge=0),
         to: int = Query(..., ge=0)):
    """Per key path changes (added / removed / changed) between checkpoints `from` and `to`, in the stored
    form `/state` reads. 404 for a step the run has no checkpoint for (as `/state`: the answer names those
    it has), 410 once retention pruned the run's history."""
    run = _run(thread_id)
    try:
        changes = run_diff(run, from_, to)
    except StepOutOfRange as exc:
        raise _no_checkpoint("from" if exc.step == from_ else "to", exc) from None
    except HistoryPruned as exc:
        raise HttpError(410, str(exc)) from None
    return {"thread_id": run.thread_id, "from": from_, "to": to, "changes": [c.to_json() for c in changes]}
