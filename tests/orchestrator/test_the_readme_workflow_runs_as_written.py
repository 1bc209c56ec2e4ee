"""The workflow in the README's "Writing a workflow" runs as printed: copied verbatim into a module
and registered, it drafts with the offline demo model (no API key), stops at its gate, and a
reviewer's approval sends the e-mail. A new engineer's first copy-paste must not fail."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import OutboxMessage, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("### Writing a workflow", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def readme_workflow(tmp_path, register_workflows, transactional_db):
    (tmp_path / "readme_flow.py").write_text(_example())
    sys.path.insert(0, str(tmp_path))
    register_workflows("readme_flow")
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("readme_flow", None)


def test_the_readme_example_drafts_asks_and_sends(readme_workflow, reviewer_user):
    run = run_start(workflow="my_email", input={"to": "cfo@example.com", "topic": "Q3 numbers"})
    assert run_advance(run.pk, worker="test") == "suspended"
    item = ReviewItem.objects.get(run=run, status="pending")
    args = json.loads(item.request)["args"]
    assert args["to"] == "cfo@example.com" and args["body"]

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "completed"
    assert Run.objects.get(pk=run.pk).status == "completed"
    assert OutboxMessage.objects.count() == 1
