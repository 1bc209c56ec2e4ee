"""/api/runs: start, read, history, decide."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from orchestrator.registry import UnknownWorkflow
from orchestrator.roles import ADMIN, ENGINEER, REVIEWER, user_has_role
from orchestrator.selectors import run_checkpoints, run_summary
from orchestrator.services import RunError, run_get, run_start
from review.selectors import pending_item_for_run
from review.services import AlreadyDecided, DecisionError, DecisionInput, review_decide

router = Router(tags=["runs"])


class StartIn(Schema):
    workflow: str
    input: dict[str, Any] = {}
    thread_id: str | None = None
    labels: dict[str, str] = {}


class DecisionIn(Schema):
    decision: str
    reason: str = ""
    edits: dict[str, Any] | None = None
    response: str = ""


def _require(request: HttpRequest, *roles: str) -> None:
    if not user_has_role(request.user, *roles):
        raise PermissionDenied(f"this needs one of the roles: {', '.join(roles)}")


def _run(thread_id: str):
    try:
        return run_get(thread_id)
    except RunError as exc:
        raise HttpError(404, str(exc)) from None


@router.post("", response={201: dict})
def start(request: HttpRequest, body: StartIn):
    _require(request, ENGINEER, ADMIN)
    try:
        run = run_start(workflow=body.workflow, input=body.input, thread_id=body.thread_id,
                        labels=body.labels, actor=request.user)
    except UnknownWorkflow as exc:
        raise HttpError(404, str(exc)) from None
    except RunError as exc:
        raise HttpError(422, str(exc)) from None
    return 201, run_summary(run)


@router.get("/{thread_id}", response=dict)
def show(request: HttpRequest, thread_id: str):
    _require(request, ENGINEER, ADMIN, REVIEWER)
    return run_summary(_run(thread_id))


@router.get("/{thread_id}/checkpoints", response=list[dict])
def checkpoints(request: HttpRequest, thread_id: str):
    _require(request, ENGINEER, ADMIN)
    return run_checkpoints(_run(thread_id))


@router.post("/{thread_id}/decision", response=dict)
def decide(request: HttpRequest, thread_id: str, body: DecisionIn):
    run = _run(thread_id)
    try:
        item = pending_item_for_run(run)
    except RunError as exc:
        raise HttpError(409, str(exc)) from None
    from review.permissions import assert_may_decide

    assert_may_decide(request.user, item)
    try:
        item = review_decide(item=item, actor=request.user, decision=DecisionInput(
            decision=body.decision, reason=body.reason, edits=body.edits, response=body.response))
    except AlreadyDecided as exc:
        raise HttpError(409, str(exc)) from None
    except DecisionError as exc:
        raise HttpError(422, str(exc)) from None
    run.refresh_from_db()
    return {"item": item.pk, "item_status": item.status, "decision": item.decision,
            "approvals": item.approvals, "required_approvals": item.required_approvals,
            "run": run_summary(run)}
