"""Start a run from the browser: what `POST /api/runs` and `runs start` do, for the roles the API lets
start runs (orchestrator.roles.RUN_STARTERS). The form calls run_start, which checks the input as it
does for the API; a refused start shows the form back as typed, saying what is wrong and where.

Each rendered form carries a request key, which run_start keeps with the run it starts: the form sent
twice (a double click, a resend) lands on the run the first send started instead of starting another.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.start_form import StartForm, box_of, read_input, read_labels, workflow_choices
from orchestrator.http import Request
from orchestrator.registry import UnknownWorkflow
from orchestrator.request_keys import form_request_key
from orchestrator.roles import RUN_STARTERS, role_required
from orchestrator.services import RunError, StartKeyReused, ThreadIdTaken, run_start


@role_required(*RUN_STARTERS)
@require_http_methods(["GET", "POST"])
def run_start_page(request: Request) -> HttpResponse:
    choices = workflow_choices()
    errors: dict[str, list[str]] = {}
    message, taken = "", ""
    if request.method == "GET":
        form = _initial_form(choices, request.GET.get("workflow", ""))
        if form.workflow != request.GET.get("workflow", form.workflow):
            message = (f"No workflow named {request.GET['workflow'][:100]!r} is registered; pick one of those below.")
        return _page(request, choices, form, errors, message, taken)
    form = StartForm.posted(request.POST, form_request_key(request.POST.get("request_key")))
    payload, input_error = read_input(form.input)
    labels, labels_error = read_labels(form.labels)
    errors = {box: [f"{said} {problem}"] for box, said, problem in
              (("input", "The input", input_error), ("labels", "Labels:", labels_error)) if problem}
    if not form.workflow:
        errors["workflow"] = ["Pick the workflow to start."]
    if errors:
        message = "Nothing was started: correct the marked boxes and start again."
    else:
        try:
            run = run_start(workflow=form.workflow, input=payload, thread_id=form.thread_id or None, labels=labels,
                            actor=request.user, request_key=form.request_key)
        except UnknownWorkflow as exc:
            errors["workflow"], message = ["This is not a registered workflow; pick one of those listed."], str(exc)
        except StartKeyReused as exc:
            form.request_key, message = form_request_key(), str(exc)  # the next send is a new start
        except ThreadIdTaken as exc:
            errors["thread_id"], message, taken = ["Another run has this thread id; pick another, or leave the box "
                                                   "empty for a new one."], str(exc), form.thread_id
        except RunError as exc:
            message = str(exc)
            for path, problem in exc.field_errors.items():  # each key path, as the API's `fields` name it
                errors.setdefault(box_of(path), []).append(f"{path}: {problem}")
        else:
            messages.success(request, f"Started {run.thread_id}: it is queued for a worker, and this page follows it.")
            return redirect("audit:run", run.thread_id)
    return _page(request, choices, form, errors, message, taken, status=422)


# The page's form sends the run's input, which may be as large as the API takes, from these roles
# (config.middleware).
run_start_page.takes_a_run_input = RUN_STARTERS  # type: ignore[attr-defined]


def _initial_form(choices: list[Any], asked: str) -> StartForm:
    """A new form: the workflow asked for (?workflow=), or the only one there is, with its example input."""
    by_name = {choice.name: choice for choice in choices}
    picked = by_name.get(asked) or (choices[0] if len(choices) == 1 else None)
    if picked is None:
        return StartForm(request_key=form_request_key())
    return StartForm(workflow=picked.name, input=picked.example, labels=picked.labels_example,
                     request_key=form_request_key())


def _page(request: Request, choices: list[Any], form: StartForm, errors: dict[str, list[str]], message: str,
          taken: str, status: int = 200) -> HttpResponse:
    context = {"choices": choices, "form": form, "errors": errors, "message": message, "taken": taken,
               "picked": next((choice for choice in choices if choice.name == form.workflow), None)}
    return render(request, "audit/run_start.html", context, status=status)
