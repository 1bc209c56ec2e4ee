"""`manage.py seed_demo_runs`: a few runs of each demo workflow in different states, so every
page has something to show on a fresh `make run`. Does nothing if runs already exist (--force)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from orchestrator.cli import OperatorCommand, development_only
from orchestrator.cost_admin import BudgetInput, budget_create
from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide

EMAILS = [
    ("legal", "acme", "ana@acme.example", "the renewal terms of the supply contract"),
    ("sales", "globex", "li@globex.example", "a 15% discount on the annual plan"),
    ("support", "initech", "sam@initech.example", "the outage on 14 March and our credit offer"),
    ("legal", "globex", "kim@globex.example", "the data processing addendum"),
    ("finance", "acme", "ap@acme.example", "an overdue invoice reminder"),
]


class Command(OperatorCommand):
    help = "Seed demo runs: completed, suspended at a gate, failed, looping, forked, stopped by a budget."
    # Each run is started and advanced on its own, so those seeded before Ctrl-C are whole.
    interrupted = "the demo runs seeded so far are kept; `seed_demo_runs --force` seeds a full set again"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="seed even if runs exist")

    def handle(self, *args: Any, **opts: Any) -> None:
        # Demo runs would land in real inboxes, budgets and the ledger of a deployment.
        development_only("seed_demo_runs")
        if Run.objects.exists() and not opts["force"]:
            self.stdout.write("demo runs: already seeded")
            return
        users = get_user_model().objects
        engineer = users.filter(username="engineer").first()
        reviewer = users.filter(username="reviewer").first()
        seeded = []

        def start(workflow: str, data: dict, labels: dict) -> Run:
            run = run_start(workflow=workflow, input=data, labels=labels, actor=engineer)
            run_advance(run.pk, worker="seed")
            run.refresh_from_db()
            seeded.append(run)
            return run

        for i, (dept, customer, to, topic) in enumerate(EMAILS):
            run = start("email_approval", {"to": to, "topic": topic}, {"department": dept, "customer": customer})
            if i < 2 and reviewer is not None:  # two already approved and sent
                item = ReviewItem.objects.get(run=run, status="pending")
                review_decide(item=item, actor=reviewer, decision=DecisionInput("approve"))
                run_advance(run.pk, worker="seed")
        for dept, customer in (("legal", "acme"), ("operations", "globex"), ("legal", "initech")):
            start("document_pipeline", {"pages": 80}, {"department": dept, "customer": customer})
        start("document_pipeline", {"pages": 20, "fail_at": "summarize", "fail_times": 5},
              {"department": "operations", "customer": "acme"})
        start("research_agent", {"question": "Which vendors changed their SLA this quarter?", "max_iterations": 3},
              {"department": "research", "customer": "internal"})
        start("research_agent", {"question": "Why did churn rise in March?", "mode": "stuck"},
              {"department": "research", "customer": "internal"})
        research = next(r for r in seeded if r.workflow == "research_agent" and r.status == "completed")
        self._fork(research, engineer, seeded)
        self._budget_stop(start)
        for run in seeded:
            run.refresh_from_db()
        summary = ", ".join(f"{status}: {sum(r.status == status for r in seeded)}"
                            for status in sorted({r.status for r in seeded}))
        self.stdout.write(f"demo runs: seeded {len(seeded)} ({summary})")

    @staticmethod
    def _fork(parent: Run, engineer: Any, seeded: list[Run]) -> None:
        """A fork of the completed research run with one more round, replayed from its recorded calls:
        the fork family and compare pages have a pair to show."""
        first_search = Checkpoint.objects.filter(run=parent, node="search").order_by("step").first()
        fork = run_fork(run=parent, at_step=first_search.step, edits={"max_iterations": 4}, mode="recorded",
                        actor=engineer)
        run_advance(fork.pk, worker="seed")
        seeded.append(fork)

    @staticmethod
    def _budget_stop(start: Callable[[str, dict, dict], Run]) -> None:
        """A research budget too small for a long question: its run stops before the call that would
        exceed it and waits on the Budgets page (and the inbox) for an admin to raise the cap or end it."""
        admin = get_user_model().objects.filter(username="admin").first()
        budget_create(data=BudgetInput(name="Research department (demo)", scope="label", match="department=research",
                                       period="monthly", cap=Decimal("0.0005"), soft_thresholds=[80]), actor=admin)
        start("research_agent", {"question": "Summarise every vendor contract signed since 2019.",
                                 "max_iterations": 12}, {"department": "research", "customer": "internal"})
