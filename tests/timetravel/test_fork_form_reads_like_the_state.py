"""The fork form shows each state field under a type name people read, text with its real line
breaks, and a hint for the field's own type when a box is not valid JSON."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from audit.fork_form import type_name
from orchestrator.graph import GateDecision
from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def drafted(transactional_db, advance_run) -> Run:
    """An email_approval run waiting at its gate; step 1 is the drafted email (a multi-line body)."""
    return advance_run(run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"}))


def _boxes(page: str) -> dict[str, str]:
    return {name: html_lib.unescape(text) for name, text in
            re.findall(r'<textarea id="field_(\w+)"[^>]*>(.*?)</textarea>', page, re.S)}


def test_fields_show_friendly_types_and_text_with_real_line_breaks(client_for, engineer_user, drafted):
    page = client_for(engineer_user).get(f"/runs/{drafted.thread_id}/checkpoints/1/fork/").content.decode()
    body = state_at(drafted.pk, 1)["body"]
    assert body.count("\n") >= 4

    boxes = _boxes(page)
    assert boxes["body"] == f'"{body}"' and "\\n" not in boxes["body"]
    rows = int(re.search(r'<textarea id="field_body"[^>]*rows="(\d+)"', page).group(1))
    assert rows >= body.count("\n") + 1  # tall enough for every line
    assert '<span class="mono">decision</span> <small class="muted">GateDecision object or null</small>' in page
    assert '<span class="mono">log</span> <small class="muted">list of text</small>' in page
    assert "orchestrator.graph" not in page


def test_an_unchanged_form_forks_the_same_state_and_typed_line_breaks_are_kept(client_for, engineer_user, drafted):
    client = client_for(engineer_user)
    url = f"/runs/{drafted.thread_id}/checkpoints/1/fork/"
    # As a browser sends it back: every line break in a textarea as CRLF.
    form = {f"field_{name}": text.replace("\n", "\r\n") for name, text in _boxes(client.get(url).content.decode()).items()}

    unchanged = client.post(url, {**form, "mode": "recorded"}, follow=True)
    fork = Run.objects.get(parent=drafted)
    assert f"Forked {drafted.thread_id} at step 1 (recorded mode)." in unchanged.content.decode()  # no edits
    assert state_at(fork.pk, 0) == state_at(drafted.pk, 1)

    client.post(url, {**form, "field_subject": '"Renewal\r\nterms"', "mode": "recorded"})
    edited = Run.objects.filter(parent=drafted).latest("created_at")
    assert state_at(edited.pk, 0)["subject"] == "Renewal\nterms"


@pytest.mark.parametrize(("field", "typed", "hint"), [
    ("log", "[1,", 'a list needs square brackets and commas between items, e.g. ["a", "b"]'),
    ("to", "ana@acme.example", 'text needs double quotes, e.g. "hello"'),
    ("decision", "{approve}", 'an object needs braces and double-quoted keys, e.g. {"key": "value"}; or null'),
])
def test_a_box_that_is_not_json_gets_a_hint_for_its_own_type(client_for, engineer_user, drafted, field, typed, hint):
    response = client_for(engineer_user).post(f"/runs/{drafted.thread_id}/checkpoints/1/fork/",
                                              {f"field_{field}": typed, "mode": "recorded"})
    errors = re.findall(r'data-testid="field-error">(.*?)</small>', html_lib.unescape(response.content.decode()))
    assert response.status_code == 422 and len(errors) == 1
    assert errors[0].startswith(f"{field}: not valid JSON (") and errors[0].endswith(hint)
    assert not Run.objects.filter(parent=drafted).exists()


def test_type_names_read_as_json():
    from typing import Annotated, Literal

    assert type_name(str) == "text" and type_name(int) == "integer" and type_name(float) == "number"
    assert type_name(str | None) == "text or null"
    assert type_name(Annotated[list[str], "append"]) == "list of text"
    assert type_name(GateDecision | None) == "GateDecision object or null"
    assert type_name(Literal["normal", "stuck"]) == 'one of "normal", "stuck"'
    assert type_name(dict[str, int]) == "object"
