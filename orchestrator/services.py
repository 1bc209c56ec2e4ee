"""Run services: start, cancel, retry. Interfaces (CLI, API, views) call these and nothing else."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import ValidationError

from audit.ledger import salted_digest
from audit.selectors_ledger import run_state_gone
from audit.services import SYSTEM_CHAIN, ledger_append
from orchestrator.blobs import BLOB_KEY
from orchestrator.budgets import budget_usage_ensure
from orchestrator.graph import START, GraphError, versions_compatible
from orchestrator.label_keys import label_keys_record
from orchestrator.models import Checkpoint, Run, RunStatus
from orchestrator.queue import run_enqueue
from orchestrator.registry import WorkflowRetired, run_workflow, workflow_get
from orchestrator.request_keys import request_key_refusal
from orchestrator.state import dumps, loads, unserializable_at
from orchestrator.state_edits import pointer_not_held_at
from orchestrator.value_errors import (
    HALF_A_PAIR,
    has_lone_surrogate,
    has_nul,
    keys_dropped,
    problems_line,
    schema_field_errors,
    schema_path_errors,
    text_at,
)
from orchestrator.workflow_versions import workflow_version_record


class RunError(ValueError):
    """A request about a run that cannot be carried out; the message says what to do instead.
    `field_errors` maps each argument at fault, by its key path ("input.topic", "thread_id"), to what is
    wrong with it, for a form that marks them; {} when no one argument is at fault. `api_fields` is the
    API's `fields`, each fault by its key path in the request body, where that is not the form's name:
    an edit's `edits.email.cc[1]`, which the form marks on its `email` box (the same as `field_errors`
    when not given)."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None, *,
                 api_fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
        self.api_fields = self.field_errors if api_fields is None else api_fields


class ThreadIdTaken(RunError):
    """A start under a thread id another run has: the API answers it 409 (a start sent twice) rather
    than 422, as a repeated fork request key is."""


class StartKeyReused(ThreadIdTaken):
    """A request key that already started a run, sent again with other input or labels (the start
    form came back with the browser's Back and was changed)."""


# What a thread id may be: checked when a run is started, and by run_get before it looks one up.
_THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_RESERVED_IDS = frozenset({"regression", "blobs", "new"})  # /runs/<these>/ are pages, not runs


# What to do with a document too big for a run's input (services and the API's 413 say the same).
LARGE_INPUT_ADVICE = ("pass a reference to the document (a URL, an id) and let the first node fetch it and keep "
                      "it with ctx.blobs.put().")


LABEL_KEY_MAX, LABEL_VALUE_MAX = 60, 200  # together within a label budget's "key=value" match (300)


def label_problem(key: str, value: str) -> str | None:
    """Why a label cannot be taken (no budget, chargeback or `key=value` filter could match it, or no
    column could store it), or None."""
    if not key:
        return "the key is empty; name what the label is, e.g. customer"
    if "=" in key:
        return 'the key holds "=", which "key=value" filters split on; use another character'
    if key != key.strip():
        return "the key has spaces at its ends, which filters cannot match; remove them"
    if len(key) > LABEL_KEY_MAX:
        return f"the key is over {LABEL_KEY_MAX} characters, more than a budget or filter can match; shorten it"
    if len(value) > LABEL_VALUE_MAX:
        return (f"the value is over {LABEL_VALUE_MAX} characters, more than a budget or filter can match; shorten it, "
                "or keep the text in the run's input")
    # Labels are a jsonb column, which refuses a NUL; no column takes half a surrogate pair.
    for part, text in (("key", key), ("value", value)):
        if has_nul(text):
            return f"the {part} holds a NUL character (\\u0000), which cannot be stored; remove it"
        if has_lone_surrogate(text):
            return f"the {part} {HALF_A_PAIR}; write whole characters"
    return None


