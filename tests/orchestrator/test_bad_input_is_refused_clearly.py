"""Bad input gets a clear error and loses nothing already committed."""

from __future__ import annotations

import json

import pytest

from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.registry import UnknownWorkflow
from orchestrator.services import RunError, run_start
from review.models import ReviewItem
from review.services import DecisionError, DecisionInput, review_decide


def test_an_unknown_workflow_is_named_with_the_known_ones(db):
    with pytest.raises(UnknownWorkflow, match="unknown workflow 'nope'; known workflows: document_pipeline"):
        run_start(workflow="nope")


def test_malformed_json_input_on_the_cli_says_how_to_quote_it(manage):
    result = manage("runs", "start", "email_approval", "--input", "{to: x}", check=False)
    assert result.returncode != 0
    assert "--input is not valid JSON" in result.stderr and "quote it" in result.stderr
    assert "Traceback" not in result.stderr


def test_input_that_violates_the_schema_names_each_field(db):
    with pytest.raises(RunError) as caught:
        run_start(workflow="email_approval", input={"to": "nobody", "topic": ""})
    message = str(caught.value)
    assert message.startswith("the input was not accepted: to: doesn't have the expected form")
    assert "topic: must not be empty" in message
    assert not Run.objects.exists()


def test_an_edit_that_violates_the_schema_is_refused_and_the_gate_stays_open(transactional_db, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="email_approval", input={"to": "a@example.com", "topic": "x"})
    run_advance(run.pk, worker="test")
    item = ReviewItem.objects.get(run=run)
    with pytest.raises(DecisionError) as caught:
        review_decide(item=item, actor=rita, decision=DecisionInput("edit", edits={"to": "not-an-email"}))
    assert "to" in caught.value.field_errors
    with pytest.raises(DecisionError, match="cannot be edited at this gate: model"):
        review_decide(item=item, actor=rita, decision=DecisionInput("edit", edits={"model": "gpt-4o"}))
    item.refresh_from_db()
    assert item.status == "pending"
    assert Run.objects.get(pk=run.pk).status == "suspended"


def test_a_non_serializable_node_output_names_node_and_key_path(transactional_db, test_graphs):
    run = run_start(workflow="bad_output")
    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert run.error["node"] == "bad"
    assert "at payload.items[1].when: date" in run.error["message"]
    assert "Return plain JSON values" in run.error["message"]
    # The last good checkpoint is intact and holds the NUL character unchanged.
    assert run.step == 1
    assert state_at(run.pk, 1)["note"] == "before\x00after"
    assert Checkpoint.objects.filter(run=run).count() == 2


def test_a_node_output_that_violates_the_schema_fails_the_run_naming_the_field(transactional_db, test_graphs):
    run = run_start(workflow="schema_violation")
    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert "node 'wrong' produced a state that violates the schema: count: must be a whole number" in (
        run.error["message"])
    # The refused value is left out: a node's output may be personal data, and this message is kept on
    # the run and written to the worker's log (a person's typed input is quoted back to them instead).
    assert "many" not in run.error["message"]


def test_a_broken_router_fails_the_run_naming_it_instead_of_retrying_for_ever(transactional_db, test_graphs):
    run = run_start(workflow="broken_routing")
    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.error["node"] == "count"
    assert "the router after 'count' raised KeyError" in run.error["message"]
    assert run.step == 0, "the node's output was not committed past a route nobody could compute"


def test_a_broken_gate_request_builder_fails_the_run_naming_it(transactional_db, test_graphs):
    run = run_start(workflow="broken_gate")
    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert "the gate request builder of 'send' raised KeyError: 'recipient'" in run.error["message"]
    assert not ReviewItem.objects.filter(run=run).exists()


def test_an_oversized_input_is_refused_before_anything_is_written(db, settings):
    settings.GATEHOUSE_MAX_INPUT_BYTES = 2048
    with pytest.raises(RunError, match="above GATEHOUSE_MAX_INPUT_BYTES"):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x" * 5000})
    assert not Run.objects.exists()


def test_a_reused_thread_id_is_refused(db):
    run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"}, thread_id="T-1")
    with pytest.raises(RunError, match="already used"):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"}, thread_id="T-1")


def test_the_ledger_system_chain_name_is_not_a_thread_id(db):
    # A run's ledger chain is its thread id; a run called "system" would write into the chain of
    # entries outside runs and break every later export, erasure and alert entry.
    with pytest.raises(RunError, match="reserved for the ledger's system chain"):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"}, thread_id="system")
    assert not Run.objects.filter(thread_id="system").exists()


def test_unknown_ids_on_the_cli_are_one_clear_line(manage):
    result = manage("runs", "show", "no-such-run", check=False)
    assert result.returncode != 0 and "no run with thread id 'no-such-run'" in result.stderr
    result = manage("runs", "resume", "no-such-run", "--approve", "--actor", "x", check=False)
    assert "no run with thread id" in result.stderr
    assert json.loads(manage("runs", "start", "research_agent", "--input", '{"question": "q"}').stdout
                      .strip().join('""'))
