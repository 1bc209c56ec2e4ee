"""Reads for the audit page, the decision log, the run badge and the PDF report."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Sum

from audit.date_range import date_range_parse, within_days
from audit.keyset import keyset_page
from audit.models import LedgerEntry, PrunedChain, Seal, VerificationRun
from orchestrator.distinct import column_values
from orchestrator.models import Checkpoint, Run, RunStatus, SuspendReason
from orchestrator.text_search import text_contains
from review.models import ItemStatus, ReviewDecision, ReviewItem

ERASED_KIND = "personal_data_erased"  # the run-chain entry audit.erasure appends


@contextlib.contextmanager
def ledger_snapshot() -> Iterator[None]:
    """Read the ledger as of one moment (REPEATABLE READ, read only), so a commit landing midway never
    shows up in half of what is read. Inside a caller's transaction, that transaction is the snapshot."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def run_erased(thread_id: str) -> bool:
    """Whether the run's personal data was erased: its state is gone, so it cannot run again.

    Erasure marks every entry of the run redacted, its first included, so one lookup on the (chain,
    seq_run) index answers; looking for the ERASED_KIND entry read the whole chain (10,000 entries
    for a 10,000-step run: it doubled the time of a fork of one, bench/timeline_10k.py)."""
    return LedgerEntry.objects.filter(chain=thread_id, seq_run=1, redacted=True).exists()


def run_pruned_note(thread_id: str) -> str | None:
    """Why the run cannot run again or be forked once retention pruned its history ("its history was pruned
    by retention on 2025-01-31"), or None while its history is kept."""
    pruned = PrunedChain.objects.filter(chain=thread_id).only("pruned_at").first()
    return None if pruned is None else f"its history was pruned by retention on {pruned.pruned_at:%Y-%m-%d}"


def run_state_gone(thread_id: str, *, to: str) -> str | None:
    """Why the run has no state to `to` from ("retry", "fork"), as the sentence that refuses it: its
    personal data erased, or its history pruned by retention; None while its state is there."""
    if run_erased(thread_id):
        return f"run {thread_id}'s personal data was erased: there is no state to {to} from. Start a new run instead."
    if (pruned := run_pruned_note(thread_id)) is not None:
        return f"run {thread_id}: {pruned}, so there is no state to {to} from. Start a new run instead."
    return None


DECISIONS = ("approve", "reject", "edit", "respond")
PAGE_SIZE = 50


@dataclass(frozen=True)
class LedgerStatus:
    """What the audit page's header and a run's badge say about the ledger."""

    state: str  # "verified", "sealed", "unsealed", "failed", "empty"
    label: str
    detail: str


def run_ledger_status(run: Run) -> LedgerStatus:
    """The run page's badge: verified (last check passed and its entries are sealed), or why not."""
    if not run.ledger_len:
        return LedgerStatus("empty", "No ledger entries", "This run has not written to the ledger yet.")
    last = VerificationRun.objects.filter(scope__in=["all", f"run {run.thread_id}"]).first()
    newest = Seal.objects.order_by("-seal_no").values_list("last_gseq", flat=True).first() or 0
    unsealed = LedgerEntry.objects.filter(chain=run.thread_id, gseq__gt=newest).count()
    elsewhere = ""
    if last is not None and not last.ok:
        if last.failed_runs is None or run.thread_id in last.failed_runs or last.scope != "all":
            return LedgerStatus("failed", "Verification failed", last.detail)
        # The whole ledger was checked and this run's entries and seals passed: say so, and that
        # the same check found a problem in another run.
        elsewhere = f" The same verification found a problem elsewhere in the ledger: {last.detail}"
    if last is None:
        return LedgerStatus("unsealed", "Not verified yet",
                            f"{run.ledger_len} entries; run `audit verify` or use Verify now on the audit page.")
    when = last.finished_at.strftime("%Y-%m-%d %H:%M UTC")
    # A verification vouches only for the entries there were when it started: a run decided or
    # resumed since has entries no one has checked, however sealed they are.
    checked_from = last.started_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    unchecked = LedgerEntry.objects.filter(chain=run.thread_id, at__gte=checked_from).count()
    if unchecked:
        pending = f"; {unsealed} await the next seal" if unsealed else ""
        return LedgerStatus("unsealed", "Newer entries not verified",
                            f"{run.ledger_len} entries; the last {unchecked} were written after the last "
                            f"verification ({when}){pending}. Verify now on the audit page checks them.{elsewhere}")
    if unsealed:
        return LedgerStatus("unsealed", "Verified, sealing pending",
                            f"{run.ledger_len} entries, chain verified {when}; {unsealed} newer entries await "
                            f"the next seal.{elsewhere}")
    return LedgerStatus("verified", "Ledger verified",
                        f"{run.ledger_len} entries, chain and seals verified {when}.{elsewhere}")


