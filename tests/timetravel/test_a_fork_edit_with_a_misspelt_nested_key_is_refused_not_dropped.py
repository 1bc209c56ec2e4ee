"""An engineer's fork edit with a misspelt key inside an object ({"email": {"bdy": …}}) is refused
naming the key path, from the fork page, the API and `runs fork --set`, where the schema once dropped
the key and the fork ran with the old subject. No fork is made and nothing is written to the ledger;
the page shows back what was typed."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.core.management import CommandError, call_command

from audit.models import LedgerEntry
from orchestrator.forks import ForkError, run_fork
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from review.models import ReviewItem
from tests.review.fixtures import outreach_item  # noqa: F401  (fixture)

MISSPELT = {"subject": "Q3 numbers", "bdy": "About Q3 numbers, revised.", "cc": ["cfo@example.com"]}
NAMED = "email.bdy: is not a field the workflow knows; remove it (email has subject, body, cc)"


@pytest.fixture
def parent(outreach_item) -> tuple[Run, int]:  # noqa: F811
    """(an outreach run waiting at its gate, the step of the checkpoint just before the gate)."""
    item: ReviewItem = outreach_item()
    step = Checkpoint.objects.filter(run=item.run, next_node="approve_outreach").order_by("step").first().step
    return item.run, step


def _no_fork_was_made(run: Run) -> None:
    assert not Run.objects.filter(parent=run).exists()
    assert not LedgerEntry.objects.filter(chain=run.thread_id, kind="fork").exists()


def test_run_fork_refuses_it_naming_the_key_path(parent, engineer_user):
    run, step = parent

    with pytest.raises(ForkError) as refused:
        run_fork(run=run, at_step=step, edits={"email": MISSPELT}, actor=engineer_user)

    assert NAMED in str(refused.value)
    assert refused.value.field_errors == {"email": f"{NAMED.removeprefix('email.bdy: ')} (at email.bdy)"}
    _no_fork_was_made(run)


def test_the_fork_page_refuses_it_and_shows_back_what_was_typed(parent, engineer_user, client_for):
    run, step = parent
    typed = json.dumps(MISSPELT, indent=2)

    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/{step}/fork/",
                                              {"field_email": typed, "mode": "recorded"})

    page = response.content.decode()
    assert response.status_code == 422
    assert html_lib.escape(NAMED) in page
    assert 'data-testid="field-error"' in page
    shown = re.search(r'<textarea id="field_email"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html_lib.unescape(shown).strip() == typed
    _no_fork_was_made(run)


def test_the_api_refuses_it_with_a_422_naming_the_field(parent, engineer_user, api):
    run, step = parent

    response = api(engineer_user).post(f"/api/runs/{run.thread_id}/fork", {"at_step": step, "edits": {
        "email": MISSPELT}}, content_type="application/json")

    assert response.status_code == 422
    assert NAMED in response.json()["detail"]
    assert response.json()["fields"]["email"].endswith("(at email.bdy)")
    _no_fork_was_made(run)


def test_runs_fork_refuses_it(parent, engineer_user):
    run, step = parent

    with pytest.raises(CommandError, match=re.escape(NAMED)):
        call_command("runs", "fork", run.thread_id, "--at", str(step), "--set", json.dumps({"email": MISSPELT}),
                     "--actor", "engineer")
    _no_fork_was_made(run)


def test_the_correctly_spelt_edit_forks(parent, engineer_user):
    run, step = parent

    fork = run_fork(run=run, at_step=step, edits={"email": {"subject": "Q3 numbers (revised)",
                                                            "body": "About Q3 numbers."}}, actor=engineer_user)

    assert state_at(fork.pk, 0)["email"] == {"subject": "Q3 numbers (revised)", "body": "About Q3 numbers.", "cc": []}