def run_start(*, workflow: str, input: dict[str, Any] | None = None, thread_id: str | None = None,
              labels: dict[str, str] | None = None, actor: Any = None, request_key: str | None = None) -> Run:
    """Validate the input against the workflow's schema, write checkpoint 0, enqueue after commit.

    With a `request_key` (8-16 lowercase hex; the start page's form renders one) the start is idempotent:
    sent again with the same request it returns the run the first send made (a double click, a browser
    resend) instead of starting, and paying for, a second one. The key is kept in checkpoint 0's meta,
    and names the run (`<workflow>-<key's first 10>`) when no thread id is given."""
    graph = workflow_get(workflow)
    if (refusal := request_key_refusal(request_key)) is not None:
        raise RunError(refusal[0], {"request_key": refusal[1]})
    if thread_id is not None and not _THREAD_ID.fullmatch(thread_id):
        # It names the run in URLs, file names and exports: a "/" would make the run unreachable
        # by link, a leading "=" a spreadsheet formula, more than 200 characters a database error.
        raise RunError(f"thread id {thread_id[:60]!r}{'…' if len(thread_id) > 60 else ''} is not allowed: use 1 to "
                       "200 letters, digits, '.', '_', ':' or '-', starting with a letter or digit; or omit it.",
                       {"thread_id": "must be 1 to 200 letters, digits, '.', '_', ':' or '-', starting with a letter "
                                     "or digit"})
    if thread_id in _RESERVED_IDS:
        raise RunError(f"thread id {thread_id!r} names a page of its own (/runs/{thread_id}/); pick another or omit it.",
                       {"thread_id": f"names a page of its own (/runs/{thread_id}/); pick another"})
    if thread_id == SYSTEM_CHAIN:
        # A run's ledger chain is named after its thread id; "system" is the chain of entries
        # outside runs (exports, erasures, alerts).
        raise RunError(f"thread id {SYSTEM_CHAIN!r} is reserved for the ledger's system chain; pick another or omit it.",
                       {"thread_id": "is reserved for the ledger's system chain; pick another"})
    # None is no input; any other value that is not an object is refused, empty or not (`[]`, `0`,
    # `false` and `""` started a run as `{}` while `[1]` and `true` were refused).
    payload = {} if input is None else input
    if not isinstance(payload, dict):
        raise RunError("input must be a JSON object whose keys are state fields.",
                       {"input": "must be a JSON object whose keys are state fields"})
    unstorable = unserializable_at(payload, "input")
    if unstorable is not None:  # NaN or Infinity (which Python's JSON reads), or a value of no JSON type
        where, what = unstorable
        raise RunError(f"{where}: {what} is not a JSON value; send text, a finite number, true, false, null, a list "
                       "or an object. Nothing was started.", {where: f"{what} is not a JSON value"})
    halved = text_at(payload, "input", has_lone_surrogate)
    if halved is not None:  # the API's parser refuses one first; a page or a script reached the database with it
        raise RunError(f"{halved}: text {HALF_A_PAIR}; write whole characters, or a \\uXXXX\\uXXXX pair. Nothing "
                       "was started.", {halved: f"text {HALF_A_PAIR}"})
    nul = text_at(payload, "input", has_nul)
    if nul is not None:
        # The API's parser refuses one first; the start page and `runs start` are refused alike here. State is
        # JSON text, which holds it, but what people are shown of it does not: a gate's summary drops it (a
        # reviewer read another payee than the action was given), and jsonb columns refuse it.
        raise RunError(f"{nul} holds a NUL character (\\u0000), which a run's input may not hold: remove it and start "
                       "the run again. Nothing was started.",
                       {nul: "text may not contain the NUL character (\\u0000); remove it"})
    encoded_size = len(dumps(payload))
    if encoded_size > settings.GATEHOUSE_MAX_INPUT_BYTES:
        raise RunError(
            f"input is {encoded_size} bytes, above GATEHOUSE_MAX_INPUT_BYTES={settings.GATEHOUSE_MAX_INPUT_BYTES}; "
            + LARGE_INPUT_ADVICE,
            {"input": f"is {encoded_size:,} bytes, over the limit of {settings.GATEHOUSE_MAX_INPUT_BYTES:,}"},
        )
    typed = pointer_not_held_at(payload, "input")
    if typed is not None:
        # A run has no pointers yet: one in its input was typed, and would open whatever stored
        # document it names (another run's included) as this run's.
        raise RunError(f"{typed}: run input may not contain the key {BLOB_KEY!r}: it is reserved for the engine's "
                       "pointers to stored documents. Pass the document itself, or a reference the first node "
                       "fetches and keeps with ctx.blobs.put().",
                       {typed: "is reserved for the engine's pointers to stored documents; remove it"})
    try:
        model = graph.state.model_validate(payload)
    except ValidationError as exc:
        # With the keys it would have dropped: a misspelt "tpoic" is named beside "topic: is required".
        problems = {**schema_field_errors(exc), **keys_dropped(payload, graph.state, f"workflow {workflow!r}")}
        raise RunError(f"the input was not accepted: {problems_line(problems)}. Correct it and start the run "
                       "again.", {**schema_path_errors(exc, within=("input",)),
                                  **keys_dropped(payload, graph.state, f"workflow {workflow!r}", ("input",))}) from None
    dropped = keys_dropped(payload, model, f"workflow {workflow!r}")
    if dropped:
        raise RunError(f"the input was not accepted: {problems_line(dropped)}. Correct it and start the run again.",
                       keys_dropped(payload, model, f"workflow {workflow!r}", ("input",)))
    state = model.model_dump(mode="json")
    labels = {str(k): str(v) for k, v in (labels or {}).items()}
    unmatchable = {key: problem for key, value in labels.items() if (problem := label_problem(key, value))}
    if unmatchable:
        # Too long, and no budget, chargeback or key=value filter could ever match it; text no
        # column can store: each problem says which, so the lead names neither.
        raise RunError(f"these labels were not accepted: "
                       f"{problems_line({f'label {key!r}': p for key, p in unmatchable.items()})}. Correct "
                       "them and start the run again. Nothing was started.",
                       {f"labels.{key}": problem for key, problem in unmatchable.items()})
    missing = [key for key in graph.required_labels if not labels.get(key, "").strip()]
    if missing:
        example = ", ".join(f"{key}=…" for key in missing)
        raise RunError(f"workflow {workflow!r} needs the label{'s' if len(missing) > 1 else ''} "
                       f"{', '.join(map(repr, missing))} on every run (its budgets and chargeback count runs by "
                       f"them): start it with {example} (`--label` on the CLI, \"labels\" in the API). Nothing was "
                       "started.", {f"labels.{key}": f"is required on every run of workflow {workflow!r}"
                                    for key in missing})
    first = graph.edges.get(START) or ""
    if not first:
        try:
            first = graph.next_after(START, model)
        except GraphError as exc:  # the workflow's START router raised or named an unknown node
            raise RunError(str(exc)) from None
    # Ten characters after the workflow's name, which is at most 189 of the 200 a thread id may have.
    thread_id = thread_id or f"{workflow}-{(request_key or uuid.uuid4().hex)[:10]}"
    try:
        with transaction.atomic():
            run = Run.objects.create(
                thread_id=thread_id, workflow=workflow, graph_version=graph.version, labels=labels,
                next_node=first, created_by=actor if getattr(actor, "pk", None) else None,
            )
            Checkpoint.objects.create(
                run=run, step=0, node="", source="input", delta=dumps({"set": state}), snapshot=dumps(state),
                next_node=first, state_hash="", actor=run.created_by,
                meta=dumps({"request_key": request_key}) if request_key else "{}",
            )
            ledger_append(run=run, kind="run_started", step=0, actor=_name(actor), payload={
                "workflow": workflow, "version": graph.version, "input": salted_digest(state, run.ledger_salt),
                # Label values may name a customer: digests only, so erasure keeps the chain valid.
                "labels": {k: salted_digest(v, run.ledger_salt) for k, v in labels.items()},
            })
            run.save(update_fields=["ledger_len", "ledger_head"])
            budget_usage_ensure(run_id=run.pk, workflow=workflow, labels=labels)
            label_keys_record(labels)
            # Last: a new version takes the system chain's lock, held only until this commits.
            workflow_version_record(graph, actor=_name(actor))
            run_enqueue(run.pk)
    except IntegrityError:
        # The thread id is taken: by this request's first send (return its run), or by another run.
        made, first_input = _started_by(request_key, thread_id=thread_id, actor=actor)
        if made is None:
            raise ThreadIdTaken(f"thread id {thread_id!r} is already used by another run; pick another or omit it.") \
                from None
        if (made.workflow, made.labels, first_input) != (workflow, labels, dumps(state)):
            raise StartKeyReused(f"this form already started run {made.thread_id} with other input or labels; it "
                                 "now carries a new key: start again to start another run.",
                                 {"request_key": "already started another run"}) from None
        return made
    return run


