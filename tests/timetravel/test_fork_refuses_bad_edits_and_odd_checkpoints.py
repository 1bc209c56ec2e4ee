"""Fork requests that cannot work are refused with the field and the reason; nothing is created."""

from __future__ import annotations

import pytest

from orchestrator.forks import ForkError, run_fork
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ItemStatus, ReviewItem
from review.services import DecisionInput, review_decide


def test_an_edit_that_breaks_the_schema_names_the_field_and_the_reason(pipeline_run, engineer_user):
    runs_before = Run.objects.count()

    with pytest.raises(ForkError) as refused:
        run_fork(run=pipeline_run, at_step=3, edits={"pages": "many"}, mode="recorded", actor=engineer_user)

    assert "pages" in refused.value.field_errors
    assert refused.value.field_errors["pages"] == "must be a whole number, not 'many'"
    assert "pages" in str(refused.value)
    assert Run.objects.count() == runs_before


def test_an_unknown_field_is_refused(pipeline_run, engineer_user):
    with pytest.raises(ForkError) as refused:
        run_fork(run=pipeline_run, at_step=3, edits={"colour": "blue"}, mode="live", actor=engineer_user)
    assert refused.value.field_errors == {"colour": "not a field of DocumentState"}


def test_a_valid_edit_is_kept(pipeline_run, engineer_user):
    from orchestrator.history import state_at

    fork = run_fork(run=pipeline_run, at_step=3, edits={"pages": 12}, mode="live", actor=engineer_user)
    assert state_at(fork.pk, 0)["pages"] == 12


def test_the_last_checkpoint_of_a_finished_run_cannot_be_forked(pipeline_run, engineer_user):
    with pytest.raises(ForkError, match="nothing runs after it"):
        run_fork(run=pipeline_run, at_step=pipeline_run.step, mode="recorded", actor=engineer_user)


def test_a_missing_checkpoint_and_a_bad_mode_are_refused(pipeline_run, engineer_user):
    with pytest.raises(ForkError, match="no checkpoint at step 99"):
        run_fork(run=pipeline_run, at_step=99, mode="recorded", actor=engineer_user)
    with pytest.raises(ForkError, match="live or recorded"):
        run_fork(run=pipeline_run, at_step=1, mode="replay", actor=engineer_user)


def test_a_run_a_worker_is_advancing_cannot_be_forked(pipeline_run, engineer_user):
    Run.objects.filter(pk=pipeline_run.pk).update(status=RunStatus.RUNNING)
    with pytest.raises(ForkError, match="is running"):
        run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user)


def test_an_override_for_an_unknown_node_is_refused(pipeline_run, engineer_user):
    with pytest.raises(ForkError, match="unknown node"):
        run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user,
                 overrides={"nodes": {"summarise": {"model": "demo-large"}}})


@pytest.mark.parametrize(("overrides", "said"), [
    # A typo would make a fork that silently replays unchanged.
    ({"nodes": {"summarize": {"modle": "demo-large"}}}, "'modle' is not one of its settings"),
    # The engine could not use these: the fork would fail on every retry.
    ({"step_cap": "ten"}, "step_cap must be a whole number"),
    ({"step_cap": 0}, "step_cap must be a whole number"),
    # The loop guard stays a guard: a fork may not lift it out of reach (200 x 10 here).
    ({"step_cap": 2001}, "from 1 to 2,000"),
    ({"stepcap": 10}, "unknown override 'stepcap'"),
    ({"nodes": {"summarize": {"model": float("nan")}}}, "override for node 'summarize'"),
])
def test_overrides_the_engine_would_ignore_or_choke_on_are_refused(pipeline_run, engineer_user, overrides, said):
    forks_before = Run.objects.filter(parent=pipeline_run).count()
    with pytest.raises(ForkError, match=said):
        run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user, overrides=overrides)
    assert Run.objects.filter(parent=pipeline_run).count() == forks_before


def test_a_valid_step_cap_override_is_kept(pipeline_run, engineer_user):
    fork = run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user,
                    overrides={"step_cap": 50, "nodes": {"summarize": {"model": "demo-large"}}})
    assert fork.overrides == {"step_cap": 50, "nodes": {"summarize": {"model": "demo-large"}}}


@pytest.fixture
def email_run(transactional_db, engineer_user, advance_run):
    run = run_start(workflow="email_approval", input={"to": "ops@example.com", "topic": "renewal"},
                    actor=engineer_user)
    run = advance_run(run)
    assert run.status == RunStatus.SUSPENDED
    return run


def test_a_fork_of_a_suspended_checkpoint_waits_at_the_same_gate(email_run, engineer_user, advance_run):
    fork = advance_run(run_fork(run=email_run, at_step=email_run.step, mode="recorded", actor=engineer_user))

    assert (fork.status, fork.next_node, fork.suspended_reason) == (RunStatus.SUSPENDED, "review", "gate")
    assert ReviewItem.objects.filter(run=fork, status=ItemStatus.PENDING).count() == 1
    email_run.refresh_from_db()
    assert email_run.status == RunStatus.SUSPENDED  # the parent still waits for its own decision


def test_a_fork_after_the_decision_sends_nothing_by_default(email_run, engineer_user, reviewer_user,
                                                            advance_run):
    from orchestrator.models import OutboxMessage

    item = ReviewItem.objects.get(run=email_run, status=ItemStatus.PENDING)
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    email_run.refresh_from_db()
    decision_step = email_run.step
    email_run = advance_run(email_run)
    sent = OutboxMessage.objects.count()

    fork = advance_run(run_fork(run=email_run, at_step=decision_step, mode="recorded", actor=engineer_user))

    assert fork.status == RunStatus.COMPLETED
    assert OutboxMessage.objects.count() == sent


def test_a_run_of_a_retired_workflow_is_readable_but_not_forkable(pipeline_run, engineer_user, client_for):
    Run.objects.filter(pk=pipeline_run.pk).update(workflow="retired_pipeline")
    run = Run.objects.get(pk=pipeline_run.pk)
    with pytest.raises(ForkError, match="is not deployed here"):
        run_fork(run=run, at_step=3, mode="recorded", actor=engineer_user)

    client = client_for(engineer_user)
    assert client.get(f"/runs/{run.thread_id}/").status_code == 200
    assert client.get(f"/runs/{run.thread_id}/checkpoints/3/").status_code == 200
    page = client.get(f"/runs/{run.thread_id}/checkpoints/3/fork/")
    assert page.status_code == 404 and "is not deployed here" in page.content.decode()
    api = client.post(f"/api/runs/{run.thread_id}/fork", '{"at_step": 3}', content_type="application/json")
    assert 400 <= api.status_code < 500 and "is not deployed here" in api.json()["detail"]
    assert not Run.objects.filter(parent=run).exists()
