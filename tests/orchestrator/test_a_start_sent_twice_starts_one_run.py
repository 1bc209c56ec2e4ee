"""A start carrying a request key (the start page's form renders one) is idempotent: sent twice, by a
double click or a browser resend, it returns the run the first send made instead of starting a second
one; the same key with other input (the form came back with the browser's Back and was changed) is
refused naming the run it made, and a thread id that another run has is still refused."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.request_keys import form_request_key
from orchestrator.services import RunError, StartKeyReused, ThreadIdTaken, run_start
from tests.interleave import at_once


def test_the_same_key_returns_the_run_the_first_send_made(engineer_user):
    key = form_request_key()
    first = run_start(workflow="document_pipeline", input={"pages": 3}, labels={"team": "a"}, actor=engineer_user,
                      request_key=key)
    again = run_start(workflow="document_pipeline", input={"pages": 3}, labels={"team": "a"}, actor=engineer_user,
                      request_key=key)

    assert again.pk == first.pk and first.thread_id == f"document_pipeline-{key[:10]}"
    assert Run.objects.count() == 1


def test_the_same_key_under_a_thread_id_of_one_s_own_returns_the_same_run(engineer_user):
    key = form_request_key()
    first = run_start(workflow="document_pipeline", thread_id="mine-1", actor=engineer_user, request_key=key)
    again = run_start(workflow="document_pipeline", thread_id="mine-1", actor=engineer_user, request_key=key)

    assert again.pk == first.pk and Run.objects.count() == 1


def test_two_sends_racing_each_other_start_one_run(transactional_db, engineer_user):
    key = form_request_key()

    made = at_once(lambda: run_start(workflow="document_pipeline", input={"pages": 3}, actor=engineer_user,
                                     request_key=key).thread_id)

    assert made[0] == made[1]
    assert Run.objects.count() == 1


def test_the_key_sent_again_with_other_input_is_refused_naming_the_run_it_made(engineer_user):
    key = form_request_key()
    first = run_start(workflow="document_pipeline", input={"pages": 3}, actor=engineer_user, request_key=key)

    with pytest.raises(StartKeyReused, match=f"already started run {first.thread_id} with other input") as caught:
        run_start(workflow="document_pipeline", input={"pages": 4}, actor=engineer_user, request_key=key)

    assert caught.value.field_errors == {"request_key": "already started another run"}
    assert Run.objects.count() == 1


def test_a_thread_id_another_start_took_is_still_refused(engineer_user, reviewer_user):
    run_start(workflow="document_pipeline", thread_id="taken-1", actor=reviewer_user)

    with pytest.raises(ThreadIdTaken, match="'taken-1' is already used by another run"):
        run_start(workflow="document_pipeline", thread_id="taken-1", actor=engineer_user,
                  request_key=form_request_key())


def test_a_key_that_is_not_one_of_ours_is_refused(engineer_user):
    with pytest.raises(RunError, match="request key 'XYZ' must be 8 to 16 lowercase hex characters"):
        run_start(workflow="document_pipeline", actor=engineer_user, request_key="XYZ")


def test_new_is_not_a_thread_id_since_it_names_the_start_page(engineer_user):
    with pytest.raises(RunError, match=r"names a page of its own \(/runs/new/\)"):
        run_start(workflow="document_pipeline", thread_id="new", actor=engineer_user)