def _started_by(request_key: str | None, *, thread_id: str, actor: Any) -> tuple[Run | None, str | None]:
    """(the run under `thread_id`, its input as checkpoint 0 stored it) if a send of this request
    (`request_key`, by `actor`) started it, else (None, None). Read after the unique index refused the
    insert: the first send had committed by then."""
    if request_key is None:
        return None, None
    made = Run.objects.filter(thread_id=thread_id).first()
    if made is None or made.created_by_id != getattr(actor, "pk", None):
        return None, None
    first = Checkpoint.objects.filter(run=made, step=0).values("meta", "snapshot").first() or {}
    if (loads(first.get("meta") or "{}") or {}).get("request_key") != request_key:
        return None, None
    return made, first["snapshot"]


def _name(actor: Any) -> str | None:
    return getattr(actor, "username", None) or (actor if isinstance(actor, str) else None)


def no_run_message(thread_id: str) -> str:
    """How the command line refuses a thread id no run has (the pages point to where they list runs)."""
    return f"no run with thread id {thread_id!r}; list runs with `python manage.py runs list`."


# A run's database id, which may stand for its thread id: ASCII digits, as many as a bigint has.
# str.isdigit() also took "²" (which int() refuses: a 500), "１" (run 1) and 5,000 digits (int() refuses them).
_DATABASE_ID = re.compile(r"[0-9]{1,18}")