@dataclass
class AuditOverview:
    entries: int
    runs: int
    last_seal: Seal | None
    unsealed: int
    last_verification: VerificationRun | None
    workflows: list[str] = field(default_factory=list)


def audit_overview() -> AuditOverview:
    last_seal = Seal.objects.order_by("-seal_no").first()
    # The ledger's size is the last seal's tree size plus the tail written since: the tree counts
    # pruned entries too (their leaves stay, provable), and only the tail is counted, along the gseq
    # index, where counting every row took about a second per ten million entries on each load.
    tail = LedgerEntry.objects.filter(gseq__gt=last_seal.last_gseq) if last_seal else LedgerEntry.objects.all()
    unsealed = tail.count()
    return AuditOverview(
        entries=(last_seal.tree_size if last_seal else 0) + unsealed,
        # Every run has entries: its start (or its fork) is written with it. Counting the rows
        # alone reads the primary key's index, where a filter on ledger_len read every run.
        runs=Run.objects.count(),
        last_seal=last_seal,
        unsealed=unsealed,
        last_verification=VerificationRun.objects.order_by("-id").first(),
        workflows=ledger_workflows(),
    )


def ledger_workflows() -> list[str]:
    """The workflows of the runs the ledger holds, for the filter lists."""
    return column_values(Run, "workflow")


ENTRIES_PAGE = 25


def chain_known(chain: str) -> bool:
    """Whether `chain` names a run (or a pruned run's remaining chain): what the entries list may show."""
    return Run.objects.filter(thread_id=chain).exists() or LedgerEntry.objects.filter(chain=chain).exists()


def ledger_entries_page(*, chain: str = "", before: int | None = None,
                        limit: int = ENTRIES_PAGE) -> tuple[list[LedgerEntry], int | None]:
    """The audit page's entries, newest first, of one chain (a run's thread id, or "system") or all:
    (a page of them, the `before` of the next page or None). Every entry is a link or two away, so
    the proof of any entry can be downloaded from the page (it once showed the newest 20 and stopped)."""
    rows = LedgerEntry.objects.order_by("-gseq")
    if chain:
        rows = rows.filter(chain=chain)
    if before is not None:
        rows = rows.filter(gseq__lt=before)
    page = list(rows[: limit + 1])
    return page[:limit], (page[limit - 1].gseq if len(page) > limit else None)


# Where a person who exports or verifies finds a run's thread id: compliance cannot open the runs
# pages, but both of these are on the audit pages every exporter may open.
WHERE_THREAD_IDS_ARE = "the Run column of the decision log, or of the entries on the audit page"


def unknown_run_message(thread_id: str) -> str:
    """The refusal of a thread id no run has: where to copy a real one, and the runs whose id holds
    what was typed (a part of an id, a different case), if any."""
    typed = thread_id.strip()
    similar = list(Run.objects.filter(text_contains("orchestrator_run.thread_id", typed)).order_by("-created_at", "-id")
                   .values_list("thread_id", flat=True)[:3]) if typed else []
    hint = f"; the thread ids of these runs contain what you typed: {', '.join(similar)}" if similar else ""
    return f"no run {thread_id!r}: copy its thread id exactly as it appears in {WHERE_THREAD_IDS_ARE}{hint}"


def recent_thread_ids(limit: int = 50) -> list[str]:
    """The newest runs that have ledger entries, offered as suggestions by the export form's Run field."""
    return list(Run.objects.filter(ledger_len__gt=0).order_by("-created_at", "-id")
                .values_list("thread_id", flat=True)[:limit])


