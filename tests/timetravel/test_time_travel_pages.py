"""The time-travel pages: who may open them, what they show, and that untrusted text stays text."""

from __future__ import annotations

import json

import pytest

from orchestrator.forks import run_fork
from orchestrator.models import JournalEntry, Run
from orchestrator.services import run_start

PAGES = ["/runs/", "/runs/{t}/", "/runs/{t}/checkpoints/5/", "/runs/{t}/checkpoints/3/fork/",
         "/runs/{t}/family/", "/runs/{t}/timeline/?after=2", "/runs/regression/"]


@pytest.mark.parametrize("persona", ["reviewer_user", "compliance_user", "outsider_user"])
def test_only_engineers_and_admins_may_open_them(request, client_for, pipeline_run, persona):
    client = client_for(request.getfixturevalue(persona))
    for page in PAGES:
        assert client.get(page.format(t=pipeline_run.thread_id)).status_code == 403, page
    assert client.post(f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/", {}).status_code == 403


@pytest.mark.parametrize("persona", ["engineer_user", "admin_user"])
def test_engineers_and_admins_see_every_page(request, client_for, pipeline_run, persona):
    client = client_for(request.getfixturevalue(persona))
    for page in PAGES:
        assert client.get(page.format(t=pipeline_run.thread_id)).status_code == 200, page


def test_the_run_page_shows_header_graph_timeline_and_waterfall(client_for, engineer_user, pipeline_run):
    html = client_for(engineer_user).get(f"/runs/{pipeline_run.thread_id}/").content.decode()

    assert 'data-testid="run-status"' in html and "Completed" in html
    assert html.count('data-testid="timeline-row"') == 13
    assert 'data-node="summarize"' in html and 'id="waterfall"' in html
    assert "vendor/plotly.min.js" in html


def test_a_run_whose_nodes_took_no_time_gets_a_note_instead_of_an_empty_chart(client_for, engineer_user,
                                                                               transactional_db, advance_run):
    from django.db import connection

    run = advance_run(run_start(workflow="research_agent", input={"question": "why?", "mode": "stuck"}))
    # Checkpoints are immutable by trigger; an erasure-style session may still zero the durations
    # (the demo's search and reflect nodes take ~0.01 ms, which the timeline shows as 0.0 ms).
    with connection.cursor() as cursor:
        cursor.execute("BEGIN; SET LOCAL gatehouse.erasure = 'on';"
                       " UPDATE orchestrator_checkpoint SET duration_ms = 0 WHERE run_id = %s; COMMIT;", [run.pk])

    html = client_for(engineer_user).get(f"/runs/{run.thread_id}/").content.decode()
    assert 'id="waterfall"' not in html and "plotly.min.js" not in html
    assert "Every node so far finished in under 0.1 ms, so there are no durations to chart" in html

    from audit.charts import waterfall_html

    row = {"label": "1·search", "duration_ms": 0.04, "cost": 0, "tokens": 0, "count": 1}
    assert waterfall_html([row]) == ""
    assert 'id="waterfall"' in waterfall_html([{**row, "duration_ms": 0.05}])


def test_the_runs_list_filters_and_pages_by_keyset(client_for, engineer_user, pipeline_run):
    for index in range(3):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": f"t{index}"},
                  labels={"team": "ops"})
    client = client_for(engineer_user)

    labelled = client.get("/runs/?label=team=ops").content.decode()
    assert labelled.count('data-testid="run-row"') == 3 and pipeline_run.thread_id not in labelled
    assert "use key=value" in client.get("/runs/?label=oops").content.decode()

    from audit.selectors_runs_list import RunFilters, runs_page

    first = runs_page(filters=RunFilters(), limit=2)
    second = runs_page(filters=RunFilters(), cursor=first["next_cursor"], limit=2)
    seen = [r.pk for r in first["runs"] + second["runs"]]
    assert seen == list(Run.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert second["next_cursor"] == ""


def test_llm_text_is_escaped_on_the_checkpoint_page(client_for, engineer_user, pipeline_run):
    from django.db import connection

    # The journal is immutable by trigger; an erasure-style session may still rewrite one row for this test.
    entry = JournalEntry.objects.get(run=pipeline_run, node="classify")
    result = json.loads(entry.result)
    result["text"] = "<script>alert('pwned')</script> <img src=x onerror=alert(1)>"
    with connection.cursor() as cursor:
        cursor.execute("BEGIN; SET LOCAL gatehouse.erasure = 'on';"
                       " UPDATE orchestrator_journalentry SET result = %s WHERE id = %s; COMMIT;",
                       [json.dumps(result), entry.pk])

    html = client_for(engineer_user).get(f"/runs/{pipeline_run.thread_id}/checkpoints/5/").content.decode()

    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html


def test_the_checkpoint_page_shows_the_diff_journal_and_blob_download(client_for, engineer_user,
                                                                       transactional_db, advance_run):
    run = advance_run(run_start(workflow="document_pipeline", input={"pages": 200}))
    client = client_for(engineer_user)

    html = client.get(f"/runs/{run.thread_id}/checkpoints/1/").content.decode()
    assert 'data-testid="diff-row"' in html and "corpus" in html
    assert 'data-testid="blob"' in html  # 200 pages of corpus exceed the blob threshold
    journal = client.get(f"/runs/{run.thread_id}/checkpoints/7/").content.decode()
    assert 'data-testid="llm-response"' in journal and "demo-small" in journal

    from orchestrator.history import state_at

    sha = state_at(run.pk, 1)["corpus"]["$blob"]
    download = client.get(f"/runs/blobs/{sha}/")
    assert download.status_code == 200 and download["Content-Type"] == "application/octet-stream"
    assert b"MASTER SUPPLY AGREEMENT" in b"".join(download.streaming_content)
    assert client.get(f"/runs/blobs/{'0' * 64}/").status_code == 404

    against = client.get(f"/runs/{run.thread_id}/checkpoints/7/diff/?against=3", HTTP_HX_REQUEST="true")
    assert 'data-testid="diff-row"' in against.content.decode() and "summary" in against.content.decode()


def test_the_fork_form_refuses_an_invalid_field_and_forks_a_valid_one(client_for, engineer_user, pipeline_run):
    client = client_for(engineer_user)
    url = f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/"

    bad = client.post(url, {"field_pages": '"lots"', "field_language": "not json", "mode": "recorded"})
    assert bad.status_code == 422
    assert "language: not valid JSON" in bad.content.decode()
    bad = client.post(url, {"field_pages": '"lots"', "mode": "recorded"})
    assert bad.status_code == 422 and "pages: must be a whole number, not &#x27;lots&#x27;" in bad.content.decode()
    assert Run.objects.filter(parent=pipeline_run).count() == 0

    good = client.post(url, {"field_pages": "31", "mode": "live", "override_node": "summarize",
                             "override_model": "demo-large"})
    fork = Run.objects.get(parent=pipeline_run)
    assert good.status_code == 302 and good["Location"] == f"/runs/{fork.thread_id}/"
    assert (fork.replay_mode, fork.allow_effects) == ("live", False)
    assert fork.overrides == {"nodes": {"summarize": {"model": "demo-large"}}}


def test_the_family_page_shows_forks_of_forks(client_for, engineer_user, pipeline_run):
    child = run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user)
    Run.objects.filter(pk=child.pk).update(status="completed")
    grandchild = run_fork(run=child, at_step=0, mode="live", actor=engineer_user)

    html = client_for(engineer_user).get(f"/runs/{grandchild.thread_id}/family/").content.decode()
    assert pipeline_run.thread_id in html and child.thread_id in html and grandchild.thread_id in html
    assert "2 forks descend from" in html


