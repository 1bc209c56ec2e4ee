"""A fork that performs its side effects for real is an admin's to make: an engineer asking for one is refused
as a permission error (403 on the API and the fork page, exit 1 on the CLI) in the same words, saying who
may. It was a 422 `{"allow_effects": "admins only"}`, the answer for a field typed wrong, while the README
promises "403 saying who may"."""

from __future__ import annotations

import html as html_lib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orchestrator.models import Run

SAID = ("only admins may fork with side effects performed for real: a fork starts past the gates its checkpoint "
        "follows, so its actions would skip their reviewers. Fork with effects as dry runs, or ask an admin to "
        "make this fork.")


def _api_fork(api, user, run: Run, **body):
    return api(user).post(f"/api/runs/{run.thread_id}/fork", data={"at_step": 3, **body},
                          content_type="application/json")


def test_the_api_answers_403_saying_who_may(api, engineer_user, pipeline_run):
    refused = _api_fork(api, engineer_user, pipeline_run, allow_effects=True)

    assert refused.status_code == 403
    assert refused.json() == {"detail": SAID, "fields": {"allow_effects": "admins only"}}
    assert not Run.objects.filter(parent=pipeline_run).exists()


def test_the_fork_page_answers_403_and_marks_the_switch(client_for, engineer_user, pipeline_run):
    response = client_for(engineer_user).post(f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/",
                                              {"mode": "recorded", "allow_effects": "on"})

    assert response.status_code == 403
    page = html_lib.unescape(response.content.decode())
    assert re.search(r'data-testid="fork-error">(.*?)</div>', page).group(1) == SAID[0].upper() + SAID[1:]
    assert '<small class="field-error">admins only</small>' in page
    assert not Run.objects.filter(parent=pipeline_run).exists()


def test_the_cli_refuses_in_the_same_words(engineer_user, pipeline_run):
    with pytest.raises(CommandError) as refused:
        call_command("runs", "fork", pipeline_run.thread_id, "--at", "3", "--allow-effects",
                     "--actor", engineer_user.username, stdout=StringIO())

    assert str(refused.value) == SAID  # exit 1, as every refusal
    assert not Run.objects.filter(parent=pipeline_run).exists()


def test_an_admin_forks_with_real_effects_and_a_field_typed_wrong_is_still_422(api, admin_user, engineer_user,
                                                                               pipeline_run):
    made = _api_fork(api, admin_user, pipeline_run, allow_effects=True)
    assert made.status_code == 201 and made.json()["allow_effects"] is True

    mistyped = _api_fork(api, engineer_user, pipeline_run, edits={"pages": 0})
    assert mistyped.status_code == 422 and mistyped.json()["fields"] == {"edits.pages": "must be at least 1"}
