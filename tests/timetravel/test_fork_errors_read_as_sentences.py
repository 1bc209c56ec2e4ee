"""The fork form's refusals read as written sentences: a box that is not JSON says where it broke
without Python's "starting at at line 1", and a banner built from a service's message starts with a
capital like every other banner."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def drafted(transactional_db, advance_run) -> Run:
    return advance_run(run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"}))


def _fork(client, run: Run, **boxes: str) -> str:
    response = client.post(f"/runs/{run.thread_id}/checkpoints/1/fork/",
                           {**{f"field_{k}": v for k, v in boxes.items()}, "mode": "recorded"})
    assert response.status_code == 422
    return html_lib.unescape(response.content.decode())


def test_an_unterminated_text_says_where_it_starts_once(client_for, engineer_user, drafted):
    page = _fork(client_for(engineer_user), drafted, subject='"Renewal')

    error = re.search(r'data-testid="field-error">(.*?)</small>', page).group(1)
    assert error == ('subject: not valid JSON (unterminated string starting at line 1, column 1); '
                     'text needs double quotes, e.g. "hello"')
    assert "at at" not in page


def test_a_schema_refusal_banner_starts_with_a_capital(client_for, engineer_user, drafted):
    page = _fork(client_for(engineer_user), drafted, to='"not-an-email"')

    banner = re.search(r'data-testid="fork-error">(.*?)</div>', page).group(1)
    assert banner.startswith("The edit was not accepted: to: doesn't have the expected form")
    assert not Run.objects.filter(parent=drafted).exists()


def test_other_banners_built_from_service_messages_start_with_a_capital(client_for, engineer_user, drafted):
    # The regression page shows RunError text ("give at least one override …") as its banner.
    page = client_for(engineer_user).post("/runs/regression/", {"workflow": "email_approval", "node": "draft"})
    banner = re.search(r'<div class="form-error" role="alert">(.*?)</div>', page.content.decode(), re.S).group(1)
    assert banner[:1].isupper(), banner
