"""`python manage.py runs …`: the operator interface to runs (names are a documented contract)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from orchestrator.cli import (
    OperatorCommand,
    clip,
    count_arg,
    label_arg,
    printable,
    step_arg,
    table,
    user_named,
    user_with_role,
)
from orchestrator.hidden_text import is_hidden
from orchestrator.models import Run, RunStatus
from orchestrator.registry import UnknownWorkflow, workflows
from orchestrator.roles import ADMIN, ENGINEER
from orchestrator.selectors import (
    HistoryPruned,
    StepOutOfRange,
    run_checkpoints,
    run_diff,
    run_state,
    run_summary,
)
from orchestrator.services import RunError, run_cancel, run_get, run_retry, run_start
from orchestrator.value_errors import (
    HALF_A_PAIR,
    JsonUnreadable,
    has_lone_surrogate,
    json_problem,
    json_value_read,
    text_at,
)
from review.permissions import decide_refusal, may_decide
from review.selectors import pending_item_for_run
from review.services import DecisionInput, review_decide

# What a JSON flag's value looks like, for the hint when one is not JSON: the flag that was given, with
# a value of its own kind (an --override names nodes, the others state fields).
JSON_EXAMPLES = {"--override": '{"nodes": {"summarize": {"model": "demo-large"}}}'}
STATE_EXAMPLE = '{"topic": "hello"}'
DIFF_VALUE_WIDTH = 120  # characters of a value `runs diff` shows; --json has them whole


def _parse_json(text: str, flag: str) -> Any:
    try:
        value = json_value_read(text)
    except JsonUnreadable as exc:
        raise CommandError(f"{flag} {exc}. Nothing was done.") from None
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{flag} is not valid JSON ({json_problem(exc)}); "
            f"quote it for the shell, e.g. {flag} '{JSON_EXAMPLES.get(flag, STATE_EXAMPLE)}'."
        ) from None
    where = text_at(value, "", has_lone_surrogate)
    if where is not None:
        # A \ud800 escape with no partner is not a character: no query, digest or JSON column takes it (a
        # UnicodeEncodeError traceback from `runs fork --override`).
        raise CommandError(f"{flag}: {where or 'the value'} {HALF_A_PAIR}; write whole characters, or a "
                           "\\uXXXX\\uXXXX pair. Nothing was done.")
    return value


def _terminal_json(value: Any, *, indent: int | None = 2) -> str:
    """JSON for the operator's terminal: keys sorted (two reads of one state print alike), text as
    written (not \\u-escaped), but with every hidden character (orchestrator.hidden_text, the web pages'
    definition too) escaped here, as JSON: json escapes only those below U+0020, and a value holding
    U+009B (a terminal's CSI) or U+202E (right-to-left override) must not drive or reorder what the
    operator reads."""
    text = json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)
    # Outside strings the layout has only spaces and newlines; inside them json escaped newlines and tabs.
    return "".join(json.dumps(c)[1:-1] if is_hidden(c) else c for c in text)


class Command(OperatorCommand):
    help = "Start, inspect, resume, cancel and retry workflow runs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        start = sub.add_parser("start", help="start a run; prints its thread id")
        start.add_argument("workflow")
        start.add_argument("--thread-id")
        start.add_argument("--input", default="{}", help="JSON object of initial state fields")
        start.add_argument("--label", action="append", type=label_arg, default=[], help="KEY=VALUE (repeatable)")
        start.add_argument("--actor", help="username recorded as the run's starter")

        for name, what in (("show", "a run's status, current node, step, pending gate, tokens, cost and fork lineage"),
                           ("history", "a run's checkpoints: step, node, source, time and actor")):
            p = sub.add_parser(name, help=what)
            p.add_argument("id", help="thread id (or database id)")
            p.add_argument("--json", action="store_true", help="print JSON instead of a table")

        state = sub.add_parser("state", help="a run's state as JSON, at its latest checkpoint or at --step")
        state.add_argument("id", help="thread id (or database id)")
        state.add_argument("--step", type=step_arg, metavar="N",
                           help="the checkpoint to read (0 is the input; see `runs history`); default: the latest")

        resume = sub.add_parser("resume", help="decide the pending gate of a suspended run")
        resume.add_argument("id")
        group = resume.add_mutually_exclusive_group(required=True)
        group.add_argument("--approve", action="store_true")
        group.add_argument("--reject", action="store_true")
        group.add_argument("--edit", metavar="JSON")
        group.add_argument("--respond", metavar="TEXT")
        resume.add_argument("--reason", default="", help="why, with --reject (required there; recorded)")
        self._resume_parser = resume  # a --reason without --reject, or --reject without it, is a usage error
        resume.add_argument("--actor", required=True)
        resume.add_argument("--force-version", action="store_true",
                            help="decide though the workflow changed incompatibly since the run started")

        cancel = sub.add_parser("cancel", help="cancel a run that has not finished")
        cancel.add_argument("id")
        cancel.add_argument("--reason", default="", help="why (recorded in the ledger as a digest)")
        cancel.add_argument("--actor", required=True, help="username of the engineer or admin cancelling it")
        retry = sub.add_parser("retry", help="queue a failed run again from its last checkpoint")
        retry.add_argument("id")
        retry.add_argument("--actor", required=True, help="username of the engineer or admin retrying it")
        retry.add_argument("--force-version", action="store_true",
                           help="retry on the deployed workflow version though it changed incompatibly since")
        sub.add_parser("workflows", help="the registered workflows: version, nodes, description")
        listing = sub.add_parser("list", help="the newest runs: thread id, workflow, status, step")
        listing.add_argument("--status", choices=RunStatus.values, help="only runs in this status")
        listing.add_argument("--limit", type=count_arg, default=20, help="how many runs, newest first (≥ 1)")

        fork = sub.add_parser("fork", help="fork a run at a checkpoint; prints the new run's thread id")
        fork.add_argument("id")
        fork.add_argument("--at", type=step_arg, required=True, metavar="STEP")
        fork.add_argument("--set", default="{}", metavar="JSON", help="JSON object of state fields to change")
        fork.add_argument("--mode", choices=["live", "recorded"], default="recorded")
        fork.add_argument("--override", metavar="JSON", help='e.g. \'{"nodes": {"summarize": {"model": "demo-large"}}}\'')
        fork.add_argument("--allow-effects", action="store_true", help="perform side effects for real")
        fork.add_argument("--actor", required=True,
                          help="username of the engineer or admin making the fork (recorded as its author)")
        diff = sub.add_parser("diff", help="state diff between two checkpoints of a run")
        diff.add_argument("id")
        diff.add_argument("--from", dest="from_step", type=step_arg, required=True, metavar="STEP")
        diff.add_argument("--to", dest="to_step", type=step_arg, required=True, metavar="STEP")
        diff.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except (RunError, UnknownWorkflow) as exc:
            raise CommandError(str(exc)) from None

    def _start(self, opts: dict[str, Any]) -> None:
        payload = _parse_json(opts["input"], "--input")
        if not isinstance(payload, dict):  # run_start reads None as no input: `--input null` would be `{}`
            raise CommandError(f"--input must be a JSON object whose keys are state fields, e.g. --input "
                               f"'{STATE_EXAMPLE}'. Nothing was done.")
        run = run_start(workflow=opts["workflow"], input=payload, thread_id=opts.get("thread_id"),
                        labels=dict(opts["label"]), actor=user_named(opts["actor"]) if opts.get("actor") else None)
        self.stdout.write(run.thread_id)

    def _show(self, opts: dict[str, Any]) -> None:
        summary = run_summary(run_get(opts["id"]))
        if opts["json"]:
            self.stdout.write(json.dumps(summary, indent=2, default=str))
            return
        width = max(len(key) for key in summary) + 1  # the colon
        for key, value in summary.items():
            if key == "pending_gate" and value:
                value = f"{value['action']} (item {value['item']}, {value['status']})"
            elif isinstance(value, dict):  # labels, a fork's overrides: as JSON, as they are given
                value = _terminal_json(value, indent=None) if value else ""
            shown = printable(str(value)) if value not in (None, "") else "-"
            self.stdout.write(f"{key + ':':>{width}} {shown}")

    def _state(self, opts: dict[str, Any]) -> None:
        run = run_get(opts["id"])
        try:
            shown = run_state(run, opts["step"])
        except StepOutOfRange as exc:
            raise CommandError(f"--step {exc.step} is not a checkpoint of run {exc.thread_id}: it has checkpoints "
                               f"0 to {exc.latest}; pick --step in that range, or leave it out for the latest.") \
                from None
        except HistoryPruned as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_terminal_json(shown["state"]))

    def _history(self, opts: dict[str, Any]) -> None:
        rows = run_checkpoints(run_get(opts["id"]))
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2, default=str))
            return
        for line in table(("step", "node", "source", "time", "actor"),
                          [(r["step"], r["node"], r["source"], r["created_at"], r["actor"]) for r in rows], right={0}):
            self.stdout.write(line)

    def _resume(self, opts: dict[str, Any]) -> None:
        if opts["reject"] and not opts["reason"].strip():
            self._resume_parser.error("--reject needs --reason TEXT: the reason is recorded and reaches the workflow")
        if opts["reason"] and not opts["reject"]:
            # Only a rejection carries a reason: it was dropped without a word from an approval or an edit.
            self._resume_parser.error("--reason goes with --reject only (a message for the workflow is --respond TEXT)")
        run = run_get(opts["id"])
        # What was typed first: a malformed --edit is refused the same whatever state the run is in.
        if opts["approve"]:
            decision = DecisionInput("approve")
        elif opts["reject"]:
            decision = DecisionInput("reject", reason=opts["reason"])
        elif opts["edit"] is not None:
            decision = DecisionInput("edit", edits=_parse_json(opts["edit"], "--edit"))
        else:
            decision = DecisionInput("respond", response=opts["respond"])
        actor = user_named(opts["actor"])
        item = pending_item_for_run(run)
        if not may_decide(actor, item):
            raise CommandError(decide_refusal(actor, item))
        item = review_decide(item=item, actor=actor, decision=decision, force_version=opts["force_version"])
        run.refresh_from_db()
        if item.status == "pending":
            self.stdout.write(f"recorded: {item.approvals} of {item.required_approvals} approvals")
        else:
            self.stdout.write(f"{item.decision} by {opts['actor']}; run {run.thread_id} is {run.status}")

    def _cancel(self, opts: dict[str, Any]) -> None:
        # As the run page and the API: someone who may, recorded in the ledger, never nobody.
        actor = user_with_role(opts["actor"], ENGINEER, ADMIN, needed_for="cancelling a run", flag="--actor")
        run = run_cancel(run=run_get(opts["id"]), actor=actor, reason=opts["reason"])
        self.stdout.write(f"run {run.thread_id} cancelled")

    def _retry(self, opts: dict[str, Any]) -> None:
        actor = user_with_role(opts["actor"], ENGINEER, ADMIN, needed_for="retrying a run", flag="--actor")
        run = run_retry(run=run_get(opts["id"]), actor=actor, force_version=opts["force_version"])
        self.stdout.write(f"run {run.thread_id} queued again from step {run.step}")

    def _fork(self, opts: dict[str, Any]) -> None:
        from orchestrator.forks import run_fork

        run = run_get(opts["id"])
        edits = _parse_json(opts["set"], "--set")
        overrides = _parse_json(opts["override"], "--override") if opts.get("override") else None
        # Who forked is recorded on the fork's first checkpoint and in both runs' ledger chains, and
        # separation of duties reads it: never nobody, and someone who may fork (as on the API and pages).
        actor = user_with_role(opts["actor"], ENGINEER, ADMIN, needed_for="forking", flag="--actor")
        fork = run_fork(run=run, at_step=opts["at"], edits=edits or None, mode=opts["mode"],
                        overrides=overrides, allow_effects=opts["allow_effects"], actor=actor)
        self.stdout.write(fork.thread_id)

    def _diff(self, opts: dict[str, Any]) -> None:
        run = run_get(opts["id"])
        try:
            changes = run_diff(run, opts["from_step"], opts["to_step"])
        except StepOutOfRange as exc:
            raise CommandError(f"run {exc.thread_id} has checkpoints 0 to {exc.latest}; "
                               f"pick --from and --to in that range.") from None
        except HistoryPruned as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(_terminal_json([c.to_json() for c in changes]))
            return
        if not changes:
            self.stdout.write(f"no change between step {opts['from_step']} and step {opts['to_step']}")
        for change in changes:
            before = "" if change.kind == "added" else self._value(change.before)
            after = "" if change.kind == "removed" else self._value(change.after)
            self.stdout.write(f"{change.kind:<8} {printable(change.path):<30} {before} -> {after}".rstrip(" ->"))

    @staticmethod
    def _value(value: Any) -> str:
        return printable(clip(json.dumps(value, ensure_ascii=False), DIFF_VALUE_WIDTH))

    def _workflows(self, opts: dict[str, Any]) -> None:
        rows = [(name, graph.version, len(graph.nodes), graph.description) for name, graph in sorted(workflows().items())]
        for line in table(("workflow", "version", "nodes", "description"), rows, right={2}):
            self.stdout.write(line)

    def _list(self, opts: dict[str, Any]) -> None:
        runs = Run.objects.order_by("-created_at", "-id")
        if opts.get("status"):
            runs = runs.filter(status=opts["status"])
        # At most what PostgreSQL's LIMIT takes (a bigint): a larger --limit was a DataError traceback, and lists
        # every run as this does.
        rows = [(r.thread_id, r.workflow, r.status, r.step) for r in runs[: min(opts["limit"], 2**63 - 1)]]
        if not rows:
            self.stdout.write(f"no runs match (status {opts['status']}); leave out --status to list every run"
                              if opts.get("status") else
                              "no runs yet; start one with `python manage.py runs start WORKFLOW`")
            return
        for line in table(("thread id", "workflow", "status", "step"), rows, right={3}):
            self.stdout.write(line)
