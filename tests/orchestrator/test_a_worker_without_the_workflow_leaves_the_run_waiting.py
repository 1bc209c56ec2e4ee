"""A worker deployed without a run's workflow (its GATEHOUSE_WORKFLOWS lacks the module the web
process started the run with) does not fail the run and does not log a traceback per job: the run
waits, its page and `runs show` say which worker lacks which workflow and what to set, and a
worker that has the workflow finishes it."""

from __future__ import annotations

from orchestrator.models import Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start


def test_the_run_waits_says_why_and_finishes_on_a_worker_that_has_it(start_worker, wait_for, manage, client_for,
                                                                      engineer_user):
    run = run_start(workflow="document_pipeline", input={"pages": 3})
    lacking = start_worker(env={"GATEHOUSE_WORKFLOWS": "orchestrator.demo.email_approval"})

    wait_for(lambda: Run.objects.get(pk=run.pk).error, what="the worker to say it lacks the workflow")
    run.refresh_from_db()
    assert run.status == "running" and run.step == 0
    assert run.error["retrying"] is True
    assert "does not have workflow 'document_pipeline'" in run.error["message"]
    assert "GATEHOUSE_WORKFLOWS" in run.error["message"]
    shown = manage("runs", "show", run.thread_id).stdout
    assert "does not have workflow 'document_pipeline'" in shown
    page = client_for(engineer_user).get(f"/runs/{run.thread_id}/").content.decode()
    assert "Trying again at" in page and "Failed at" not in page
    assert "Traceback" not in lacking.output()

    lacking.kill()
    start_worker()
    wait_for(lambda: runs_reconcile() and Run.objects.get(pk=run.pk).status == "completed", timeout=30,
             what="a worker that has the workflow to finish the run")
    run.refresh_from_db()
    assert run.error is None
