"""Runs, run timeline, checkpoint, fork, compare and regression-replay pages (engineer, admin).

Every view is guarded by `section_required("runs")`; htmx requests get the same fragment the
page includes, so each page works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from audit import charts
from audit.fork_form import fork_fields, parse_fork_form
from audit.polling import poll_seconds
from audit.selectors_forks import compare_runs, fork_family, replay_batch_rows
from audit.selectors_run_detail import (
    checkpoint_diff,
    checkpoint_get,
    checkpoint_journal,
    checkpoint_steps,
    run_duration_rows,
    run_header,
    run_timeline,
    run_visits,
)
from audit.selectors_runs_list import RunFilters, replay_eligible_count, runs_page, workflow_names
from orchestrator.forks import (
    ForkError,
    ForkForbidden,
    RequestKeyReused,
    replay_batch_start,
    run_fork,
)
from orchestrator.graph import versions_compatible
from orchestrator.history import state_at
from orchestrator.http import BlobNotFound, Request, blob_attachment
from orchestrator.models import Run, RunStatus
from orchestrator.registry import WorkflowRetired, run_workflow, workflows
from orchestrator.request_keys import form_request_key
from orchestrator.roles import ADMIN, RUN_STARTERS, section_required, user_has_role
from orchestrator.services import CANCEL_REASON_MAX, RunError, run_get


def _run_or_404(thread_id: str) -> Run:
    try:
        return run_get(thread_id)
    except RunError as exc:
        raise Http404(str(exc)) from None


def _page_or_fragment(request: Request, page: str, fragment: str, context: dict[str, Any],
                      status: int = 200) -> HttpResponse:
    return render(request, fragment if request.htmx and not request.htmx.boosted else page, context,
                  status=status)


# --- runs list ------------------------------------------------------------------------------------
@section_required("runs")
def runs(request: Request) -> HttpResponse:
    filters = RunFilters.from_query(request.GET)
    page = runs_page(filters=filters, cursor=request.GET.get("cursor", ""))
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {**page, "filters": filters, "workflows": workflow_names(), "statuses": RunStatus.choices,
               "query": query.urlencode(), "cursor": request.GET.get("cursor", ""),
               "may_start": user_has_role(request.user, *RUN_STARTERS)}
    return _page_or_fragment(request, "audit/runs.html", "audit/_runs_rows.html", context,
                             status=400 if filters.errors else 200)


# --- one run --------------------------------------------------------------------------------------
@section_required("runs")
def run_detail(request: Request, thread_id: str) -> HttpResponse:
    run = _run_or_404(thread_id)
    per, rows = run_duration_rows(run)
    graph = workflows().get(run.workflow)
    context = {
        **run_header(run, viewer=request.user), "timeline": run_timeline(run), "nodes_ran": len(rows),
        "waterfall": charts.waterfall_html(rows), "durations_per": per,
        "drawing": charts.graph_drawing(graph, visits=run_visits(run), current=run.next_node) if graph else None,
        # A retry refused for a changed structure would only send the engineer back for this switch.
        "cancel_reason_max": CANCEL_REASON_MAX,
        "retry_needs_force": bool(graph) and run.status == RunStatus.FAILED
        and not versions_compatible(run.graph_version, graph.version),
    }
    return render(request, "audit/run.html", context)


@section_required("runs")
def run_status(request: Request, thread_id: str) -> HttpResponse:
    """The header fragment, polled by htmx until the run ends (a suspended run too: a reviewer's
    decision moves it). When the run comes to rest at another status or step than the page shows
    (`shown`), the page reloads so the timeline, graph and chart catch up."""
    header = run_header(_run_or_404(thread_id), viewer=request.user)
    shown = request.GET.get("shown")
    if request.htmx and shown and shown != header["shown"] and not header["live"]:
        return HttpResponseClientRefresh()
    return render(request, "audit/_run_header.html", header)


@section_required("runs")
def run_timeline_page(request: Request, thread_id: str) -> HttpResponse:
    run = _run_or_404(thread_id)
    try:
        after = int(request.GET.get("after", "-1"))
    except ValueError:
        after = -1
    context = {"run": run, "timeline": run_timeline(run, after=after)}
    return _page_or_fragment(request, "audit/run_timeline.html", "audit/_run_timeline_rows.html", context)


# --- checkpoints ----------------------------------------------------------------------------------
def _against(request: Request, step: int) -> int | None:
    raw = request.GET.get("against", "")
    if raw.strip().lstrip("-").isdigit():
        try:
            return int(raw)
        except ValueError:  # digits int() refuses ("²", more than 4,300 of them) were a 500: read as no number
            pass
    return step - 1 if step > 0 else None


@section_required("runs")
def checkpoint_detail(request: Request, thread_id: str, step: int) -> HttpResponse:
    run = _run_or_404(thread_id)
    cp = checkpoint_get(run, step)
    if cp is None:
        raise Http404(f"run {run.thread_id} has no checkpoint {step}")
    against = _against(request, step)
    context = {
        "run": run, "cp": cp, "state": state_at(run.pk, step), "journal": checkpoint_journal(run, cp),
        "steps": checkpoint_steps(run), "previous": step - 1 if step > 0 else None,
        **_diff_context(run, step, against),
    }
    return render(request, "audit/checkpoint.html", context)


def _diff_context(run: Run, step: int, against: int | None) -> dict[str, Any]:
    if against is None:
        return {"against": None, "changes": [], "diff_error": ""}
    try:
        return {"against": against, "changes": checkpoint_diff(run, step=step, against=against), "diff_error": ""}
    except LookupError:
        return {"against": against, "changes": [], "diff_error": f"There is no checkpoint {against} in this run."}


@section_required("runs")
def checkpoint_diff_fragment(request: Request, thread_id: str, step: int) -> HttpResponse:
    run = _run_or_404(thread_id)
    if checkpoint_get(run, step) is None:
        raise Http404(f"run {run.thread_id} has no checkpoint {step}")
    context = {"run": run, "step": step, "steps": checkpoint_steps(run), **_diff_context(run, step,
                                                                                        _against(request, step))}
    if request.htmx:
        return render(request, "audit/_checkpoint_diff.html", context)
    return redirect(f"{reverse('audit:checkpoint', args=[run.thread_id, step])}?against={context['against']}")


@section_required("runs")
def blob_download(request: Request, sha: str) -> FileResponse:
    try:
        return blob_attachment(sha)
    except BlobNotFound as exc:
        raise Http404(str(exc)) from None


# --- fork -----------------------------------------------------------------------------------------
def _graph_or_404(run: Run) -> Any:
    try:
        return run_workflow(run.workflow, run.thread_id)
    except WorkflowRetired as exc:
        raise Http404(f"{exc}: its runs can be read but not forked or replayed.") from None


@section_required("runs")
@require_http_methods(["GET", "POST"])
def fork_form(request: Request, thread_id: str, step: int) -> HttpResponse:
    run = _run_or_404(thread_id)
    cp = checkpoint_get(run, step)
    if cp is None:
        raise Http404(f"run {run.thread_id} has no checkpoint {step}")
    posted = request.POST if request.method == "POST" else None
    graph = _graph_or_404(run)
    fields = fork_fields(graph.state, state_at(run.pk, step), posted)
    # One key per rendered form, sent back with it: a form submitted twice makes one fork.
    form = {"mode": "recorded", "allow_effects": False, "override_node": "", "override_model": "",
            "override_prompt_version": "", "request_key": form_request_key()}
    errors: dict[str, str] = {}
    message = ""
    status = 422 if posted is not None else 200  # a form shown back was refused
    if posted is not None:
        form = {"mode": posted.get("mode", "recorded"), "allow_effects": posted.get("allow_effects") == "on",
                "override_node": posted.get("override_node", ""), "override_model": posted.get("override_model", ""),
                "override_prompt_version": posted.get("override_prompt_version", ""),
                "request_key": form_request_key(posted.get("request_key"))}
        edits, errors = parse_fork_form(posted, fields)
        overrides = None
        if form["override_node"]:
            overrides = {"nodes": {form["override_node"]: {"model": form["override_model"].strip(),
                                                           "prompt_version": form["override_prompt_version"].strip()}}}
        if errors:
            message = "Fix the highlighted fields: nothing was forked."
        else:
            try:
                fork = run_fork(run=run, at_step=step, edits=edits, mode=form["mode"], overrides=overrides,
                                allow_effects=form["allow_effects"], actor=request.user,
                                request_key=form["request_key"])
            except RequestKeyReused as exc:
                # The form came back (the browser's Back) with other settings: keep them, and make
                # the next submit a new request.
                form["request_key"] = form_request_key()
                message = f"{exc} The form below now carries a new key: submit it again to make another fork."
            except ForkError as exc:
                errors, message = exc.field_errors, str(exc)
                if isinstance(exc, ForkForbidden):
                    status = 403  # the role may not, whatever is typed: not a field to correct
            except RunError as exc:
                message = str(exc)
            else:
                changed = f" with {len(edits)} edited field{'s' if len(edits) != 1 else ''}" if edits else ""
                messages.success(request, f"Forked {run.thread_id} at step {step}{changed} ({form['mode']} mode).")
                return redirect("audit:run", fork.thread_id)
    for field in fields:
        field.error = errors.get(field.name, "")
    context = {"run": run, "cp": cp, "fields": fields, "form": form, "errors": errors, "message": message,
               "may_act": user_has_role(request.user, ADMIN),
               "nodes": [n for n, node in graph.nodes.items() if not node.is_gate], "family": fork_family(run)}
    return render(request, "audit/fork.html", context, status=status)


@section_required("runs")
def fork_tree(request: Request, thread_id: str) -> HttpResponse:
    run = _run_or_404(thread_id)
    return render(request, "audit/fork_family.html", {"run": run, "family": fork_family(run)})


@section_required("runs")
def compare(request: Request, thread_id: str) -> HttpResponse:
    fork = _run_or_404(thread_id)
    if fork.parent_id is None:
        messages.info(request, f"{fork.thread_id} is not a fork: fork it from one of its checkpoints to compare.")
        return redirect("audit:run", fork.thread_id)
    context = compare_runs(fork)
    context["poll_s"] = poll_seconds([fork.status])
    return _page_or_fragment(request, "audit/compare.html", "audit/_compare_rows.html", context)


# --- regression replay ----------------------------------------------------------------------------
@section_required("runs")
@require_http_methods(["GET", "POST"])
def regression(request: Request) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    filters = RunFilters.from_query(source)
    graphs = workflows()
    # A filter that does not parse is shown, and blocks the replay: ignoring it would replay runs
    # nobody chose (every run of the workflow instead of one department's).
    context: dict[str, Any] = {"filters": filters, "workflows": sorted(graphs), "errors": dict(filters.errors),
                               "message": "",
                               "node": source.get("node", ""), "model": source.get("model", ""),
                               "prompt_version": source.get("prompt_version", ""),
                               "limit": source.get("limit", "20"),
                               # One key per rendered form: a form submitted twice starts one batch.
                               "request_key": form_request_key(request.POST.get("request_key"))}
    graph = graphs.get(filters.workflow)
    context["nodes"] = [n for n, node in graph.nodes.items() if not node.is_gate] if graph else []
    # No runs are listed under a broken filter: the list would promise a replay the form then refuses.
    candidates = list(filters.queryset().exclude(status=RunStatus.RUNNING).order_by("-created_at")[:200]) \
        if filters.workflow and not filters.errors else []
    try:
        limit = int(context["limit"])
    except ValueError:
        limit = 0
    if not 1 <= limit <= 200:
        # Refused as text is: read as 1 or as 200, "At most 0" replayed a run and 500 fewer than asked.
        limit = 20
        context["errors"]["limit"] = "a number of runs from 1 to 200"
    candidates = candidates[:limit]
    context["candidates"] = candidates
    # How many the filters choose, beyond the `limit` listed: 20 shown of 20 or of 2,000 read alike.
    context["eligible"] = replay_eligible_count(filters) if candidates else {"n": 0, "shown": "0"}
    if request.method != "POST":
        return render(request, "audit/regression.html", context)
    if not graph:
        context["errors"]["workflow"] = "choose a workflow"
    elif context["node"] not in context["nodes"]:
        context["errors"]["node"] = "choose a node of this workflow"
    if not candidates and not context["errors"]:
        context["errors"]["workflow"] = "no runs match these filters"
    if not context["errors"]:
        try:
            batch, forks, skipped = replay_batch_start(
                runs=candidates, node=context["node"], actor=request.user, request_key=context["request_key"],
                node_settings={"model": context["model"].strip(), "prompt_version": context["prompt_version"].strip()})
        except RequestKeyReused as exc:
            context["request_key"] = form_request_key()
            context["message"] = f"{exc} The form now carries a new key: submit it again to start another batch."
        except ForkError as exc:
            context["errors"].update(exc.field_errors)
            context["message"] = str(exc)
        else:
            note = f" ({len(skipped)} skipped: {skipped[0][1]})" if skipped else ""
            messages.success(request, f"Replaying {len(forks)} runs from {context['node']}{note}.")
            return redirect("audit:regression_batch", batch)
    context["message"] = context["message"] or "Nothing was replayed: fix the highlighted fields."
    return render(request, "audit/regression.html", context, status=422)


@section_required("runs")
def regression_batch(request: Request, batch: str) -> HttpResponse:
    data = replay_batch_rows(batch)
    if not data["rows"]:
        raise Http404(f"no replay batch {batch!r}")
    context = {**data, "batch": batch, "chart": charts.cost_change_html(data["rows"])}
    return _page_or_fragment(request, "audit/regression_batch.html", "audit/_regression_rows.html", context)

