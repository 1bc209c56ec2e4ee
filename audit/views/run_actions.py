"""Cancel and retry from a run's page: what the CLI's `runs cancel` / `runs retry` do, for the
engineer looking at the run. Each answers with the run page again (post/redirect/get) and a
message saying what happened or why nothing did."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from orchestrator.http import Request
from orchestrator.roles import section_required
from orchestrator.services import RunError, run_cancel, run_get, run_retry


def _back(thread_id: str) -> HttpResponse:
    return redirect("audit:run", thread_id)


@section_required("runs")
@require_POST
def run_cancel_view(request: Request, thread_id: str) -> HttpResponse:
    try:
        run = run_cancel(run=run_get(thread_id), actor=request.user, reason=request.POST.get("reason", ""))
    except RunError as exc:
        messages.error(request, str(exc))
        return _back(thread_id)
    messages.success(request, f"Run {run.thread_id} cancelled at step {run.step}; a worker in the middle of a "
                              "node is fenced off, and its pending review items are withdrawn.")
    return _back(run.thread_id)


@section_required("runs")
@require_POST
def run_retry_view(request: Request, thread_id: str) -> HttpResponse:
    try:
        run = run_retry(run=run_get(thread_id), actor=request.user,
                        force_version=request.POST.get("force_version") == "1")
    except RunError as exc:
        messages.error(request, str(exc))
        return _back(thread_id)
    messages.success(request, f"Run {run.thread_id} queued again: {run.next_node or 'its next node'} runs again "
                              f"from step {run.step}, reusing the calls it had recorded.")
    return _back(run.thread_id)