@dataclass
class DecisionFilters:
    actor: str = ""
    workflow: str = ""
    decision: str = ""
    since: date | None = None
    until: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, data: Any, *, actors: list[str], workflows: list[str]) -> DecisionFilters:
        """The filters of a query. Given the names the form offers (`actors`, `workflows`), a name
        outside them is an error rather than an empty page under a form that shows "anyone": the
        link or bookmark it came from names someone, or something, the log has never seen."""
        filters = cls(actor=data.get("actor", "").strip(), workflow=data.get("workflow", "").strip(),
                      decision=data.get("decision", "").strip())
        if filters.actor and filters.actor not in actors:
            filters.errors["actor"] = (f"no decision was recorded by {filters.actor!r}: choose someone from "
                                       "the list, or anyone")
        if filters.workflow and filters.workflow not in workflows:
            filters.errors["workflow"] = (f"no run of a workflow called {filters.workflow!r} is in the ledger: "
                                          "choose one from the list, or any")
        if filters.decision and filters.decision not in DECISIONS:
            filters.errors["decision"] = f"choose one of {', '.join(DECISIONS)}"
            filters.decision = ""
        # Reversed dates are an error, not "no decisions match": they match nothing, which is not news.
        dates = date_range_parse(data)
        filters.since, filters.until = dates.since, dates.until
        filters.errors.update(dates.errors)
        return filters

    @property
    def active(self) -> bool:
        return any([self.actor, self.workflow, self.decision, self.since, self.until])


def decision_log(filters: DecisionFilters, *, cursor: str = "", limit: int = PAGE_SIZE) -> tuple[list[ReviewDecision], str]:
    """Who decided what, when, with which edits: newest first, a page at a time (the rows, and the
    cursor of the next page or ""). The log once showed the newest 50 and stopped, with nothing to say
    that older decisions matched too."""
    rows = ReviewDecision.objects.select_related("actor", "item", "item__run")
    if filters.actor:
        rows = rows.filter(actor__username=filters.actor)
    if filters.workflow:
        rows = rows.filter(item__workflow=filters.workflow)
    if filters.decision:
        rows = rows.filter(decision=filters.decision)
    rows = rows.filter(within_days("created_at", filters.since, filters.until))
    return keyset_page(rows, cursor=cursor, limit=limit)


def decision_actors() -> list[str]:
    """The usernames of everyone who decided something, for the decision log's filter."""
    ids = column_values(ReviewDecision, "actor")
    return list(get_user_model().objects.filter(pk__in=ids).order_by("username").values_list("username", flat=True))


# --- the PDF report's reads -----------------------------------------------------------------------
@dataclass
class RunReport:
    run: Run
    entries: list[LedgerEntry]
    decisions: list[ReviewDecision]
    costs: list[dict[str, Any]]
    total_cost: Decimal
    total_tokens: int
    pruned: PrunedChain | None = None  # retention removed its history; the run row is a stub
    waiting_for: str | None = None  # the gate (its action, else its node) the run waits at for a decision


def run_report(thread_id: str) -> RunReport:
    run = Run.objects.select_related("created_by").get(thread_id=thread_id)
    entries = list(LedgerEntry.objects.filter(chain=thread_id).order_by("seq_run"))
    decisions = list(ReviewDecision.objects.filter(item__run=run).select_related("actor", "item")
                     .order_by("created_at", "id"))
    costs = list(Checkpoint.objects.filter(run=run, source="node").values("node")
                 .annotate(steps=Count("id"), tokens=Sum("input_tokens") + Sum("output_tokens"), cost=Sum("cost"))
                 .order_by("-cost", "node"))
    pruned = None if entries else PrunedChain.objects.filter(chain=thread_id).first()
    waiting_for = None
    if run.status == RunStatus.SUSPENDED and run.suspended_reason == SuspendReason.GATE:
        gate = (ReviewItem.objects.filter(run=run, status=ItemStatus.PENDING).order_by("-step")
                .values_list("action", "node").first())
        waiting_for = (gate[0] or gate[1]) if gate else ""
    return RunReport(run=run, entries=entries, decisions=decisions, costs=costs,
                     total_cost=run.cost, total_tokens=run.input_tokens + run.output_tokens, pruned=pruned,
                     waiting_for=waiting_for)