def run_get(thread_id: str) -> Run:
    """The run with this thread id, or else with this database id: the one rule by which every interface
    (API endpoints, pages, CLI) finds a run. Text no thread id can be (the rule run_start holds new ones
    to) is no run and is not looked up: a NUL in it would be a 500, as PostgreSQL refuses one in a query."""
    run = Run.objects.filter(thread_id=thread_id).first() if _THREAD_ID.fullmatch(thread_id) else None
    if run is None and _DATABASE_ID.fullmatch(thread_id):
        run = Run.objects.filter(pk=int(thread_id)).first()
    if run is None:
        raise RunError(no_run_message(thread_id))
    return run


CANCEL_REASON_MAX = 2000  # characters of a cancellation's reason, on every surface


class CancelReasonTooLong(RunError):
    """Refused before anything is looked at: the API answers it 422, not 409."""


def run_cancel(*, run: Run, actor: Any = None, reason: str = "") -> Run:
    reason = reason.strip()
    if len(reason) > CANCEL_REASON_MAX:
        raise CancelReasonTooLong(f"the reason is {len(reason):,} characters, over the limit of {CANCEL_REASON_MAX:,}: "
                                  "shorten it and cancel again. Nothing was cancelled.",
                                  {"reason": f"must have at most {CANCEL_REASON_MAX:,} characters (it has "
                                             f"{len(reason):,})"})
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.is_terminal:
            raise RunError(f"run {locked.thread_id} is already {locked.status}; nothing to cancel.")
        # Bumping the token fences off a worker that may be mid-node: its commit will be rejected.
        locked.status = RunStatus.CANCELLED
        locked.lease_token += 1
        locked.lease_expires_at = None
        locked.finished_at = timezone.now()
        _count_visit_in_progress(locked)
        ledger_append(run=locked, kind="run_cancelled", step=locked.step, actor=_name(actor),
                      payload={"reason": salted_digest(reason, locked.ledger_salt) if reason else ""})
        locked.save()
        from review.models import ItemStatus, ReviewItem

        # Who withdrew them, for the item page ("cancelled by …"): the person, not "the system".
        ReviewItem.objects.filter(run=locked, status=ItemStatus.PENDING).update(
            status=ItemStatus.CANCELLED, decided_at=timezone.now(),
            decided_by=actor if getattr(actor, "pk", None) else None)
    return locked


