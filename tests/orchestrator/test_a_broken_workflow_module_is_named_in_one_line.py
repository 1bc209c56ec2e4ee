"""A module in GATEHOUSE_WORKFLOWS that cannot be registered is named, with what is wrong and what to
do, in one line: by every command (exit 1, not a traceback through the registry) and on a run a worker
could not advance (it waits saying so, as for a workflow the worker lacks). Listing a module twice, or
one graph from two modules, registers it once; two different workflows under one name name both
modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.registry import WorkflowModuleError, workflows
from orchestrator.services import run_start
from tests.workers import ROOT

MODULES = "tests.orchestrator.workflow_modules"
DEMO = "orchestrator.demo.email_approval"


def _runs_workflows(worker_env: dict[str, str], modules: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "runs", "workflows"], cwd=ROOT, capture_output=True,
                          text=True, env={**worker_env, "GATEHOUSE_WORKFLOWS": modules}, timeout=60)


def test_a_misspelt_module_is_one_line_saying_what_to_check(worker_env):
    result = _runs_workflows(worker_env, f"{DEMO},{MODULES}.edge_to_nowher")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"CommandError: GATEHOUSE_WORKFLOWS names {MODULES}.edge_to_nowher, which cannot be imported (No module "
        f"named '{MODULES}.edge_to_nowher'): check the spelling, and that its folder (with an __init__.py) is under "
        "the repository root.")


def test_a_workflow_mistake_is_one_line_naming_the_module_and_the_node(worker_env):
    result = _runs_workflows(worker_env, f"{DEMO},{MODULES}.edge_to_nowhere")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"CommandError: workflow module {MODULES}.edge_to_nowhere: edge_to_nowhere: "
                                     "edge from 'write' to unknown node 'publsh'.")


def test_two_workflows_under_one_name_name_both_modules(workflow_modules):
    workflow_modules([DEMO, f"{MODULES}.second_email_approval"])
    with pytest.raises(WorkflowModuleError, match=f"workflow 'email_approval' is defined by both {DEMO} and "
                                                  f"{MODULES}.second_email_approval: give one of them another"):
        workflows()


@pytest.mark.parametrize("modules", [[DEMO, DEMO], [DEMO, f"{MODULES}.reexported_demo"]])
def test_one_workflow_reached_twice_registers_once(workflow_modules, modules):
    workflow_modules(modules)
    assert list(workflows()) == ["email_approval"]


def test_a_worker_with_a_broken_module_leaves_the_run_waiting_saying_why(transactional_db, workflow_modules):
    run = run_start(workflow="email_approval", input={"to": "a@example.com", "topic": "x"})
    workflow_modules([DEMO, f"{MODULES}.edge_to_nowhere"])
    assert run_advance(run.pk, worker="w-1") == "unknown_workflow"
    run = Run.objects.get(pk=run.pk)
    assert run.status == "running" and run.step == 0 and run.error["retrying"] is True
    assert run.error["message"].startswith(f"worker w-1 cannot load its workflows (workflow module "
                                           f"{MODULES}.edge_to_nowhere: edge_to_nowhere: edge from 'write' to unknown "
                                           "node 'publsh'.)")
