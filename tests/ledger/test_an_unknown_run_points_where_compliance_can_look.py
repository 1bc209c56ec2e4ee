"""Exporting an unknown run tells compliance where to copy a real thread id from, and every place it
names is a page compliance may open (it may not open the runs pages); the Run field suggests the
newest runs, and a part of an id typed by mistake is matched to the runs that contain it."""

from __future__ import annotations

import html as html_lib
import re

from orchestrator.roles import COMPLIANCE, SECTIONS

WHERE = "the Run column of the decision log, or of the entries on the audit page"


def _export_error(client, run: str) -> str:
    response = client.post("/audit/export/", {"format": "jsonl", "run": run})
    assert response.status_code == 400
    page = html_lib.unescape(response.content.decode())
    return re.search(r'data-testid="export-error">(.*?)</div>', page, re.S).group(1)


def test_the_refusal_names_pages_compliance_may_open(letter_run, compliance_user, client_for):
    letter_run()
    client = client_for(compliance_user)

    error = _export_error(client, "no-such-run")

    assert error == f"No run 'no-such-run': copy its thread id exactly as it appears in {WHERE}"
    assert "runs page" not in error
    assert COMPLIANCE not in SECTIONS["runs"][2] and COMPLIANCE in SECTIONS["audit"][2]
    for page in ("/audit/decisions/", "/audit/"):  # the decision log and the audit page it names
        assert client.get(page).status_code == 200
    assert client.get("/runs/").status_code == 403


def test_a_part_of_an_id_is_matched_to_the_runs_that_contain_it(letter_run, compliance_user, client_for):
    run = letter_run()
    part = run.thread_id.split("-")[-1]

    error = _export_error(client_for(compliance_user), part.upper())

    assert error.endswith(f"; the thread ids of these runs contain what you typed: {run.thread_id}")


def test_the_run_field_suggests_the_newest_runs(letter_run, compliance_user, client_for):
    run = letter_run()
    page = client_for(compliance_user).get("/audit/").content.decode()

    assert 'name="run" list="export-thread-ids"' in page
    assert f'<datalist id="export-thread-ids"><option value="{run.thread_id}">' in page
