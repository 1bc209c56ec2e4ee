"""GET /api/runs/{id}/state[?step=N]: the state the run's checkpoint page shows, at its latest checkpoint or
any earlier one, for engineers and admins. A blob stays its pointer (as on the page, which links its bytes);
a step the run does not have is a 404 naming the run's range; reviewers and compliance get one 403 for
every run, so it tells them nothing about which runs exist or are theirs. Before this, the state could only
be read on the web timeline."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from audit.erasure import audit_erase
from orchestrator.blobs import STATE_BLOB_TYPE
from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def waiting_email(db, engineer_user) -> Run:
    """An email_approval run at its gate: 0 input, 1 draft, 2 gate (a reviewer's pending item)."""
    run = run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "the Q3 invoice"},
                    actor=engineer_user)
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()
    return run


def test_an_engineer_reads_the_latest_state_and_any_checkpoints(api, engineer_user, admin_user, waiting_email):
    client = api(engineer_user)

    latest = client.get(f"/api/runs/{waiting_email.thread_id}/state")

    assert latest.status_code == 200, latest.content
    assert latest.json() == {"thread_id": waiting_email.thread_id, "step": 2,
                             "state": state_at(waiting_email.pk, 2)}
    assert latest.json()["state"]["subject"] == "About the Q3 invoice"
    at_input = client.get(f"/api/runs/{waiting_email.thread_id}/state?step=0").json()
    assert at_input["step"] == 0 and at_input["state"]["subject"] == "" and at_input["state"]["topic"] == "the Q3 invoice"
    assert client.get(f"/api/runs/{waiting_email.thread_id}/state?step=1").json()["state"]["body"]
    by_number = api(admin_user).get(f"/api/runs/{waiting_email.pk}/state")  # by database id, as elsewhere
    assert by_number.status_code == 200 and by_number.json() == latest.json()


def test_a_blob_is_returned_as_the_pointer_the_checkpoint_page_links(api, client_for, engineer_user, settings):
    run = run_start(workflow="document_pipeline", input={"pages": 80})
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()

    state = api(engineer_user).get(f"/api/runs/{run.thread_id}/state").json()["state"]

    pointer = state["corpus"]
    assert set(pointer) == {"$blob", "size", "type"} and pointer["type"] == STATE_BLOB_TYPE
    assert pointer["size"] > settings.GATEHOUSE_BLOB_THRESHOLD
    assert state == state_at(run.pk, run.step)  # stored form, not the document inlined
    page = client_for(engineer_user).get(f"/runs/{run.thread_id}/checkpoints/{run.step}/")
    assert f"/runs/blobs/{pointer['$blob']}/" in page.content.decode()  # where its bytes are


@pytest.mark.parametrize("step", ["3", "99", "99999999999999999999"])
def test_a_step_the_run_does_not_have_is_a_404_naming_its_range(api, engineer_user, waiting_email, step):
    response = api(engineer_user).get(f"/api/runs/{waiting_email.thread_id}/state", {"step": step})

    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"step={step} is not a checkpoint of run {waiting_email.thread_id}: it has checkpoints 0 to 2; send a "
        "number in that range, or leave step out for the latest.")


@pytest.mark.parametrize(("step", "problem"), [("-1", "must be at least 0"), ("x", "must be a whole number, e.g. 3"),
                                               ("", "must be a whole number, e.g. 3"),
                                               ("1.5", "must be a whole number, e.g. 3")])
def test_a_step_that_is_not_a_checkpoint_number_is_a_422_naming_it(api, engineer_user, waiting_email, step, problem):
    response = api(engineer_user).get(f"/api/runs/{waiting_email.thread_id}/state", {"step": step})

    assert response.status_code == 422 and response.json()["fields"] == {"?step": problem}


def test_an_unknown_run_is_a_404_worded_like_the_other_endpoints(api, engineer_user):
    state = api(engineer_user).get("/api/runs/no-such-run/state?step=1")
    show = api(engineer_user).get("/api/runs/no-such-run")

    assert state.status_code == show.status_code == 404
    assert state.json() == show.json() == {
        "detail": "no run with thread id 'no-such-run'; list runs with `python manage.py runs list`."}


def test_reviewers_and_compliance_get_one_answer_for_every_run(api, reviewer_user, compliance_user, waiting_email):
    other = run_start(workflow="document_pipeline", input={"pages": 2})
    run_advance(other.pk, worker="test")
    for user in (reviewer_user, compliance_user):
        client = api(user)
        answers = [client.get(f"/api/runs/{thread_id}/state{query}")
                   for thread_id in (waiting_email.thread_id, other.thread_id, "no-such-run")
                   for query in ("", "?step=1", "?step=x")]
        assert {(a.status_code, a.content) for a in answers} == {
            (403, b'{"detail": "this needs one of the roles: engineer, admin"}')}
    # The reviewer may read where their run stands, but not its data.
    assert api(reviewer_user).get(f"/api/runs/{waiting_email.thread_id}").status_code == 200
    assert Client().get(f"/api/runs/{waiting_email.thread_id}/state").status_code == 401


def test_an_erased_runs_values_read_as_erased(api, engineer_user, admin_user):
    run = run_start(workflow="document_pipeline", input={"pages": 2})
    assert run_advance(run.pk, worker="test") == "completed"
    audit_erase(actor=admin_user, run=run.thread_id)

    state = api(engineer_user).get(f"/api/runs/{run.thread_id}/state?step=0").json()["state"]

    assert state and all(value == {"$erased": True} for value in state.values()), state


def test_a_pruned_runs_state_is_gone_and_the_answer_says_so(pruned_run, api, engineer_user):
    run = pruned_run

    response = api(engineer_user).get(f"/api/runs/{run.thread_id}/state")

    assert response.status_code == 410
    assert response.json()["detail"] == (
        f"run {run.thread_id}'s history was pruned by retention on {timezone.now():%Y-%m-%d}: its state is no "
        "longer kept, only the run's summary and the ledger's proof of what happened.")


def test_the_schema_documents_the_endpoint_and_its_step(client_for, engineer_user):
    schema = client_for(engineer_user).get("/api/schema").json()

    operation = schema["paths"]["/api/runs/{thread_id}/state"]["get"]
    (step,) = [p for p in operation["parameters"] if p["name"] == "step"]
    assert step["in"] == "query" and not step["required"]
    assert step["schema"]["type"] == "integer" and step["schema"]["minimum"] == 0
    assert {"200", "404", "410"} <= set(operation["responses"])
    assert '"$blob"' in operation["description"] and "/api/blobs/" in operation["description"]
    assert set(schema["components"]["schemas"]["RunStateOut"]["properties"]) == {"thread_id", "step", "state"}
