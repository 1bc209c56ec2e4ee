"""Configuration changes that matter are ledger entries in the system chain: a change of the
workflow version in use (how a gate policy changes, since gates are code; a revert too) and a
retention change, each with who made it and what it replaced."""

from __future__ import annotations

import json
import threading

from django.db import connection, transaction

from audit.models import LedgerEntry, RetentionPolicy
from audit.retention import retention_set
from audit.services import system_chain_lock
from orchestrator.executor import run_advance, run_claim
from orchestrator.models import Run
from orchestrator.registry import workflows
from orchestrator.services import run_start
from tests.ledger.conftest import LETTER

LETTERS = (LETTER, "tests.ledger.graphs_gated", "tests.ledger.graphs_reworded")  # one workflow's deploys


def _deploy(settings, module: str) -> None:
    settings.GATEHOUSE_WORKFLOWS = [w for w in settings.GATEHOUSE_WORKFLOWS if w not in LETTERS] + [module]
    workflows.cache_clear()


def _started(fn, errors: list[Exception]) -> threading.Thread:
    """fn() in a thread of its own, with its own database connection; what it raises goes to `errors`."""

    def run() -> None:
        try:
            fn()
        except Exception as exc:  # reported by the test, in its own thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _system(kind: str) -> list[tuple[str | None, dict]]:
    return [(actor, json.loads(payload)) for actor, payload in LedgerEntry.objects.filter(chain="system", kind=kind)
            .order_by("gseq").values_list("actor", "payload")]


def test_a_new_gate_policy_and_its_revert_are_in_the_ledger(letter_run, settings, engineer_user, audit_cli):
    first = letter_run()
    letter_run()  # the same version again: nothing new to record
    [(_, recorded)] = _system("workflow_version_changed")
    assert recorded == {"workflow": "ledger_letter", "version": first.graph_version, "previous": "",
                        "structure_changed": False, "gates": []}

    # A deploy puts a gate after the first step.
    _deploy(settings, "tests.ledger.graphs_gated")
    gated = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"}, actor=engineer_user)

    assert gated.graph_version != first.graph_version
    (actor, change) = _system("workflow_version_changed")[-1]
    assert actor == engineer_user.username
    assert change["version"] == gated.graph_version and change["previous"] == first.graph_version
    assert change["structure_changed"] is True
    assert change["gates"] == [{"node": "write_1", "stops": ["after"], "on_reject": "__end__", "on_respond": ""}]

    # Taking the gate away again is a change too, though that version has run before.
    _deploy(settings, LETTER)
    run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"}, actor=engineer_user)
    (_, revert) = _system("workflow_version_changed")[-1]
    assert (revert["version"], revert["previous"], revert["gates"]) == (first.graph_version, gated.graph_version, [])
    assert len(_system("workflow_version_changed")) == 3
    assert audit_cli("verify").returncode == 0


def test_a_code_change_met_by_a_run_in_flight_is_recorded_by_its_worker(ledger_workflows, settings,
                                                                         transactional_db, redis_conn):
    waiting = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    _deploy(settings, "tests.ledger.graphs_reworded")  # same structure, other code: the run goes on

    assert run_advance(waiting.pk, worker="test") == "completed"

    (actor, change) = _system("workflow_version_changed")[-1]
    assert actor is None and change["previous"] == waiting.graph_version
    assert change["version"] != waiting.graph_version and change["structure_changed"] is False
    assert len(_system("workflow_version_changed")) == 2


def test_a_worker_waiting_to_record_a_version_keeps_its_lease(ledger_workflows, settings, transactional_db,
                                                              redis_conn, wait_for):
    waiting = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    _deploy(settings, "tests.ledger.graphs_reworded")
    locked, release, outcome, errors = threading.Event(), threading.Event(), [], []

    def other_system_writer() -> None:  # e.g. an erasure in progress
        with transaction.atomic():
            system_chain_lock()
            locked.set()
            release.wait(60)

    holder = _started(other_system_writer, errors)
    assert locked.wait(30)
    advancing = _started(lambda: outcome.append(run_advance(waiting.pk, worker="w1", lease_seconds=2)), errors)
    claimed = wait_for(lambda: Run.objects.filter(pk=waiting.pk, lease_owner="w1").values_list(
        "lease_expires_at", flat=True).first(), what="the worker to claim the run")
    # Blocked behind the other writer, the worker's heartbeat still extends its lease...
    wait_for(lambda: Run.objects.get(pk=waiting.pk).lease_expires_at > claimed, timeout=10,
             what="the heartbeat to extend the lease")
    # ...so no second worker can take the run over meanwhile.
    assert run_claim(waiting.pk, "w2", 30) is None
    release.set()
    holder.join(30)
    advancing.join(60)
    assert not errors and outcome == ["completed"]


def test_a_retention_change_is_in_the_ledger_with_the_admin_who_made_it(ledger_workflows, audit_cli, admin_user,
                                                                         engineer_user, transactional_db):
    refused = audit_cli("retention", "ledger_letter", "90", "--allow-below-minimum", "--actor", engineer_user.username)
    assert refused.returncode != 0 and "needs the admin role" in refused.stderr

    shortened = audit_cli("retention", "ledger_letter", "90", "--allow-below-minimum", "--actor", admin_user.username)
    assert shortened.returncode == 0, shortened.stderr
    again = audit_cli("retention", "ledger_letter", "90", "--allow-below-minimum", "--actor", admin_user.username)
    assert again.returncode == 0, again.stderr

    assert _system("retention_changed") == [
        (admin_user.username, {"workflow": "ledger_letter", "days": 90, "previous_days": 400, "below_minimum": True})]


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # This test database's sessions only: the other test worker shares the server.
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                       " WHERE NOT l.granted AND a.datname = current_database()")
        return cursor.fetchone()[0]


def test_two_retention_changes_at_once_are_recorded_in_order(ledger_workflows, transactional_db, wait_for):
    first_made, let_it_commit, errors = threading.Event(), threading.Event(), []

    def shorten() -> None:
        with transaction.atomic():
            retention_set(workflow="ledger_letter", days=90, allow_below_minimum=True, actor="ana")
            first_made.set()
            let_it_commit.wait(30)

    first = _started(shorten, errors)
    assert first_made.wait(30)
    second = _started(lambda: retention_set(workflow="ledger_letter", days=400, actor="bob"), errors)
    wait_for(lambda: _waiting_on_a_lock() > 0, what="the second change to queue behind the first")
    let_it_commit.set()
    first.join(30)
    second.join(30)

    assert not errors
    assert RetentionPolicy.objects.get(workflow="ledger_letter").days == 400
    assert [(actor, change["days"], change["previous_days"]) for actor, change in _system("retention_changed")] == [
        ("ana", 90, 400), ("bob", 400, 90)]
