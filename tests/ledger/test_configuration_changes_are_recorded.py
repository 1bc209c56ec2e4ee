"""Configuration changes that matter are ledger entries in the system chain: a workflow version's
first run (the only way a gate policy changes, since gates are code) and a retention change."""

from __future__ import annotations

import json

from audit.models import LedgerEntry
from orchestrator.executor import run_advance
from orchestrator.registry import workflows
from orchestrator.services import run_start
from tests.ledger.conftest import LETTER


def _deploy(settings, module: str) -> None:
    settings.GATEHOUSE_WORKFLOWS = [w for w in settings.GATEHOUSE_WORKFLOWS if w != LETTER] + [module]
    workflows.cache_clear()


def _system(kind: str) -> list[tuple[str | None, dict]]:
    return [(actor, json.loads(payload)) for actor, payload in LedgerEntry.objects.filter(chain="system", kind=kind)
            .order_by("gseq").values_list("actor", "payload")]


def test_a_new_gate_policy_is_in_the_ledger_when_its_version_first_runs(letter_run, settings, engineer_user,
                                                                        audit_cli):
    first = letter_run()
    letter_run()  # the same version again: nothing new to record
    [(_, recorded)] = _system("workflow_version_first_run")
    assert recorded == {"workflow": "ledger_letter", "version": first.graph_version, "previous": "",
                        "structure_changed": False, "gates": []}

    # A deploy puts a gate after the first step.
    _deploy(settings, "tests.ledger.graphs_gated")
    gated = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"}, actor=engineer_user)

    assert gated.graph_version != first.graph_version
    (actor, change) = _system("workflow_version_first_run")[-1]
    assert actor == engineer_user.username
    assert change["version"] == gated.graph_version and change["previous"] == first.graph_version
    assert change["structure_changed"] is True
    assert change["gates"] == [{"node": "write_1", "stops": ["after"], "on_reject": "__end__", "on_respond": ""}]
    assert audit_cli("verify").returncode == 0


def test_a_code_change_met_by_a_run_in_flight_is_recorded_by_its_worker(ledger_workflows, settings,
                                                                         transactional_db, redis_conn):
    waiting = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    _deploy(settings, "tests.ledger.graphs_reworded")  # same structure, other code: the run goes on

    assert run_advance(waiting.pk, worker="test") == "completed"

    (actor, change) = _system("workflow_version_first_run")[-1]
    assert actor is None and change["previous"] == waiting.graph_version
    assert change["version"] != waiting.graph_version and change["structure_changed"] is False
    assert len(_system("workflow_version_first_run")) == 2


def test_a_retention_change_is_in_the_ledger_with_who_made_it(ledger_workflows, audit_cli, transactional_db):
    shortened = audit_cli("retention", "ledger_letter", "90", "--allow-below-minimum", "--actor", "admin")
    assert shortened.returncode == 0, shortened.stderr
    again = audit_cli("retention", "ledger_letter", "90", "--allow-below-minimum", "--actor", "admin")
    assert again.returncode == 0, again.stderr

    assert _system("retention_changed") == [
        ("admin", {"workflow": "ledger_letter", "days": 90, "previous_days": 400, "below_minimum": True})]