def test_a_regression_replay_forks_every_matching_run_and_tables_divergence(client_for, engineer_user,
                                                                             pipeline_run, advance_run):
    second = advance_run(run_start(workflow="document_pipeline", input={"pages": 5}))
    client = client_for(engineer_user)

    response = client.post("/runs/regression/", {"workflow": "document_pipeline", "status": "completed",
                                                 "node": "summarize", "model": "demo-large", "limit": "10"})
    assert response.status_code == 302
    batch = response["Location"].rstrip("/").split("/")[-1]
    forks = list(Run.objects.filter(labels__replay_batch=batch))
    assert {f.parent_id for f in forks} == {pipeline_run.pk, second.pk}
    for fork in forks:
        advance_run(fork)

    html = client.get(f"/runs/regression/{batch}/").content.decode()
    assert html.count('data-testid="batch-row"') == 2
    assert html.count("yes · summarize") == 2  # a new model changes the request: both go live there
    assert 'data-testid="batch-diverged">2<' in html
    assert 'hx-trigger="every' not in html, "every replay has ended: nothing to follow"
    from django.db.models import Sum

    from audit.selectors_forks import replay_batch_rows
    from orchestrator.models import Checkpoint

    for row in replay_batch_rows(batch)["rows"]:
        fork = row["fork"]
        after = Checkpoint.objects.filter(run_id=fork.parent_id, step__gt=fork.forked_from_step)
        assert row["cost_before"] == after.aggregate(c=Sum("cost"))["c"] > 0, "the parent's cost after the fork point"
        assert row["tokens_before"] == sum(c.input_tokens + c.output_tokens for c in after)
    Run.objects.filter(pk=forks[0].pk).update(status="suspended")  # waiting at a gate, say
    html = client.get(f"/runs/regression/{batch}/").content.decode()
    assert 'hx-trigger="every 5s"' in html and "Some replays wait at a gate" in html

    refused = client.post("/runs/regression/", {"workflow": "document_pipeline", "node": "summarize"})
    assert refused.status_code == 422 and "Give at least one override" in refused.content.decode()


def test_a_regression_filter_that_does_not_parse_blocks_the_replay(client_for, engineer_user, pipeline_run):
    # Ignoring the label would replay every run of the workflow instead of the chosen ones.
    client = client_for(engineer_user)
    response = client.post("/runs/regression/", {"workflow": "document_pipeline", "label": "department-legal",
                                                 "node": "summarize", "model": "demo-large", "limit": "10"})
    assert response.status_code == 422
    assert "use key=value, e.g. department=legal" in response.content.decode()
    assert not Run.objects.filter(parent=pipeline_run).exists()
    listing = client.get("/runs/?min_cost=NaN&since=31-01-2025&status=sleeping")
    html = listing.content.decode()
    assert listing.status_code == 400 and "use a number like 0.05" in html
    assert "use a date like 2025-01-31" in html and "one of queued" in html  # each bad filter says so