# The journaled LLM calls of the visit in progress that the run's totals do not hold yet. A visit's
# calls reach the totals with its step commit, suspension or failure; a visit cut short by a cancel
# (its worker busy, or dead after a paid call) has neither, and never will, the run being ended.
# The visit in progress started at the run's step, or is the visit it keeps (visit_step) with the
# calls listed in spend_counted already counted (orchestrator.executor).
_UNCOUNTED_CALLS = """
SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cached_tokens), 0),
       coalesce(sum(cost), 0)
FROM orchestrator_journalentry
WHERE run_id = %(run)s AND kind = 'llm' AND (visit = %(step)s OR visit = %(visit)s)
  AND NOT (visit = %(visit)s AND call_index = ANY(%(counted)s))
"""


def _count_visit_in_progress(run: Run) -> None:
    """Add to the (locked) run's totals the calls of its visit in progress, for a cancel."""
    with connection.cursor() as cursor:
        cursor.execute(_UNCOUNTED_CALLS, {"run": run.pk, "step": run.step, "visit": run.visit_step,
                                          "counted": list(run.spend_counted or [])})
        calls, tokens_in, tokens_out, cached, cost = cursor.fetchone()
    run.llm_calls += calls
    run.input_tokens += tokens_in
    run.output_tokens += tokens_out
    run.cached_tokens += cached
    run.cost += cost


def run_retry(*, run: Run, actor: Any = None, force_version: bool = False) -> Run:
    """Re-queue a failed run from its last good checkpoint (the failed node runs again)."""
    try:
        graph = run_workflow(run.workflow, run.thread_id)
    except WorkflowRetired as exc:
        raise RunError(f"{exc}, so it cannot be retried.") from None
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.FAILED:
            raise RunError(f"run {locked.thread_id} is {locked.status}; only failed runs can be retried.")
        # Under the lock, as retention locks the runs it prunes: a prune that committed while this waited counts.
        if (gone := run_state_gone(locked.thread_id, to="retry")) is not None:
            raise RunError(gone)
        if not versions_compatible(locked.graph_version, graph.version) and not force_version:
            raise RunError(
                f"workflow {locked.workflow!r} changed incompatibly since this run started "
                f"({locked.graph_version} → {graph.version}); retry it on the new version on purpose (`runs retry "
                "--force-version`, the run page's “on the deployed version”, or force_version in the API)."
            )
        old_version = locked.graph_version
        locked.graph_version = graph.version
        locked.status = RunStatus.QUEUED
        locked.error = None
        locked.finished_at = None
        locked.updated_at = timezone.now()
        ledger_append(run=locked, kind="run_retried", step=locked.step, actor=_name(actor),
                      payload={"from_version": old_version, "to_version": graph.version, "forced": force_version})
        workflow_version_record(graph, actor=_name(actor))
        locked.save()
        run_enqueue(locked.pk)
    return locked


__all__ = ["RunError", "run_start", "run_get", "run_cancel", "run_retry", "GraphError"]
